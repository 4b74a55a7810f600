"""Judge overhead vs raw ``model.generate``, and batching vs one-by-one, in one run.

    python benchmarks/judge_overhead.py [--items 32] [--max-tokens 32] [--batch 8] [--hidden 256]

Builds a small random-weight Qwen2.5-VL checkpoint offline, renders the same batch of
``pair-10`` prompts, and times (greedy, fixed new-token count):

1. raw: processor + ``model.generate`` in batches of ``--batch`` (left padding),
2. flexjudge: ``Judge.run`` through the transformers backend (render, generate, parse),
3. flexjudge one-by-one: batch size 1.

Prints the overhead ratio (goal <= 1.05) and the batching speed-up.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=32)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    import torch

    from flexjudge import Judge, JudgeItem
    from flexjudge.backends._transformers import TransformersBackend
    from flexjudge.protocol import PromptInputs, get_protocol
    from flexjudge.testing import build_tiny_model

    torch.manual_seed(0)
    tmp = tempfile.mkdtemp(prefix="fj-bench-")
    path = build_tiny_model(tmp, kind="qwen2_5_vl", hidden_size=args.hidden, num_layers=args.layers)
    items = [
        JudgeItem(
            f"Question {i}: which answer explains photosynthesis better?",
            [
                f"Answer one number {i} talks about light." * (1 + i % 3),
                f"Answer two number {i} talks about sugar." * (1 + (i + 1) % 3),
            ],
        )
        for i in range(args.items)
    ]
    protocol = get_protocol("pair-10")
    prompts = [protocol.render(PromptInputs(it.question, it.responses)).text for it in items]

    backend = TransformersBackend(path, device="cpu", dtype="float32", max_batch_size=args.batch)
    model, processor = backend.model, backend.processor
    tok = getattr(processor, "tokenizer", processor)
    tok.padding_side = "left"
    judge = Judge(backend, temperature=0.0, max_tokens=args.max_tokens, batch_size=args.items)

    def raw_generate() -> None:
        for start in range(0, len(prompts), args.batch):
            chunk = prompts[start : start + args.batch]
            inputs = tok(chunk, return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.inference_mode():
                out = model.generate(
                    **inputs,
                    max_new_tokens=args.max_tokens,
                    do_sample=False,
                    top_k=None,
                    top_p=None,
                    repetition_penalty=1.0,
                )
            tok.batch_decode(out[:, inputs["input_ids"].shape[1] :], skip_special_tokens=True)

    def flexjudge_run(batch: int) -> None:
        backend.max_batch_size = batch
        judge.run(items)

    def best(fn, *a) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            fn(*a)
            times.append(time.perf_counter() - t)
        return min(times)

    raw_generate()  # warm-up
    t_raw = best(raw_generate)
    t_fj = best(flexjudge_run, args.batch)
    t_one = best(flexjudge_run, 1)
    print(
        f"items={args.items} max_new_tokens={args.max_tokens} batch={args.batch} "
        f"hidden={args.hidden} layers={args.layers} threads={torch.get_num_threads()}"
    )
    print(f"raw model.generate       : {t_raw:8.3f} s")
    print(
        f"flexjudge Judge.run      : {t_fj:8.3f} s   "
        f"overhead ratio {t_fj / t_raw:.3f} (goal <= 1.05)"
    )
    print(f"flexjudge one-by-one     : {t_one:8.3f} s   batching speed-up {t_one / t_fj:.2f}x")


if __name__ == "__main__":
    main()
