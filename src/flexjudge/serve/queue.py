"""Admission control: a bounded wait queue in front of the judge, not an instant-429 counter.

RL trainers (OpenRLHF) post one request per finished sample, all at once, and retry a refused
request only a few times, a second apart, ignoring ``Retry-After``.  So the server admits up
to ``max_active`` requests into the batcher and lets up to ``queue_depth`` more wait (FIFO) for
at most ``queue_wait`` seconds each; only a request that finds the queue full, or that waited
too long, gets 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from flexjudge.serve.media import RequestRejected


class QueueFull(RequestRejected):
    """429: the wait queue is full, or a request waited past ``queue_wait``."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(429, message)
        self.retry_after = retry_after


class AdmissionQueue:
    """``async with queue.slot(): ...`` runs the body once a slot is free.

    Raises :class:`QueueFull` (429) when ``queue_depth`` requests already wait, or when
    this one waited ``queue_wait`` seconds.  Lives on one event loop (the server's).
    """

    def __init__(self, max_active: int, queue_depth: int, queue_wait: float) -> None:
        self.limit = max(1, max_active)
        self.queue_depth = max(0, queue_depth)
        self.queue_wait = queue_wait
        self.active = 0
        self.waiting = 0
        self._free = asyncio.Semaphore(self.limit)

    @property
    def in_flight(self) -> int:
        """Requests admitted or waiting."""
        return self.active + self.waiting

    def retry_after(self) -> int:
        """Seconds a refused client should wait: about one queue's worth of turnover."""
        return max(1, min(60, math.ceil(self.waiting / self.limit)))

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._free.locked() or self.waiting:  # FIFO: nobody jumps the waiting line
            if self.waiting >= self.queue_depth:
                raise QueueFull(
                    f"server busy: {self.active} requests in flight and "
                    f"{self.waiting} queued (queue depth {self.queue_depth})",
                    retry_after=self.retry_after(),
                )
            self.waiting += 1
            try:
                await asyncio.wait_for(self._free.acquire(), self.queue_wait)
            except TimeoutError:
                raise QueueFull(
                    f"server busy: waited {self.queue_wait:g} s in the queue",
                    retry_after=self.retry_after(),
                ) from None
            finally:
                self.waiting -= 1
        else:
            await self._free.acquire()
        self.active += 1
        try:
            yield
        finally:
            self.active -= 1
            self._free.release()
