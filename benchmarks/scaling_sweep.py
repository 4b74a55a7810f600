"""Backend work of a scaling sweep (paper Fig. 6) from one generation pass.

    python benchmarks/scaling_sweep.py [--items 16] [--votes 5] [--rounds 1] [--tiny]
        [--max-tokens 24] [--json out.json]

Same items (the first ``--items`` records of the shared PandaLM test set, or synthetic pairs
without it), same judge, counted at the backend (requests, completions, generated tokens):

1. ``bench run --votes K --budget-forcing R``: one pass, scored at every k = 1..K, r = 0..R;
2. one plain K-vote, R-round ``Judge.run`` of the same items (the goal: the same work);
3. the curve the naive way: one ``bench run --votes k`` per k = 1..K.

Prints ``ratio_vs_one_run`` (goal 1.0) and ``ratio_vs_k_runs``.  The default backend is the
mock (deterministic text, whitespace tokens); ``--tiny`` uses a tiny random Qwen2.5-VL
checkpoint on the CPU and also reports wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


class Counter:
    """Wraps ``backend.generate`` to count what the backend was asked to do."""

    def __init__(self, backend: Any) -> None:
        self.requests = self.completions = self.tokens = 0
        inner = backend.generate

        def generate(requests: Any) -> Any:
            out = inner(requests)
            self.requests += len(requests)
            self.completions += sum(len(c) for c in out)
            self.tokens += sum(x.num_tokens for c in out for x in c)
            return out

        backend.generate = generate

    def snapshot(self) -> dict[str, int]:
        return {"requests": self.requests, "completions": self.completions, "tokens": self.tokens}


def pandalm_file(n: int, tmp: Path) -> Path:
    shared = Path(os.environ.get("FLEXJUDGE_SHARED", "/work/shared"))
    src = shared / "data" / "pandalm" / "testset-v1.json"
    if src.is_file():
        rows = json.loads(src.read_text(encoding="utf-8"))[:n]
    else:
        rows = [
            {
                "idx": i,
                "instruction": f"Question {i}?",
                "input": "",
                "response1": "answer one " * (1 + i % 3),
                "response2": "answer two " * (1 + (i + 1) % 3),
                "annotator1": 1 + i % 2,
                "annotator2": 1 + i % 2,
                "annotator3": 0,
            }
            for i in range(n)
        ]
    path = tmp / "testset-v1.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def make_backend(tiny: bool) -> Any:
    if not tiny:
        from flexjudge.backends import MockBackend

        return MockBackend()
    from _scaling_common import tiny_backend

    return tiny_backend(128, 2, "cpu", "float32", 8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=16)
    ap.add_argument("--votes", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--max-tokens", type=int, default=24)
    ap.add_argument("--tiny", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from flexjudge.bench import BenchRunConfig, run_benchmark
    from flexjudge.judge import Judge

    tmp = Path(tempfile.mkdtemp(prefix="fj-sweep-"))
    data = pandalm_file(args.items, tmp)
    opts = {"max_tokens": args.max_tokens, "temperature": 0.6, "batch_size": 8}

    def bench(name: str, votes: int, rounds: int) -> tuple[dict[str, int], float, Any]:
        backend = make_backend(args.tiny)
        counter = Counter(backend)
        cfg = BenchRunConfig(
            "pandalm",
            "bench",
            tmp / name,
            data=data,
            mode="clean",
            votes=votes,
            budget_forcing=rounds,
            store=False,
            plots=False,
            options=opts,
        )
        started = time.perf_counter()
        score = run_benchmark(cfg, Judge(backend))
        return counter.snapshot(), time.perf_counter() - started, score

    sweep_work, sweep_s, _ = bench("sweep", args.votes, args.rounds)
    grid = json.loads((tmp / "sweep" / "scaling.json").read_text())["grid"]

    from flexjudge.bench import get_benchmark
    from flexjudge.bench._io import LoadConfig
    from flexjudge.bench._runner import build_items

    b = get_benchmark("pandalm")
    records = b.load(LoadConfig("test", data))
    items = build_items(b, records, b.orders(records, 0, "clean"), "pandalm")
    backend = make_backend(args.tiny)
    counter = Counter(backend)
    started = time.perf_counter()
    Judge(backend, **opts).run(items, votes=args.votes, budget_forcing=args.rounds, seed=0)
    one_run, one_s = counter.snapshot(), time.perf_counter() - started

    naive = {"requests": 0, "completions": 0, "tokens": 0}
    naive_s = 0.0
    for k in range(1, args.votes + 1):
        work, secs, _ = bench(f"k{k}", k, args.rounds)
        naive = {key: naive[key] + work[key] for key in naive}
        naive_s += secs
    out = {
        "backend": "tiny qwen2_5_vl (cpu)" if args.tiny else "mock",
        "items": len(items),
        "votes": args.votes,
        "rounds": args.rounds,
        "grid_points": len(grid),
        "sweep": sweep_work | {"seconds": round(sweep_s, 2)},
        "one_k_vote_run": one_run | {"seconds": round(one_s, 2)},
        "k_separate_runs": naive | {"seconds": round(naive_s, 2)},
        "ratio_vs_one_run": round(sweep_work["completions"] / one_run["completions"], 3),
        "tokens_ratio_vs_one_run": round(sweep_work["tokens"] / max(one_run["tokens"], 1), 3),
        "ratio_vs_k_runs": round(sweep_work["completions"] / naive["completions"], 3),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
