"""Swap cost: ``swap=True`` (both orders in one batched call) vs two separate runs.

    python benchmarks/swap_cost.py [--items 8] [--max-tokens 32] [--device cpu] [--json out.json]

Same tiny checkpoint and items, temperature 0.6: (1) ``Judge.run(items, swap=True)`` sends
both presentation orders of every item in the same ``generate`` batches; (2) a fixed-order run
plus a second run with the responses reversed.  Prints ``ratio = swap / two runs``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _scaling_common import best_of, items, tiny_backend


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=8)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from flexjudge import Judge, JudgeItem

    backend = tiny_backend(args.hidden, args.layers, args.device, args.dtype, args.batch)
    batch = items(args.items)
    reversed_batch = [JudgeItem(it.question, it.responses[::-1], id=it.id) for it in batch]
    judge = Judge(backend, max_tokens=args.max_tokens, temperature=0.6, batch_size=args.batch)
    judge.run(batch[:2], swap=True)  # warm-up

    t_swap, r_swap = best_of(args.repeats, lambda: judge.run(batch, swap=True))
    t_two, r_two = best_of(args.repeats, lambda: judge.run(batch) + judge.run(reversed_batch))
    out = {
        "device": args.device,
        "dtype": args.dtype,
        "items": args.items,
        "max_tokens": args.max_tokens,
        "swap_s": round(t_swap, 3),
        "two_runs_s": round(t_two, 3),
        "ratio": round(t_swap / t_two, 3),
        "swap_tokens": sum(r.num_tokens for r in r_swap),
        "two_runs_tokens": sum(r.num_tokens for r in r_two),
    }
    print(json.dumps(out))
    print(
        f"swap (one batched call) {t_swap:.2f}s vs two runs {t_two:.2f}s -> ratio "
        f"{out['ratio']:.2f}"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
