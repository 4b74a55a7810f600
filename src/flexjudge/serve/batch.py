"""Dynamic micro-batching: one judge thread merges concurrent requests into backend batches.

Backends are not documented thread-safe, so a single worker owns the judge.  When a job
arrives the worker waits up to ``max_wait`` seconds for more (or until ``max_batch`` items are
collected), then judges them all in one ``Judge.run`` call: with a real model one batched
forward pass costs little more than one item's, which is the server's main speed lever.  A
job larger than ``max_batch`` runs alone (``Judge.run`` splits it by ``batch_size``).  The
event loop never runs the judge.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flexjudge.judge.types import JudgeItem, JudgeResult

if TYPE_CHECKING:
    from flexjudge.judge import Judge


@dataclass
class _Job:
    items: list[JudgeItem]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[JudgeResult]]
    cancelled: threading.Event = field(default_factory=threading.Event)
    #: per-request judge options; only jobs with equal options share a ``Judge.run`` call
    options: dict[str, Any] = field(default_factory=dict)


class JudgeWorker:
    """``await worker.submit(items)`` → results, judged on the worker thread.

    ``batches`` counts the ``Judge.run`` calls made (for monitoring and tests)."""

    def __init__(self, judge: Judge, max_batch: int = 64, max_wait: float = 0.01) -> None:
        self.judge = judge
        self.max_batch = max(1, max_batch)
        self.max_wait = max(0.0, max_wait)
        self.batches = 0
        self._jobs: deque[_Job] = deque()
        self._ready = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._stopping = False
                self._thread = threading.Thread(
                    target=self._loop, name="flexjudge-judge", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        with self._lock:
            if self._thread is not None:
                with self._ready:
                    self._stopping = True
                    self._ready.notify_all()
                self._thread.join(timeout=30)
                self._thread = None

    async def submit(
        self,
        items: list[JudgeItem],
        timeout: float | None,
        options: dict[str, Any] | None = None,
    ) -> list[JudgeResult]:
        """Judge ``items`` (with ``options`` overriding the judge's config); raises
        ``TimeoutError`` after ``timeout`` seconds (the job is then skipped if it has not
        started)."""
        self.start()
        loop = asyncio.get_running_loop()
        job = _Job(items, loop, loop.create_future(), options=dict(options or {}))
        with self._ready:
            self._jobs.append(job)
            self._ready.notify()
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), timeout)
        except (TimeoutError, asyncio.CancelledError):
            job.cancelled.set()
            raise

    def _next_batch(self) -> list[_Job] | None:
        """Block for the first job, then gather more until full or ``max_wait`` passed."""
        with self._ready:
            while not self._jobs and not self._stopping:
                self._ready.wait()
            if self._stopping:
                return None
            batch = [self._jobs.popleft()]
            size = len(batch[0].items)
            deadline = time.monotonic() + self.max_wait
            while size < self.max_batch and not self._stopping:
                if self._jobs:
                    if size + len(self._jobs[0].items) > self.max_batch:
                        break
                    nxt = self._jobs.popleft()
                    batch.append(nxt)
                    size += len(nxt.items)
                    continue
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._ready.wait(left)
            return batch

    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            groups: dict[str, list[_Job]] = {}  # only jobs with equal options share a run
            for j in batch:
                if not j.cancelled.is_set():
                    groups.setdefault(json.dumps(j.options, sort_keys=True), []).append(j)
            for jobs in groups.values():
                self._run(jobs)

    def _run(self, batch: list[_Job]) -> None:
        if not batch:
            return
        items = [it for j in batch for it in j.items]
        self.batches += 1
        try:
            results = self.judge.run(items, **batch[0].options)
        except Exception as exc:  # the judge itself failed: every waiting request learns why
            for j in batch:
                j.loop.call_soon_threadsafe(_set_exception, j.future, exc)
            return
        start = 0
        for j in batch:
            part = results[start : start + len(j.items)]
            start += len(j.items)
            j.loop.call_soon_threadsafe(_set_result, j.future, part)


def _set_result(fut: asyncio.Future[list[JudgeResult]], value: list[JudgeResult]) -> None:
    if not fut.done():
        fut.set_result(value)


def _set_exception(fut: asyncio.Future[list[JudgeResult]], exc: BaseException) -> None:
    if not fut.done():
        fut.set_exception(exc)
