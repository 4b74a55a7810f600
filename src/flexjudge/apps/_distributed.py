"""Gather/scatter of reward inputs across training processes (``torch.distributed``).

TRL spreads one prompt's group of completions across ranks (rank 0 may see
``[P8, P8, P0]`` and rank 1 ``[P0, P5, P5]``), so ``group`` rewards must see the global batch.
Every rank calls the reward function once per step (TRL does), which makes collective calls
safe here.  Works with any process group accelerate or torchrun set up (gloo or NCCL:
objects travel with ``all_gather_object``).
"""

from __future__ import annotations

import sys
from typing import Any


def world() -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` without an initialized process group."""
    # a process group exists only if torch.distributed was imported: never import torch here
    dist = sys.modules.get("torch.distributed")
    if dist is None or not (dist.is_available() and dist.is_initialized()):
        return 0, 1
    return int(dist.get_rank()), int(dist.get_world_size())


def all_gather(value: Any) -> list[Any]:
    """``value`` of every rank, in rank order (``[value]`` on one process)."""
    size = world()[1]
    if size == 1:
        return [value]
    import torch.distributed as dist

    out: list[Any] = [None] * size
    dist.all_gather_object(out, value)
    return out
