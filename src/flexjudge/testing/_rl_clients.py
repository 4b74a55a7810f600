"""RL trainers' call patterns against the judge server, for tests and ``benchmarks/``: a judge
with a fixed per-item latency, and OpenRLHF 0.11's per-sample reward requests.

Imported directly (``flexjudge.testing._rl_clients``), not from :mod:`flexjudge.testing`:
it needs ``httpx`` from the ``[serve]`` extra."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import httpx

from flexjudge.backends import Completion, GenerationRequest, MockBackend


class SlowJudgeBackend(MockBackend):
    """The mock judge taking ``per_item`` seconds per request, batched or not."""

    def __init__(self, per_item: float) -> None:
        super().__init__()
        self.per_item = per_item
        self.batch_sizes: list[int] = []
        self._guard = threading.Lock()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Completion]]:
        assert self._guard.acquire(blocking=False), "backend called from two threads at once"
        try:
            self.batch_sizes.append(len(requests))
            time.sleep(self.per_item * len(requests))
            return super().generate(requests)
        finally:
            self._guard.release()


async def openrlhf_sample(client: httpx.AsyncClient, i: int) -> float | None:
    """OpenRLHF 0.11's per-sample call: 5 tries, 1 s apart, Retry-After ignored."""
    prompt = f"<|im_start|>user\nquestion {i}<|im_end|>\n<|im_start|>assistant\n"
    body = {"query": [prompt + f"answer {i}<|im_end|>"], "prompts": [prompt], "labels": [""]}
    for _ in range(5):
        try:
            r = await client.post("/get_reward", json=body)
            if r.status_code == 200:
                return float(r.json()["rewards"][0])
        except httpx.HTTPError:
            pass
        await asyncio.sleep(1)
    return None


def rollout(base: str, n: int) -> list[float | None]:
    async def run() -> list[float | None]:
        limits = httpx.Limits(max_connections=n + 8, max_keepalive_connections=n + 8)
        async with httpx.AsyncClient(base_url=base, timeout=180, limits=limits) as client:
            return list(await asyncio.gather(*(openrlhf_sample(client, i) for i in range(n))))

    return asyncio.run(run())
