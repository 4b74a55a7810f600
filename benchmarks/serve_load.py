"""Judge server load test on loopback, against direct ``Judge`` calls, in one run.

    python benchmarks/serve_load.py [--backend mock|tiny] [--requests 400] [--concurrency 16]

Builds one Judge (the deterministic mock backend, or a tiny random-weight Qwen2.5-VL checkpoint
built offline with ``--backend tiny``), then on the same items:

1. direct, batched: ``Judge.run`` in batches of ``--max-batch`` (what the server's worker does
   at best);
2. direct, one by one: ``Judge.run([item])`` per item;
3. server: uvicorn on 127.0.0.1 with ``create_app``; ``--requests`` POST /v1/judge sent by an
   asyncio httpx client with at most ``--concurrency`` in flight (below the server's
   ``max_concurrency``, so the load is bounded and no request is refused).

4. the HTTP floor: a no-op FastAPI route on the same uvicorn/client/bodies.

Prints throughput, p50/p99 latency, the number of non-200 answers, and the server's overhead:
wall time relative to direct batched and one-by-one calls and to the no-op HTTP floor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def start_server(app: Any) -> tuple[str, Any, threading.Thread]:
    import uvicorn

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    started = threading.Event()
    original = server.startup

    async def startup(sockets: Any = None) -> None:
        await original(sockets=sockets)
        started.set()

    server.startup = startup  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    if not started.wait(60):
        sys.exit("uvicorn did not start")
    return f"http://127.0.0.1:{port}", server, thread


async def load(
    base: str, bodies: list[dict[str, Any]], concurrency: int
) -> tuple[list[float], list[int], float]:
    import httpx

    sem = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    codes: list[int] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=600, limits=limits) as client:
        await client.get("/health")  # warm the connection pool path

        async def one(body: dict[str, Any]) -> None:
            async with sem:
                t0 = time.perf_counter()
                r = await client.post("/v1/judge", json=body)
                latencies.append(time.perf_counter() - t0)
                codes.append(r.status_code)

        t0 = time.perf_counter()
        await asyncio.gather(*(one(b) for b in bodies))
        wall = time.perf_counter() - t0
    return latencies, codes, wall


def noop_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/v1/judge")
    async def noop(body: dict[str, Any]) -> dict[str, Any]:
        return {"status": "ok"}

    return app


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--backend", choices=("mock", "tiny"), default="mock")
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--max-batch", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=16)
    args = ap.parse_args()

    from flexjudge import Judge, JudgeItem
    from flexjudge.apps import ServerConfig, create_app

    if args.backend == "tiny":
        from flexjudge.testing import build_tiny_model

        ckpt = build_tiny_model(Path(tempfile.mkdtemp()) / "tiny", kind="qwen2_5_vl")
        judge = Judge.from_pretrained(
            str(ckpt),
            backend="transformers",
            temperature=0.0,
            max_tokens=args.max_tokens,
            backend_kwargs={"max_batch_size": args.max_batch},
        )
    else:
        judge = Judge.from_pretrained("mock-judge", backend="mock")
    bodies: list[dict[str, Any]] = [
        {
            "mode": "compare",
            "question": f"Question {i}: which answer is better?",
            "responses": [f"answer A{i} " * 8, f"answer B{i} " * 8],
        }
        for i in range(args.requests)
    ]
    items = [JudgeItem(b["question"], b["responses"], task="compare") for b in bodies]

    judge.run(items[: args.max_batch])  # warm-up (lazy imports, first generate)

    def run_direct_batched() -> float:
        t0 = time.perf_counter()
        for s in range(0, len(items), args.max_batch):
            judge.run(items[s : s + args.max_batch])
        return time.perf_counter() - t0

    direct_before = run_direct_batched()
    one_by_one_items = items[: min(len(items), 200 if args.backend == "mock" else 48)]
    t0 = time.perf_counter()
    for item in one_by_one_items:
        judge.run([item])
    direct_single = (time.perf_counter() - t0) / len(one_by_one_items) * len(items)

    cfg = ServerConfig(
        max_concurrency=max(64, 2 * args.concurrency), max_batch=args.max_batch, timeout=600
    )
    base, server, thread = start_server(create_app(judge, cfg))
    try:
        latencies, codes, wall = asyncio.run(load(base, bodies, args.concurrency))
    finally:
        server.should_exit = True
        thread.join(30)
    # again after the server run: a shared machine drifts, keep the faster of the two
    direct_after = run_direct_batched()
    direct_batched = min(direct_before, direct_after)
    # the HTTP floor: a no-op FastAPI route on the same uvicorn, client and bodies
    base, server, thread = start_server(noop_app())
    try:
        floor_lat, _, floor_wall = asyncio.run(load(base, bodies, args.concurrency))
    finally:
        server.should_exit = True
        thread.join(30)
    n = len(items)
    report = {
        "backend": args.backend,
        "requests": n,
        "concurrency": args.concurrency,
        "max_batch": args.max_batch,
        "non_200": sum(1 for c in codes if c != 200),
        "server_throughput_rps": n / wall,
        "server_p50_ms": 1000 * statistics.median(latencies),
        "server_p99_ms": 1000 * percentile(latencies, 99),
        "direct_batched_items_per_s": n / direct_batched,
        "direct_batched_before_after_s": [direct_before, direct_after],
        "direct_one_by_one_items_per_s": n / direct_single,
        "server_wall_over_direct_batched": wall / direct_batched,
        "server_wall_over_direct_one_by_one": wall / direct_single,
        "server_overhead_ms_per_item_vs_batched": 1000 * (wall - direct_batched) / n,
        "noop_http_throughput_rps": n / floor_wall,
        "noop_http_p50_ms": 1000 * statistics.median(floor_lat),
        "server_wall_over_noop_http": wall / floor_wall,
    }
    print(
        json.dumps(
            {k: round(v, 3) if isinstance(v, float) else v for k, v in report.items()}, indent=2
        )
    )


if __name__ == "__main__":
    main()
