"""Shared set-up for the issue-3 benchmarks (tiny checkpoint, items, timing)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def tiny_backend(
    hidden: int, layers: int, device: str, dtype: str, batch: int, continuous: bool = True
) -> Any:
    from flexjudge.backends._transformers import TransformersBackend
    from flexjudge.testing import build_tiny_model

    path = build_tiny_model(
        tempfile.mkdtemp(prefix="fj-bench-"),
        kind="qwen2_5_vl",
        hidden_size=hidden,
        num_layers=layers,
    )
    return TransformersBackend(
        str(path), device=device, dtype=dtype, max_batch_size=batch, continuous_batching=continuous
    )


class ForwardLog:
    """Times every forward of ``model``: prefill (more than one new token per row) vs decode."""

    def __init__(self, model: Any) -> None:
        self.prefill_s = self.decode_s = 0.0
        self.prefill_calls = self.decode_calls = self.decode_row_steps = 0
        self._t = 0.0
        model.register_forward_pre_hook(self._start, with_kwargs=True)
        model.register_forward_hook(self._stop, with_kwargs=True)

    def _start(self, module: Any, args: Any, kwargs: Any) -> None:
        self._t = time.perf_counter()

    def _stop(self, module: Any, args: Any, kwargs: Any, output: Any) -> None:
        seconds = time.perf_counter() - self._t
        ids = kwargs.get("input_ids")
        rows, new = (1, 1) if ids is None else tuple(ids.shape)
        if new > 1:
            self.prefill_s += seconds
            self.prefill_calls += 1
        else:
            self.decode_s += seconds
            self.decode_calls += 1
            self.decode_row_steps += rows

    def snapshot(self) -> dict[str, float]:
        return {
            "prefill_s": round(self.prefill_s, 3),
            "prefill_calls": self.prefill_calls,
            "decode_s": round(self.decode_s, 3),
            "decode_calls": self.decode_calls,
            "decode_row_steps": self.decode_row_steps,
        }


def items(n: int) -> list[Any]:
    from flexjudge import JudgeItem

    return [
        JudgeItem(
            f"Question {i}: which answer explains photosynthesis better?",
            [
                f"Answer one number {i} talks about light. " * (2 + i % 3),
                f"Answer two number {i} talks about sugar. " * (2 + (i + 1) % 3),
            ],
            id=str(i),
        )
        for i in range(n)
    ]


def best_of(repeats: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Minimum wall time over ``repeats`` runs (and the last result)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out
