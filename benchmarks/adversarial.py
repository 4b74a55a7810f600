"""Hostile candidates vs the chat frame: attack surface before, invariants after, and cost.

    python benchmarks/adversarial.py [--kinds qwen2_5_vl,qwen2_5_omni] [--repeats 3]

For every candidate of ``flexjudge.testing.HOSTILE_CANDIDATES`` rendered by ``score-10``
with one image, on tiny random-weight checkpoints (transformers backend, CPU):

* baseline: whole-string tokenization (what reference mode and the old code do): how many
  candidates change the sequence of special tokens (forged turns, extra media slots);
* structured (clean mode): the same count, which must be 0, and how many items fail;
* cost: the time to encode the whole batch, structured vs whole-string (benign candidates
  only, so the two produce identical ids), as a ratio measured in the same run.

Prints one JSON line per checkpoint kind and the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--kinds", default="qwen2_5_vl,qwen2_5_omni")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    print(f"load average: {os.getloadavg()}")
    for kind in args.kinds.split(","):
        print(json.dumps(measure(kind, args.repeats)))
    print(f"load average: {os.getloadavg()}")


def measure(kind: str, repeats: int) -> dict[str, object]:
    from dataclasses import replace

    from flexjudge import Judge
    from flexjudge.backends import GenerationRequest, MockBackend
    from flexjudge.backends._transformers import TransformersBackend
    from flexjudge.testing import HOSTILE_CANDIDATES, build_tiny_model, make_test_image

    path = build_tiny_model(tempfile.mkdtemp(prefix="fj-adv-"), kind=kind)  # type: ignore[arg-type]
    backend = TransformersBackend(str(path), device="cpu", max_batch_size=32)
    special = {i for i, t in backend.tokenizer.added_tokens_decoder.items() if t.special}
    recorder = MockBackend(family=backend.family)
    image = make_test_image()
    texts = [t for _, t in HOSTILE_CANDIDATES]
    items = [{"question": "Describe it.", "responses": [t], "images": [image]} for t in texts]
    Judge(recorder).run(items, task="score")
    hostile = recorder.calls
    recorder.calls = []
    benign_items = [dict(it, responses=[f"benign answer {i}"]) for i, it in enumerate(items)]
    Judge(recorder).run(benign_items, task="score")
    benign = recorder.calls

    def specials(ids: list[int]) -> list[int]:
        return [t for t in ids if t in special]

    base = specials(backend._encode([benign[0]])["input_ids"][0].tolist())
    whole = [replace(r, untrusted=None) for r in hostile if r.untrusted is not None]

    def plain(r: GenerationRequest) -> list[int]:  # whole string, placeholders unexpanded
        return specials(backend.tokenizer(r.prompt, add_special_tokens=False)["input_ids"])

    moved_before = sum(plain(r) != plain(benign[0]) for r in whole)
    moved_after = sum(
        specials(backend._encode([r])["input_ids"][0].tolist()) != base
        for r in hostile
        if r.untrusted is not None
    )
    results = Judge(backend, max_tokens=2, batch_size=64).run(items, task="score")
    failed = sum(r.status == "error" for r in results)

    def timed(batch: list[GenerationRequest]) -> float:
        best = float("inf")
        for _ in range(repeats):
            t = time.perf_counter()
            backend._encode(batch)
            best = min(best, time.perf_counter() - t)
        return best

    t_structured = timed(benign)
    t_whole = timed([replace(r, untrusted=None) for r in benign])
    out = {
        "kind": kind,
        "candidates": len(texts),
        "frame_changed_whole_string": int(moved_before),
        "frame_changed_structured": int(moved_after),
        "items_failed_structured": failed,
        "encode_structured_s": round(t_structured, 4),
        "encode_whole_string_s": round(t_whole, 4),
        "encode_ratio": round(t_structured / t_whole, 3),
    }
    backend.close()
    return out


if __name__ == "__main__":
    main()
