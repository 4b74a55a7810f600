"""One judge thread that merges concurrent requests into batched ``Judge.run`` calls.

Backends are not documented thread-safe, so a single worker owns the judge; requests waiting
at the same time are merged (up to ``max_batch`` items) into one call, which is where a real
model gains throughput.  The event loop never runs the judge.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flexjudge.judge.types import JudgeItem, JudgeResult

if TYPE_CHECKING:
    from flexjudge.judge import Judge


@dataclass
class _Job:
    items: list[JudgeItem]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[JudgeResult]]
    cancelled: threading.Event = field(default_factory=threading.Event)


class JudgeWorker:
    """``await worker.submit(items)`` → results, judged on the worker thread."""

    def __init__(self, judge: Judge, max_batch: int = 64) -> None:
        self.judge = judge
        self.max_batch = max(1, max_batch)
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="flexjudge-judge", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        with self._lock:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join(timeout=30)
                self._thread = None

    async def submit(self, items: list[JudgeItem], timeout: float | None) -> list[JudgeResult]:
        """Judge ``items``; raises ``TimeoutError`` after ``timeout`` seconds (the job is then
        skipped if it has not started)."""
        self.start()
        loop = asyncio.get_running_loop()
        job = _Job(items, loop, loop.create_future())
        self._queue.put(job)
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), timeout)
        except (TimeoutError, asyncio.CancelledError):
            job.cancelled.set()
            raise

    def _loop(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            batch = [job]
            size = len(job.items)
            while size < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                batch.append(nxt)
                size += len(nxt.items)
            self._run([j for j in batch if not j.cancelled.is_set()])

    def _run(self, batch: list[_Job]) -> None:
        if not batch:
            return
        items = [it for j in batch for it in j.items]
        try:
            results = self.judge.run(items)
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
