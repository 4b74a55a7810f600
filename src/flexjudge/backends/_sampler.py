"""Seeded sampling that does not depend on batching (the transformers backend).

``model.generate`` draws every row of a batch from one global RNG, so a row's tokens depend
on which other prompts share its batch and in which order: the same seeded item judged at
batch size 16 and 8 came out differently, while both runs share one store key.  Here each
row owns a ``torch.Generator`` seeded from the request's seed, its prompt and its sample
index, and draws exactly one uniform number per step.  :class:`RowSampler` (a logits
processor) applies temperature and top-p (vLLM semantics) and picks the token by inverse
CDF in vocabulary order, then leaves only that token possible, so ``generate``'s own
multinomial draw (run with neutral warpers) can only return it.  Vocabulary order, not
probability order, keeps a tiny logit difference between batch layouts from swapping which
token a draw lands on; only a draw within rounding of an interval edge can still change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from flexjudge.backends._base import GenerationRequest, SamplingParams


def row_seed(seed: int, prompt: str, index: int) -> int:
    """The seed of sample ``index`` of a request: a 63-bit hash of the request's ``seed``,
    its prompt text (which identifies the item and its presentation order) and ``index``."""
    digest = hashlib.sha256(f"{seed}\x1f{index}\x1f{prompt}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


#: what ``generate`` gets alongside a :class:`RowSampler`: sampling on, every built-in warper
#: neutral (the checkpoint's generation_config must not add its own top-k or top-p)
NEUTRAL_WARPERS: dict[str, Any] = {"do_sample": True, "temperature": 1.0, "top_p": 1.0, "top_k": 0}


class RowSampler:
    """A ``transformers`` logits processor that samples row ``r`` with generator ``r``.

    ``seeds[r]`` seeds the row of ``generate``'s expanded batch (prompt ``b``, return
    sequence ``j`` is row ``b * n + j``)."""

    def __init__(self, seeds: Sequence[int], temperature: float, top_p: float) -> None:
        import torch

        if temperature <= 0:
            raise ValueError("RowSampler needs temperature > 0 (greedy needs no sampler)")
        self.temperature = float(temperature)
        self.top_p = float(top_p)
        self.generators = [torch.Generator(device="cpu").manual_seed(int(s)) for s in seeds]

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        if scores.shape[0] != len(self.generators):
            raise ValueError(
                f"RowSampler has {len(self.generators)} rows but got {scores.shape[0]}"
            )
        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        if self.top_p < 1.0:
            probs = _top_p(probs, self.top_p)
        draws = torch.cat([torch.rand(1, generator=g) for g in self.generators])
        cdf = probs.cumsum(dim=-1)
        targets = draws.to(cdf.device, cdf.dtype).unsqueeze(1) * cdf[:, -1:]
        chosen = torch.searchsorted(cdf, targets, right=True).clamp_(max=probs.shape[1] - 1)
        # a draw past the last kept token (rounding) falls back to the most likely one
        dead = probs.gather(1, chosen) <= 0
        if bool(dead.any()):
            chosen = torch.where(dead, probs.argmax(dim=-1, keepdim=True), chosen)
        out = torch.full_like(scores, float("-inf"))
        out.scatter_(1, chosen, 0.0)
        return out


def _top_p(probs: Any, top_p: float) -> Any:
    """Zero every token outside the smallest most-likely set whose mass reaches ``top_p``
    (vLLM: a token stays when the mass strictly above it is below ``top_p``)."""
    import torch

    ordered, order = probs.sort(dim=-1, descending=True, stable=True)
    above = ordered.cumsum(dim=-1) - ordered
    keep_sorted = above < top_p
    keep_sorted[:, 0] = True
    keep = torch.zeros_like(keep_sorted).scatter_(1, order, keep_sorted)
    return probs * keep


def row_sampling(
    batch: Sequence[GenerationRequest], sampling: SamplingParams, per_prompt: int
) -> dict[str, Any]:
    """``generate`` kwargs for a seeded, sampled batch: a :class:`RowSampler` whose row
    ``b * per_prompt + j`` is sample ``j`` of ``batch[b]``, and neutral built-in warpers."""
    from transformers import LogitsProcessorList

    if sampling.seed is None:
        raise ValueError("row sampling needs a seed")
    seeds = [row_seed(sampling.seed, r.prompt, j) for r in batch for j in range(per_prompt)]
    sampler = RowSampler(seeds, sampling.temperature, sampling.top_p)
    return {**NEUTRAL_WARPERS, "logits_processor": LogitsProcessorList([sampler])}


class TopLogprobs:
    """A logits processor that records the ``k`` most likely tokens of every step.  HF runs
    user processors before the temperature/top-p warpers, so these are the model's own
    log-probabilities, as vLLM reports them; the scores pass through unchanged."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.steps: list[tuple[Any, Any]] = []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        logprobs = scores.float().log_softmax(dim=-1)
        values, indices = logprobs.topk(self.k, dim=-1)
        self.steps.append((values.cpu().tolist(), indices.cpu().tolist()))
        return scores

    def row(self, r: int) -> list[tuple[list[float], list[int]]]:
        return [(values[r], indices[r]) for values, indices in self.steps]
