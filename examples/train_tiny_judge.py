"""Evidence that the training recipe teaches the judge format, on CPU in a few minutes.

    python examples/train_tiny_judge.py [--train 256] [--heldout 40] [--epochs 3]

1. Builds a small random-init Qwen2.5-VL-architecture model offline (``flexjudge.testing``).
2. Writes a few hundred synthetic reasoning traces in the curated format (spec §5.1): the
   JudgeLRM teacher prompt (``curate/teacher``: P-01 + P-02, ending ``<think>\\n``) for an
   arithmetic question with two candidate answers, and a short trace
   ``… </think>\\n<answer>s1</answer><answer>s2</answer>``.
3. Judges held-out questions through ``flexjudge.Judge`` with the ``text/pair`` protocol
   (transformers backend, greedy) before and after training and prints the share of
   generations that parse with status ``ok`` and the share whose preference is right.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

OPS = {"plus": lambda a, b: a + b, "minus": lambda a, b: a - b, "times": lambda a, b: a * b}


def make_item(rnd: random.Random) -> tuple[str, str, str, bool]:
    """A question, two answers, and whether the first answer is the correct one."""
    a, b = rnd.randint(2, 20), rnd.randint(2, 20)
    op = rnd.choice(sorted(OPS))
    right = OPS[op](a, b)
    wrong = right + rnd.choice([-3, -2, -1, 1, 2, 3])
    first_right = rnd.random() < 0.5
    answers = (right, wrong) if first_right else (wrong, right)
    return (
        f"What is {a} {op} {b}?",
        f"The answer is {answers[0]}.",
        f"The answer is {answers[1]}.",
        first_right,
    )


def trace(question: str, first_right: bool) -> str:
    good, bad = ("Assistant 1", "Assistant 2") if first_right else ("Assistant 2", "Assistant 1")
    s1, s2 = (9, 2) if first_right else (2, 9)
    del question  # the tiny model cannot copy it reliably; real traces restate it
    return (
        f"{good} gives the correct result. {bad} makes an arithmetic mistake.\n</think>\n"
        f"<answer>{s1}</answer><answer>{s2}</answer>"
    )


def write_training_data(path: Path, n: int, seed: int) -> None:
    from flexjudge.protocol import PromptInputs, get_protocol

    teacher = get_protocol("curate/teacher")
    rnd = random.Random(seed)
    with path.open("w") as handle:
        for _ in range(n):
            q, r1, r2, first_right = make_item(rnd)
            prompt = teacher.render(PromptInputs(q, [r1, r2]), mode="reference").text
            handle.write(json.dumps({"prompt": prompt, "text": trace(q, first_right)}) + "\n")


def evaluate(
    model_dir: Path, items: list[tuple[str, str, str, bool]], max_tokens: int
) -> dict[str, Any]:
    from flexjudge import Judge, JudgeItem

    judge = Judge.from_pretrained(
        str(model_dir),
        backend="transformers",
        protocol="text/pair",
        temperature=0.0,
        max_tokens=max_tokens,
        batch_size=16,
    )
    results = judge.run([JudgeItem(q, [r1, r2], task="compare") for q, r1, r2, _ in items])
    ok = [r.status == "ok" for r in results]
    right = [
        r.status == "ok" and r.preference == ("A" if first else "B")
        for r, (_, _, _, first) in zip(results, items, strict=True)
    ]
    sample = results[0].samples[0].text if results[0].samples else ""
    return {
        "parse_ok": sum(ok) / len(ok),
        "preference_correct": sum(right) / len(right),
        "n": len(ok),
        "example_generation": sample[:300],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--train", type=int, default=256)
    ap.add_argument("--heldout", type=int, default=40)
    ap.add_argument("--epochs", type=float, default=3.0)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()

    from flexjudge.testing import build_tiny_model
    from flexjudge.train import TrainConfig, train

    work = args.workdir or Path(tempfile.mkdtemp(prefix="flexjudge-tiny-judge-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    base = build_tiny_model(
        work / "base", "qwen2_5_vl", hidden_size=args.hidden, num_layers=args.layers, head_dim=32
    )
    write_training_data(work / "train.jsonl", args.train, seed=0)
    rnd = random.Random(12345)  # held-out questions: a different stream
    heldout = [make_item(rnd) for _ in range(args.heldout)]

    before = evaluate(base, heldout, args.max_tokens)
    result = train(
        TrainConfig(
            base=str(base),
            data=str(work / "train.jsonl"),
            output=str(work / "judge"),
            preset="flex-vl-7b",
            learning_rate=args.lr,
            epochs=args.epochs,
            global_batch_size=8,
            per_device_batch_size=8,
            device="cpu",
            activation_checkpointing=False,
        )
    )
    after = evaluate(work / "judge", heldout, args.max_tokens)
    report = {
        "model": f"Qwen2.5-VL arch, hidden {args.hidden}, {args.layers} layers, random init",
        "train_rows": args.train,
        "epochs": args.epochs,
        "steps": result.steps,
        "first_loss": result.first_loss,
        "final_loss": result.final_loss,
        "train_seconds": round(result.train_seconds, 1),
        "before": before,
        "after": after,
        "total_seconds": round(time.perf_counter() - started, 1),
        "workdir": str(work),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
