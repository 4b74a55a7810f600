"""Tie rate of integer scores vs expected scores, on shared PandaLM pairs (a proxy).

    python benchmarks/tie_rate.py [--items 400] [--votes 1]

PandaLM's test set (``/work/shared/data/pandalm/testset-v1.json``, instruction + input and
two responses) is judged with ``pair-10`` by the **mock** backend with ``score_logprobs``:
its integer scores are a hash of the prompt and its answer-token distributions a softmax
peaked at the generated value with a hashed sharpness.  This is an honest proxy, not a
model measurement: it shows what expected scores do to ties given a judge whose answers
carry uncertainty, not how often a real Flex-Judge ties.  Reports the share of pairs whose
integer scores tie (preference ``tie``) and whose expected scores tie (|difference| < 1e-9),
plus how often ``p_first_better`` is exactly 0.5.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=400)
    ap.add_argument("--votes", type=int, default=1)
    shared = Path(os.environ.get("FLEXJUDGE_SHARED", "/work/shared"))
    ap.add_argument("--shared", type=Path, default=shared)
    args = ap.parse_args()

    from flexjudge import Judge
    from flexjudge.backends import MockBackend

    data = args.shared / "data" / "pandalm" / "testset-v1.json"
    rows = json.loads(data.read_text())[: args.items]
    items = [
        {
            "id": str(r["idx"]),
            "question": r["instruction"] + ("\n" + r["input"] if r.get("input") else ""),
            "responses": [r["response1"], r["response2"]],
        }
        for r in rows
    ]
    judge = Judge(MockBackend(), protocol="pair-10", score_logprobs=10, votes=args.votes)
    results = [r for r in judge.run(items, task="compare") if r.ok]
    n = len(results)
    int_ties = sum(r.preference == "tie" for r in results)
    exp = [r.expected_scores for r in results if r.expected_scores is not None]
    exp_ties = sum(abs(a - b) < 1e-9 for a, b in exp)
    half = sum(r.p_first_better == 0.5 for r in results)
    out = {
        "items": len(items),
        "judged_ok": n,
        "votes": args.votes,
        "integer_tie_rate": round(int_ties / n, 4),
        "expected_tie_rate": round(exp_ties / max(len(exp), 1), 4),
        "p_first_better_exactly_half": round(half / n, 4),
        "backend": "mock (synthetic answer-token distributions: a proxy)",
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
