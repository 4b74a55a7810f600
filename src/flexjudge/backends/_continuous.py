"""Continuous batching for the transformers backend, on transformers' own paged-KV engine.

:class:`ContinuousBatcher` takes the text-only requests of a
:meth:`~flexjudge.backends._transformers.TransformersBackend.generate` call and runs them
through ``model.init_continuous_batching()`` (transformers >= 5): a finished sequence frees
its slot at once, instead of idling until the longest one of a static batch stops, and the
``n`` samples of a request are forked from one prefill and share its KV blocks.  The library
schedules; this module only maps flexjudge's vLLM-style :class:`SamplingParams` onto it:

* greedy (``temperature == 0``) runs one sequence per request and copies it ``n`` times, as
  the static path does; outputs are token-identical to static batching (tested);
* unseeded sampling sets ``do_sample``, ``temperature``, ``top_p`` and ``top_k=0`` on one
  ``GenerationConfig`` per distinct setting and ``num_return_sequences=n``; every request is
  queued before the engine starts, so the schedule depends on the requests only;
* ``max_tokens`` is per request (requests that differ only in it share one engine),
  ``ignore_eos`` disables the EOS ids for that request;
* stop strings: the engine stops on token ids only, so a sequence is cut after the first
  token that completes a stop string, which is where ``generate(stop_strings=...)`` stops
  (tokens the engine produced past it are dropped).

User text is tokenized exactly as on the static path (special-token strings inside it stay
text, :func:`~flexjudge.backends._tokenize.encode_prompt`).  These stay on the static path:
requests with images, videos, audio or molecules (the engine takes token ids only); seeded
sampling (the static path draws each row from its own generator, :mod:`._sampler`, so a
seeded sample does not depend on batching, which the engine's one RNG cannot give);
``logprobs`` (the engine returns the chosen token's only, not the top-k); and everything
when the model has no ``init_continuous_batching``, a subclass feeds the model its own
inputs, or the engine fails.  Each reason is logged once per backend.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from flexjudge.backends import _varlen_attention
from flexjudge.backends._base import Completion, GenerationRequest, SamplingParams
from flexjudge.backends._tokenize import encode_prompt

log = logging.getLogger(__name__)

#: Sequences decoded together on the CPU unless ``ContinuousConfig.max_requests`` says.
CPU_MAX_REQUESTS = 16
#: Groups of request indices keyed like the static path's batches.
Groups = dict[tuple[SamplingParams, tuple[float, ...]], list[int]]


class ContinuousHost(Protocol):
    """What the batcher uses of the transformers backend."""

    model: Any
    tokenizer: Any
    device: str
    eos_token_ids: tuple[int, ...]
    pad_token_id: int

    def _finish(self, row: list[int], sampling: SamplingParams) -> Completion: ...


@dataclass(frozen=True)
class ContinuousConfig:
    """Settings of the continuous path (see ``TransformersBackend(continuous_batching=...)``).

    ``page_size`` is the KV-cache page in tokens.  ``max_cache_tokens`` bounds the paged KV
    cache on the CPU, where the library would otherwise size it from the machine's free RAM;
    the cache is sized to what the call needs, up to this bound (requests wait for free
    pages beyond it).  On CUDA the library sizes it from free GPU memory unless this is set.
    ``max_batch_tokens`` bounds the tokens of one forward pass (prefill chunks plus decode
    tokens; the library's SDPA mask grows with it).  ``max_requests`` bounds the sequences
    decoded together; None means 16 on the CPU (32 measured no faster with per-sequence
    attention, and the library's own SDPA path slows with the square of it) and the library's
    choice from the workload on CUDA.  With ``continuous_batching=None`` it is also the CPU's
    threshold: a call with no more sequences than this stays on static batching.
    ``prefix_sharing`` lets requests with the same prompt prefix share its full KV pages
    (the library's ``allow_block_sharing``).  ``attention`` picks the engine's attention:
    ``"per-sequence"`` is :mod:`._varlen_attention` (each sequence attends over its own keys
    only), ``"library"`` is transformers' own SDPA path (every query token over the whole
    flattened batch through a dense mask), and ``"auto"`` means per-sequence on the CPU for
    an ``sdpa`` model with full attention, and the library's choice otherwise.
    """

    page_size: int = 64
    max_cache_tokens: int | None = 262_144
    max_batch_tokens: int | None = 1024
    max_requests: int | None = None
    prefix_sharing: bool = True
    attention: Literal["auto", "per-sequence", "library"] = "auto"


class ContinuousBatcher:
    """Routes the eligible requests of a ``generate`` call through continuous batching."""

    def __init__(
        self,
        host: ContinuousHost,
        config: ContinuousConfig | None = None,
        *,
        custom_inputs: bool = False,
        only_when_queued: bool = False,
    ) -> None:
        self.host = host
        self.config = config or ContinuousConfig()
        #: run the engine only for calls with more sequences than it decodes together
        self.only_when_queued = only_when_queued
        self._logged: set[str] = set()
        self.disabled: str | None = None
        if not callable(getattr(host.model, "init_continuous_batching", None)):
            self.disabled = "this transformers model has no init_continuous_batching"
        elif custom_inputs:
            self.disabled = f"{type(host).__name__} feeds the model its own inputs"
        #: what the last :meth:`run` did, for benchmarks and tests: requests, engine sessions
        self.last_run: dict[str, int] = {}

    def _note(self, reason: str) -> None:
        self._warn_once(f"continuous batching off, static batching used: {reason}")

    def _warn_once(self, message: str) -> None:
        if message not in self._logged:
            self._logged.add(message)
            log.warning("%s", message)

    def unsupported(self, request: GenerationRequest) -> str | None:
        """Why ``request`` must take the static path, or None."""
        if self.disabled is not None:
            return self.disabled
        sampling = request.sampling
        if any(request.media_counts()) or request.molecules:
            return "media inputs (transformers' continuous batching takes token ids only)"
        if sampling.temperature > 0 and sampling.seed is not None:
            return "seeded sampling (per-row seeded generators need the static path)"
        if sampling.logprobs is not None:
            return "logprobs (the engine returns no top-k log-probabilities)"
        return None

    def run(
        self,
        requests: Sequence[GenerationRequest],
        groups: Groups,
        results: list[list[Completion] | None],
        failures: list[BaseException],
    ) -> Groups:
        """Complete the eligible requests of ``groups`` into ``results``; return the rest.

        A request the engine fails gets error completions with the engine's message (and
        its exception in ``failures``); if the engine itself cannot start or dies, the
        path is disabled for this backend with a logged reason and the requests go back
        to the static path.
        """
        static: Groups = {}
        sessions: dict[SamplingParams, list[int]] = {}
        group_of: dict[int, tuple[SamplingParams, tuple[float, ...]]] = {}
        for key, indices in groups.items():
            for i in indices:
                group_of[i] = key
                reason = self.unsupported(requests[i])
                if reason is None:
                    sessions.setdefault(_engine_key(requests[i].sampling), []).append(i)
                else:
                    self._note(reason)
                    static.setdefault(key, []).append(i)
        if self.only_when_queued and not self._worth_it(requests, sessions):
            for indices in sessions.values():
                for i in indices:
                    static.setdefault(group_of[i], []).append(i)
            sessions = {}
        self.last_run = {"requests": sum(map(len, sessions.values())), "sessions": 0}
        for engine_key, indices in sessions.items():
            try:
                outputs = self._session([requests[i] for i in indices], engine_key)
            except Exception as exc:  # the engine could not run: static batching from now on
                name = type(exc).__name__
                self.disabled = f"the continuous batching engine failed ({name}: {exc})"
                self._note(self.disabled)
                for i in indices:
                    static.setdefault(group_of[i], []).append(i)
                continue
            self.last_run["sessions"] += 1
            for i, output in zip(indices, outputs, strict=True):
                if isinstance(output, BaseException):
                    failures.append(output)
                    message = f"{type(output).__name__}: {output}"
                    results[i] = [Completion(text=message, finish_reason="error")] * (
                        requests[i].sampling.n
                    )
                else:
                    results[i] = output
        return static

    def _session(
        self, batch: list[GenerationRequest], engine_key: SamplingParams
    ) -> list[list[Completion] | BaseException]:
        """One engine run over ``batch`` (same sampling except ``max_tokens``/``ignore_eos``)."""
        import torch
        from transformers import ContinuousBatchingConfig, GenerationConfig

        host, cfg = self.host, self.config
        cpu = host.device == "cpu"
        sample = engine_key.temperature > 0
        per_prompt = _sequences(engine_key)
        prompts = [_prompt_ids(host.tokenizer, r) for r in batch]
        gen: dict[str, Any] = {
            "do_sample": sample,
            "num_return_sequences": per_prompt,
            "eos_token_id": list(host.eos_token_ids),
            "pad_token_id": host.pad_token_id,
            "max_new_tokens": max(r.sampling.max_tokens for r in batch),
        }
        if sample:
            gen.update(temperature=engine_key.temperature, top_p=engine_key.top_p, top_k=0)
        cb = ContinuousBatchingConfig(
            page_size=cfg.page_size,
            num_blocks=self._num_blocks(prompts, batch, per_prompt),
            max_batch_tokens=cfg.max_batch_tokens,
            max_requests_per_batch=self._max_requests(),
            allow_block_sharing=cfg.prefix_sharing,
            use_cuda_graph=False if cpu else None,
        )
        ids = [f"fj{k}" for k in range(len(batch))]
        eos = list(host.eos_token_ids)
        model = host.model
        with torch.inference_mode():
            manager = model.init_continuous_batching(
                generation_config=GenerationConfig(**gen), continuous_batching_config=cb
            )
            # After the engine has accepted the model's sdpa: the generation loop has not
            # started, so every forward of this session uses the per-sequence attention.
            swapped = self._per_sequence_attention(model)
            if swapped:
                model.set_attn_implementation(_varlen_attention.register())
            try:
                # Queue everything before the loop starts: the schedule, and so the
                # sampling, depends on the requests only, never on timing.
                for request_id, prompt, request in zip(ids, prompts, batch, strict=True):
                    manager.add_request(
                        prompt,
                        request_id=request_id,
                        max_new_tokens=request.sampling.max_tokens,
                        eos_token_id=-1 if request.sampling.ignore_eos else eos,
                    )
                manager.start()
                finished = _collect(manager, len(batch) * per_prompt)
            finally:
                manager.stop(block=True)
                manager.destroy()
                if swapped:
                    model.set_attn_implementation("sdpa")
        out: list[list[Completion] | BaseException] = []
        for request_id, request in zip(ids, batch, strict=True):
            names = [request_id] + [f"{request_id}__child#{c}" for c in range(per_prompt - 1)]
            rows = [finished.get(name) for name in names]
            errors = [str(r.error) if r else "no result" for r in rows if r is None or r.error]
            if errors:
                out.append(RuntimeError(f"continuous batching: {errors[0]}"))
                continue
            completions = [
                self._complete(list(r.generated_tokens), request.sampling)
                for r in rows
                if r is not None
            ]
            out.append(completions if sample else completions * request.sampling.n)
        return out

    def _worth_it(
        self, requests: Sequence[GenerationRequest], sessions: dict[SamplingParams, list[int]]
    ) -> bool:
        """Whether a call has more sequences than the engine's slots.

        With no queue behind the slots, a freed slot has nothing to take, so the engine
        runs as many steps as static batching, plus its start and stop (~0.6 s on the CPU,
        most of it the two ``gc.collect()`` of the library's ``stop``).
        """
        slots = self._max_requests()
        sequences = sum(
            _sequences(requests[i].sampling) for indices in sessions.values() for i in indices
        )
        return slots is None or sequences > slots

    def _max_requests(self) -> int | None:
        """Sequences the engine decodes together (None: the library chooses, on CUDA)."""
        cpu = self.host.device == "cpu"
        return self.config.max_requests or (CPU_MAX_REQUESTS if cpu else None)

    def _per_sequence_attention(self, model: Any) -> bool:
        """Whether this session runs on :mod:`._varlen_attention` (``config.attention``)."""
        choice = self.config.attention
        if choice == "library" or (choice == "auto" and self.host.device != "cpu"):
            return False
        reason = _varlen_attention.supports(model)
        if reason is not None:
            if choice == "per-sequence":
                self._warn_once(
                    f"continuous batching: per-sequence attention off: {reason}; "
                    "the library's SDPA path is used"
                )
            return False
        return True

    def _num_blocks(
        self, prompts: list[list[int]], batch: list[GenerationRequest], per_prompt: int
    ) -> int | None:
        cap = self.config.max_cache_tokens
        if self.host.device != "cpu" and cap is None:
            return None  # the library sizes the cache from free accelerator memory
        page = self.config.page_size
        pages = sum(
            (math.ceil((len(p) + r.sampling.max_tokens) / page) + 1) * per_prompt
            for p, r in zip(prompts, batch, strict=True)
        )
        longest = max(len(p) + r.sampling.max_tokens for p, r in zip(prompts, batch, strict=True))
        floor = math.ceil(longest / page) + 2  # the longest request must fit on its own
        return max(floor, min(pages, math.ceil(cap / page)) if cap is not None else pages)

    def _complete(self, tokens: list[int], sampling: SamplingParams) -> Completion:
        """A :class:`Completion` exactly as the static path builds it from its padded row."""
        host = self.host
        cut = _stop_cut(host.tokenizer, tokens, sampling.stop)
        ended_early = cut is not None or (
            len(tokens) < sampling.max_tokens and bool(tokens) and tokens[-1] in host.eos_token_ids
        )
        row = tokens[:cut] if cut is not None else tokens
        if sampling.ignore_eos:
            return host._finish(row, sampling)
        # The static path pads a row that stopped before max_tokens; the pad marks the end.
        return host._finish([*row, host.pad_token_id] if ended_early else row, sampling)


def _sequences(sampling: SamplingParams) -> int:
    """Sequences the engine runs for one request: ``n`` forks when sampling, one when greedy
    (the static path's greedy ``n`` copies are made afterwards)."""
    return sampling.n if sampling.temperature > 0 else 1


def _engine_key(sampling: SamplingParams) -> SamplingParams:
    """Requests with equal keys share one engine run (length and EOS are per request)."""
    return sampling.replace(max_tokens=1, ignore_eos=False)


def _collect(manager: Any, expected: int) -> dict[str, Any]:
    """Wait for ``expected`` finished outputs (or the engine's death) and return them by id."""
    finished: dict[str, Any] = {}
    while len(finished) < expected:
        result = manager.get_result(timeout=0.5)
        if result is not None:
            if result.is_finished():
                finished[result.request_id] = result
        elif not manager.is_running():
            fatal = manager.background_thread_status.fatal_error
            if fatal is not None and not finished:
                raise RuntimeError(f"the generation loop died: {fatal}") from fatal
            break
    return finished


def _stop_cut(tokenizer: Any, tokens: list[int], stops: Sequence[str]) -> int | None:
    """Length of the shortest prefix of ``tokens`` whose text holds a stop string, or None."""
    if not stops or not tokens:
        return None

    def holds(k: int) -> bool:
        text = str(tokenizer.decode(tokens[:k], skip_special_tokens=False))
        return any(stop in text for stop in stops)

    if not holds(len(tokens)):
        return None
    low, high = 1, len(tokens)  # holds(high) is true; find the smallest such k
    while low < high:
        mid = (low + high) // 2
        if holds(mid):
            high = mid
        else:
            low = mid + 1
    return low


def _prompt_ids(tokenizer: Any, request: GenerationRequest) -> list[int]:
    """The prompt's ids exactly as the static path's ``_encode`` makes them."""
    if request.untrusted is None:
        return list(tokenizer(request.prompt, add_special_tokens=False)["input_ids"])
    return encode_prompt(tokenizer, request.prompt, request.untrusted)


def make_batcher(
    host: ContinuousHost, enabled: bool | None, config: ContinuousConfig | None, own_inputs: bool
) -> ContinuousBatcher | None:
    """The backend's batcher.

    ``enabled=None`` means on for CUDA and, on the CPU, on for the calls with more
    sequences than the engine decodes together (per-sequence attention; see
    docs/performance.md).  ``True`` runs every eligible request through it, ``False`` never.
    """
    if enabled is False:
        return None
    queued_only = enabled is None and host.device == "cpu"
    return ContinuousBatcher(host, config, custom_inputs=own_inputs, only_when_queued=queued_only)
