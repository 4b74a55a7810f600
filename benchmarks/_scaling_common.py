"""Shared set-up for the issue-3 benchmarks (tiny checkpoint, items, timing)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def tiny_backend(hidden: int, layers: int, device: str, dtype: str, batch: int) -> Any:
    from flexjudge.backends._transformers import TransformersBackend
    from flexjudge.testing import build_tiny_model

    path = build_tiny_model(
        tempfile.mkdtemp(prefix="fj-bench-"),
        kind="qwen2_5_vl",
        hidden_size=hidden,
        num_layers=layers,
    )
    return TransformersBackend(str(path), device=device, dtype=dtype, max_batch_size=batch)


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
