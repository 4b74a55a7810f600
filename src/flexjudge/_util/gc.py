"""Pausing the cyclic garbage collector around bulk work that builds no reference cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector during bulk work (planning or resuming thousands of
    judge items, scanning teacher files).

    Such work allocates many small acyclic objects; each allocation burst triggers
    collections that walk every live object (a quarter of a 10K-item resume).  Reference
    counting still frees everything; the collector resumes afterwards, also on error."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
