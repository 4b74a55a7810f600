"""Resume overhead on a 10K-item result store (goal: resuming a finished run <= 2 s).

    python benchmarks/store_resume.py [--items 10000] [--keep DIR]

Builds the store first (MockBackend, ``votes=3``, ``swap``: every item is fully judged and
stored), then times, in the same process:

1. ``Judge.run(items, store=store)`` when every key is already stored (render + hash every
   item, one batched key lookup, JSON decode of 10K results; no generation);
2. the same through ``flexjudge judge run``'s code path (``run_items_file``: read the JSONL,
   resume, rewrite the output file in input order);
3. the plain judging of the same items with the mock (no store) as the baseline.
"""

from __future__ import annotations

import argparse
import gc
import json
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--keep", type=Path)
    args = ap.parse_args()

    from flexjudge import Judge
    from flexjudge.backends import MockBackend
    from flexjudge.runner.files import run_items_file
    from flexjudge.store import ResultStore

    work = args.keep or Path(tempfile.mkdtemp(prefix="fj-resume-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "id": str(i),
            "question": f"Question {i}: which is better?",
            "responses": [f"first answer {i}", f"second answer {i}"],
        }
        for i in range(args.items)
    ]
    items_path = work / "items.jsonl"
    items_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    store_path = work / "store.sqlite"
    store_path.unlink(missing_ok=True)
    options = {"votes": 3, "swap": True, "batch_size": 256}

    t = time.perf_counter()
    first = run_items_file(
        model="mock",
        backend="mock",
        base_url=None,
        input_path=items_path,
        output_path=work / "out.jsonl",
        options=options,
        store_path=store_path,
    )
    t_build = time.perf_counter() - t
    assert first["ok"] == args.items, first

    judge = Judge(MockBackend("mock"), **options)
    store = ResultStore(store_path)
    t = time.perf_counter()
    resumed = judge.run(rows, store=store)
    t_resume = time.perf_counter() - t
    assert len(resumed) == args.items and not MockBackend("mock").calls
    store.close()
    del resumed, judge  # a CLI resume runs in a fresh process: nothing else alive
    gc.collect()

    t = time.perf_counter()
    summary = run_items_file(
        model="mock",
        backend="mock",
        base_url=None,
        input_path=items_path,
        output_path=work / "out2.jsonl",
        options=options,
        store_path=store_path,
    )
    t_cli = time.perf_counter() - t
    assert summary["resumed"] == args.items, summary

    t = time.perf_counter()
    Judge(MockBackend("mock"), **options).run(rows)
    t_plain = time.perf_counter() - t
    out = {
        "items": args.items,
        "store_mb": round(store_path.stat().st_size / 2**20, 1),
        "build_run_s": round(t_build, 2),
        "resume_judge_run_s": round(t_resume, 2),
        "resume_cli_path_s": round(t_cli, 2),
        "mock_judging_no_store_s": round(t_plain, 2),
        "resume_vs_mock_judging": round(t_resume / t_plain, 2),
    }
    print(json.dumps(out))
    print(
        f"resume of {args.items} finished items: Judge.run {t_resume:.2f}s, "
        f"judge-run path {t_cli:.2f}s (goal <= 2 s); judging them with the mock took "
        f"{t_plain:.2f}s"
    )


if __name__ == "__main__":
    main()
