"""Judge-server throughput: dynamic micro-batching vs one request at a time, in one run.

    python benchmarks/serve_batching.py [--requests 256] [--concurrency 64] [--max-tokens 16]

Builds a tiny random-weight Qwen2.5-VL checkpoint offline and serves it twice with the same
Judge (transformers backend, greedy, ``max_batch_size`` = ``--max-batch``) on 127.0.0.1:

* ``batched``: the default server settings (``max_batch=64``, ``batch_wait=0.01``);
* ``one-at-a-time``: ``max_batch=1`` (each request is its own backend call).

``--requests`` POST /v1/judge score requests are sent by ``--concurrency`` concurrent asyncio
clients (each sends its next request when the previous one returned).  The batched server
runs before and after the one-at-a-time server; the faster of its two runs is compared, since
the machine is shared.  Prints requests/s, p50/p99 latency, the number of non-200 answers,
backend batch sizes, the load average and the speed-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


async def clients(base: str, bodies: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    import httpx

    queue = list(reversed(bodies))
    latencies: list[float] = []
    codes: list[int] = []

    async def client(http: httpx.AsyncClient) -> None:
        while queue:
            body = queue.pop()
            t0 = time.perf_counter()
            r = await http.post("/v1/judge", json=body)
            latencies.append(time.perf_counter() - t0)
            codes.append(r.status_code)

    limits = httpx.Limits(max_connections=concurrency + 4)
    async with httpx.AsyncClient(base_url=base, timeout=600, limits=limits) as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    ordered = sorted(latencies)
    return {
        "wall_s": round(wall, 3),
        "requests_per_s": round(len(bodies) / wall, 2),
        "p50_ms": round(1000 * statistics.median(ordered), 1),
        "p99_ms": round(1000 * ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1),
        "non_200": sum(c != 200 for c in codes),
    }


def run_server(
    judge: Any, cfg: Any, bodies: list[dict[str, Any]], concurrency: int
) -> dict[str, Any]:
    from flexjudge.serve import create_app
    from flexjudge.testing import serve_in_thread

    app = create_app(judge, cfg)
    with serve_in_thread(app) as base:
        stats = asyncio.run(clients(base, bodies, concurrency))
    stats["backend_calls"] = app.state.worker.batches
    return stats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=256)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--max-batch", type=int, default=64)
    ap.add_argument("--max-tokens", type=int, default=16)
    args = ap.parse_args()

    from flexjudge import Judge
    from flexjudge.serve import ServerConfig
    from flexjudge.testing import build_tiny_model

    ckpt = build_tiny_model(Path(tempfile.mkdtemp()) / "tiny", kind="qwen2_5_vl")
    judge = Judge.from_pretrained(
        str(ckpt),
        backend="transformers",
        temperature=0.0,
        max_tokens=args.max_tokens,
        batch_size=args.max_batch,
        backend_kwargs={"max_batch_size": args.max_batch, "device": "cpu"},
    )
    bodies = [
        {"mode": "score", "question": f"Question {i}?", "responses": [f"answer {i} " * 6]}
        for i in range(args.requests)
    ]
    judge.run([])  # nothing; the first real call below warms up
    run_server(judge, ServerConfig(), bodies[: args.concurrency], args.concurrency)

    batched_cfg = ServerConfig()  # defaults: max_batch=64, batch_wait=0.01
    single_cfg = ServerConfig(max_batch=1, batch_wait=0.0)
    first = run_server(judge, batched_cfg, bodies, args.concurrency)
    single = run_server(judge, single_cfg, bodies, args.concurrency)
    second = run_server(judge, batched_cfg, bodies, args.concurrency)
    batched = min(first, second, key=lambda s: s["wall_s"])
    report = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "max_tokens": args.max_tokens,
        "batched": batched,
        "batched_other_run": second if batched is first else first,
        "one_at_a_time": single,
        "speedup": round(single["wall_s"] / batched["wall_s"], 2),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
