"""Scoring speed: 100K predictions (PandaLM/JudgeLRM-style and GenAI-Bench-style files)
through ``flexjudge bench score``'s code path, against a naive baseline in the same run.

The naive baseline is what a one-off script does: ``re.findall`` with an uncompiled pattern
per record, macro P/R/F1 with one pass over the data per label and per statistic, and a
bootstrap CI with ``random.choices`` in a Python loop.  Both compute the same numbers (the
script checks that).  Usage: ``python benchmarks/bench_scoring.py [--n 100000]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import tempfile
import time
from pathlib import Path

from flexjudge.bench import score_file

VOTES = ("leftvote", "rightvote", "tievote", "bothbad_vote")
TOKENS = ("[[A>B]]", "[[B>A]]", "[[A=B=Good]]", "[[A=B=Bad]]", "[[A=B]]", "[[A>>B]]")


def write_pandalm(path: Path, n: int, rng: random.Random) -> None:
    rows = []
    for i in range(n):
        a = [rng.choice((0, 1, 2)) for _ in range(3)]
        s1, s2 = rng.randint(1, 10), rng.randint(1, 10)
        out = f"<answer>{s1}</answer><answer>{s2}</answer>" if rng.random() > 0.01 else "none"
        rows.append(
            {
                "idx": i,
                "instruction": "Explain.",
                "input": "",
                "response1": "one two",
                "response2": "three",
                "annotator1": a[0],
                "annotator2": a[0],
                "annotator3": a[2],
                "output": out,
            }
        )
    path.write_text(json.dumps(rows))


def write_genai(path: Path, n: int, rng: random.Random) -> None:
    with open(path, "w") as fh:
        for i in range(n):
            tok = rng.choice(TOKENS) if rng.random() > 0.02 else "no verdict"
            fh.write(
                json.dumps(
                    {
                        "idx": i,
                        "prompt": "a cat",
                        "human_vote": rng.choice(VOTES),
                        "response": f"Some analysis of both images.\n{tok}",
                    }
                )
                + "\n"
            )


def naive_pandalm(path: Path, n_boot: int) -> dict[str, float]:
    rows = json.loads(path.read_text())
    gold, pred = [], []
    for r in rows:
        votes = [r["annotator1"], r["annotator2"], r["annotator3"]]
        gold.append(max(set(votes), key=votes.count))
        s = re.findall(r"<answer>\s*(\d+(?:\.\d+)?)\s*</answer>", r["output"])
        if len(s) < 2:
            pred.append(-1)
        else:
            a, b = float(s[0]), float(s[1])
            pred.append(1 if a > b else 2 if b > a else 0)
    f1s = []
    for c in (0, 1, 2):
        tp = sum(1 for p, g in zip(pred, gold, strict=False) if p == c and g == c)
        npred = sum(1 for p in pred if p == c)
        ngold = sum(1 for g in gold if g == c)
        p_ = tp / npred if npred else 0.0
        r_ = tp / ngold if ngold else 0.0
        f1s.append(2 * p_ * r_ / (p_ + r_) if p_ + r_ else 0.0)
    correct = [int(p == g) for p, g in zip(pred, gold, strict=False)]
    boots = sorted(
        sum(random.choices(correct, k=len(correct))) / len(correct) for _ in range(n_boot)
    )
    return {
        "accuracy": sum(correct) / len(correct),
        "f1": sum(f1s) / 3,
        "ci_lo": boots[int(0.025 * n_boot)],
    }


def naive_genai(path: Path, n_boot: int) -> dict[str, float]:
    eq = {
        "leftvote": {"[[A>B]]", "[[A>>B]]"},
        "rightvote": {"[[B>A]]", "[[B>>A]]"},
        "tievote": {"[[A=B=Good]]", "[[A=B]]"},
        "bothbad_vote": {"[[A=B=Bad]]", "[[A=B]]"},
    }
    correct = []
    for line in path.read_text().splitlines():
        r = json.loads(line)
        m = re.search(r"\[\[.*\]\]", r["response"])
        correct.append(int(m is not None and m.group(0) in eq[r["human_vote"]]))
    boots = sorted(
        sum(random.choices(correct, k=len(correct))) / len(correct) for _ in range(n_boot)
    )
    return {"accuracy": sum(correct) / len(correct), "ci_lo": boots[int(0.025 * n_boot)]}


def timed(repeat, fn, *args):  # type: ignore[no-untyped-def]
    """Best of ``repeat`` wall times (the machine is shared; the minimum is the least noisy)."""
    best, cpu, out = float("inf"), float("inf"), None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn(*args)
        best = min(best, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    return out, best, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = random.Random(0)
    print(
        f"machine: {platform.processor() or platform.machine()}, python "
        f"{platform.python_version()}; n={args.n}, bootstrap={args.boot}, "
        f"flexjudge best of {args.repeat}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        pl, ge = Path(tmp) / "pandalm.json", Path(tmp) / "pairwise.jsonl"
        write_pandalm(pl, args.n, rng)
        write_genai(ge, args.n, rng)
        for name, path, fmt, bench, split, naive in (
            ("pandalm/judgelrm", pl, "judgelrm", "pandalm", "test", naive_pandalm),
            ("genai-bench/pairwise", ge, "genai-bench", "genai-bench", "image", naive_genai),
        ):
            ours, t_ours, c_ours = timed(
                args.repeat, score_file, bench, split, path, fmt, "reference"
            )
            base, t_base, c_base = timed(1, naive, path, args.boot)
            assert abs(ours.metrics["accuracy"] - base["accuracy"]) < 1e-12
            if "f1" in base:
                assert abs(ours.metrics["f1"] - base["f1"]) < 1e-12
            print(
                f"{name:22s} flexjudge {t_ours:6.2f} s (cpu {c_ours:5.2f})  naive {t_base:6.2f} s "
                f"(cpu {c_base:5.2f})  "
                f"speed-up x{t_base / t_ours:4.1f}  (accuracy {ours.metrics['accuracy']:.4f}, "
                f"CI {ours.ci['accuracy'][0]:.4f}-{ours.ci['accuracy'][1]:.4f})"
            )


if __name__ == "__main__":
    main()
