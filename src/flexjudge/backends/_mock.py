"""A deterministic backend for tests: exact, fast, no model.

By default it answers like a well-behaved judge: a short ``<think>`` block, then as many
``<answer>`` tags as the prompt has responses, with scores that are a pure function of
``(prompt, seed, sample index)``.  Pass ``outputs`` (a list, cycled) or ``responder`` (a
callable) to script exact generations, e.g. malformed ones.

With ``sampling.logprobs`` set, completions carry per-token log-probabilities: tokens are
tags, whole numbers, words and spaces (numbers as single tokens, as Llama-3's tokenizer
writes them); a number right after ``<answer>`` has alternatives ``1``…``10`` from a
softmax peaked at the generated value with a sharpness hashed from the prompt, seed and
position (a stand-in for a judge's real uncertainty, for tests and the tie-rate benchmark);
every other token is certain.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Sequence

from flexjudge.backends._base import (
    Backend,
    Completion,
    GenerationRequest,
    TokenLogprobs,
)
from flexjudge.families import DEFAULT_FAMILY, ModelFamily

Responder = Callable[[GenerationRequest, int], str]

_TOKENS = re.compile(r"<[^<>]{0,40}>|\d+|\s+|[^\s\d<]+|<")
_ASSISTANT_BLOCKS = re.compile(r"\[Assistant (\w+)'s (?:Answer|Image|Video|Edited Image)\]")


def _digest(*parts: object) -> int:
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "big")


def default_judge_text(request: GenerationRequest, index: int) -> str:
    """A plausible, deterministic judge generation for ``request``."""
    prompt = request.prompt
    system, _, rest = prompt.partition("<|im_end|>")
    user = rest.rpartition("<|im_start|>assistant")[0]
    h = _digest(prompt, request.sampling.seed, index)
    reasoning = f"The mock judge weighs the answers (variant {h % 97}).\n</think>\n"
    # a prompt that already opened the reasoning (teacher prompts, budget forcing) continues it
    opened = not prompt.endswith(("<|im_start|>assistant\n", "<|end_header_id|>\n\n"))
    think = ("\n" if opened else "<think>\n") + reasoning
    if "[[A>B]]" in system:
        options = ["[[A>B]]", "[[B>A]]", "[[A=B=Good]]", "[[A=B=Bad]]"]
        return think + f"<answer>{options[h % 4]}</answer>"
    decimal = "DECIMAL" in system.upper() and "1.0" in system
    labels = sorted(set(_ASSISTANT_BLOCKS.findall(user)), key=user.find)
    count = max(len(labels), 1)
    answers = []
    for i in range(count):
        v = _digest(h, i)
        if decimal:
            answers.append(f"{1 + (v % 41) / 10:.1f}")
        else:
            high = 5 if "1-5" in system else 10
            answers.append(str(1 + v % high))
    return think + "".join(f"<answer>{a}</answer>" for a in answers)


class MockBackend(Backend):
    """Deterministic stand-in for a model.  ``calls`` records every request it received."""

    name = "mock"

    def __init__(
        self,
        model_id: str = "mock-judge",
        *,
        family: ModelFamily = DEFAULT_FAMILY,
        outputs: Sequence[str] | None = None,
        responder: Responder | None = None,
    ) -> None:
        super().__init__(model_id, family)
        self._outputs = list(outputs) if outputs is not None else None
        self._responder = responder
        self._cursor = 0
        self.calls: list[GenerationRequest] = []

    def _text(self, request: GenerationRequest, index: int) -> str:
        if self._responder is not None:
            return self._responder(request, index)
        if self._outputs:
            text = self._outputs[self._cursor % len(self._outputs)]
            self._cursor += 1
            return text
        return default_judge_text(request, index)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Completion]]:
        """Whitespace-separated words count as tokens; stop strings and max_tokens apply."""
        out: list[list[Completion]] = []
        for request in requests:
            self.calls.append(request)
            completions = []
            for index in range(request.sampling.n):
                completions.append(self._complete(request, self._text(request, index)))
            out.append(completions)
        return out

    def _complete(self, request: GenerationRequest, text: str) -> Completion:
        sampling = request.sampling
        finish = "stop"
        cut = len(text)
        for stop in sampling.stop:
            pos = text.find(stop)
            if 0 <= pos < cut:
                cut = pos + (len(stop) if sampling.include_stop_str_in_output else 0)
        text = text[:cut]
        words = text.split(" ")
        if len(words) > sampling.max_tokens:
            text = " ".join(words[: sampling.max_tokens])
            finish = "length"
        logprobs = None
        if sampling.logprobs is not None:
            logprobs = mock_logprobs(
                text, _digest(request.prompt, sampling.seed), sampling.logprobs
            )
        return Completion(
            text=text.strip(),
            finish_reason=finish,  # type: ignore[arg-type]
            num_tokens=min(len(words), sampling.max_tokens),
            logprobs=logprobs,
        )


def mock_logprobs(text: str, seed: int, k: int) -> tuple[TokenLogprobs, ...]:
    """Per-token log-probabilities for ``text`` (see the module docstring)."""
    out = []
    previous = ""
    for m in _TOKENS.finditer(text):
        token = m.group(0)
        if token.isdigit() and previous == "<answer>":
            # each answer its own certainty, from near-flat to peaked
            sharpness = 0.4 + (_digest(seed, m.start()) % 1000) / 1000 * 2.6
            chosen = int(token)
            logits = {v: -sharpness * abs(v - chosen) for v in range(1, 11)}
            norm = math.log(sum(math.exp(x) for x in logits.values()))
            ranked = sorted(logits.items(), key=lambda kv: -kv[1])[:k]
            top = tuple((str(v), x - norm) for v, x in ranked)
            if all(t != token for t, _ in top):
                top = ((token, logits.get(chosen, -30.0) - norm), *top[: k - 1])
        else:
            top = ((token, 0.0),)
        out.append(TokenLogprobs(token, top))
        previous = token
    return tuple(out)
