"""Generated tokens/s of the transformers backend: one at a time, static and continuous batching.

    python benchmarks/throughput.py [--items 24] [--length-scale 0.125] [--hidden 256]
        [--layers 4] [--vocab trained|qwen] [--from-config DIR] [--device cpu] [--dtype float32]
        [--votes 5] [--arms one,static,continuous,votes,prefix] [--json out.json]

In one process, on one random-weight Qwen2.5-VL checkpoint (built here, offline):

* output lengths: drawn (seed 0) from a log-normal fitted to the token lengths of the
  DeepSeek-R1 judge traces in shared/data/judgelrm/results_r1_sample.json (Qwen vocabulary
  from shared/data/hf-configs): median = their geometric mean, sigma = 0.6 (assumed: only
  two traces are public here; 0.6 spans "a few hundred to a few thousand" tokens, 5-95 %
  = 0.37-2.7x the median).  JudgeLRM's files hold answer tags only, no reasoning, so they
  do not enter the fit.  ``--length-scale`` shrinks every length by the same factor (CPU);
* every request is forced to its drawn length with ``ignore_eos`` (exactly ``max_tokens``
  tokens; transformers' continuous batching drops ``min_new_tokens``' processor, and
  ignore_eos keeps greedy outputs the model's own argmax on both paths);
* prompts: PandaLM test-set pairs rendered with the ``pair-10`` protocol (shared data), or
  synthetic pairs when it is absent.

Arms (greedy unless said): ``one`` = one request per ``generate`` call (the first
``--one-items``); ``static`` = ``continuous_batching=False`` (batches of ``--batch``,
sorted by prompt length, each batch runs until its longest row stops); ``continuous`` =
the default path; ``votes`` = the first ``--vote-items`` items with votes=k and swap (both
orders, ``n=k``, T=0.6, unseeded) in one call vs k independent calls, on continuous batching
(``votes_static``: the same request on the static path, slow on a CPU); ``prefix`` = the
votes request with the engine's KV block sharing on vs off.  Reports tokens/s, ratios to
static batching, whether greedy outputs are identical, and a roofline: weight bytes read
per forward x forwards/s against a copy benchmark's memory bandwidth.  Prints the load average.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
SHARED = Path(os.environ.get("FLEXJUDGE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
QWEN_FILES = SHARED / "data" / "hf-configs" / "Qwen2.5-VL-7B-Instruct"


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def r1_lengths() -> list[int]:
    from flexjudge.testing._tokenizer import build_tokenizer

    traces = json.loads((SHARED / "data" / "judgelrm" / "results_r1_sample.json").read_text())
    tok = build_tokenizer("qwen2", vocab="qwen", qwen_files_dir=QWEN_FILES)
    return [len(tok(t["output"], add_special_tokens=False)["input_ids"]) for t in traces]


def draw_lengths(n: int, scale: float, sigma: float = 0.6) -> tuple[list[int], dict[str, Any]]:
    import numpy as np

    observed = r1_lengths()
    median = math.exp(sum(math.log(x) for x in observed) / len(observed))
    rng = np.random.default_rng(0)
    raw = np.clip(rng.lognormal(math.log(median), sigma, n), 0.1 * median, 4 * median)
    lengths = [max(4, round(float(x) * scale)) for x in raw]
    fit = {"r1_token_lengths": observed, "median": round(median), "sigma": sigma, "scale": scale}
    return lengths, fit


def prompts(n: int) -> list[tuple[str, str]]:
    """Each item's prompt in both answer orders (the swap)."""
    from flexjudge.protocol import PromptInputs, get_protocol

    path = SHARED / "data" / "pandalm" / "testset-v1.json"
    rows = json.loads(path.read_text())[:n] if path.exists() else []
    protocol = get_protocol("pair-10")
    out = []
    for i in range(n):
        row = rows[i] if i < len(rows) else {}
        question = f"{row.get('instruction', f'Question {i}')}\n{row.get('input', '')}".strip()
        answers = [row.get("response1", f"Answer one {i}."), row.get("response2", f"Two {i}.")]
        orders = [PromptInputs(question, a) for a in (answers, answers[::-1])]
        first, second = (protocol.render(o).text for o in orders)
        out.append((first, second))
    return out


def build_model(args: argparse.Namespace, root: Path) -> Path:
    from flexjudge.testing import build_tiny_model

    qwen = args.vocab == "qwen" or args.from_config is not None
    kw: dict[str, Any] = {"vocab": "qwen", "qwen_files_dir": QWEN_FILES} if qwen else {}
    path = build_tiny_model(
        root, "qwen2_5_vl", hidden_size=args.hidden, num_layers=args.layers, head_dim=64, **kw
    )
    if args.from_config is not None:  # real architecture, fewer layers, random weights
        import torch
        from transformers import AutoConfig, Qwen2_5_VLForConditionalGeneration

        config = AutoConfig.from_pretrained(args.from_config)
        text = config.text_config
        text.num_hidden_layers = args.layers
        if getattr(text, "layer_types", None):
            text.layer_types = text.layer_types[: args.layers]
        config.vision_config.depth = 1  # text-only benchmark: a token vision tower
        config.vision_config.fullatt_block_indexes = [0]
        torch.manual_seed(0)
        with torch.device("cuda" if args.device == "cuda" else "cpu"):
            model = Qwen2_5_VLForConditionalGeneration(config).to(getattr(torch, args.dtype))
        model.generation_config.eos_token_id = [151645, 151643]
        model.save_pretrained(path)
        del model
    return path


def weight_bytes(model: Any) -> int:
    """Bytes one decode forward reads: language-model weights and the LM head."""
    seen: set[int] = set()
    total = 0
    for name, p in model.named_parameters():
        if "visual" in name or id(p) in seen or "embed_tokens" in name:
            continue
        seen.add(id(p))
        total += p.numel() * p.element_size()
    head = model.get_output_embeddings().weight
    if id(head) not in seen:  # tied head: the embedding matrix is read once per step
        total += head.numel() * head.element_size()
    return total


def copy_bandwidth(device: str) -> float:
    """GB/s of a large tensor copy (bytes read + written), best of 5."""
    import torch

    src = torch.ones(64 * 2**20, dtype=torch.float32, device=device)  # 256 MiB
    dst = torch.empty_like(src)
    best = float("inf")
    for _ in range(5):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        dst.copy_(src)
        if device == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t)
    return 2 * src.numel() * 4 / best / 1e9


class Counter:
    """Counts forward calls of the model (decode steps + prefill chunks)."""

    def __init__(self, model: Any) -> None:
        self.calls = 0
        model.register_forward_hook(lambda *_: self.bump())

    def bump(self) -> None:
        self.calls += 1


def timed(backend: Any, counter: Counter, fn: Any) -> dict[str, Any]:
    if backend.device == "cuda":
        import torch

        torch.cuda.synchronize()
    calls, t = counter.calls, time.perf_counter()
    outputs = fn()
    if backend.device == "cuda":
        import torch

        torch.cuda.synchronize()
    seconds = time.perf_counter() - t
    tokens = sum(c.num_tokens for row in outputs for c in row)
    print(f"  {tokens} tokens in {seconds:.2f} s (load {load()})", file=sys.stderr, flush=True)
    return {
        "seconds": round(seconds, 3),
        "tokens": tokens,
        "tokens_per_s": round(tokens / seconds, 1),
        "forwards": counter.calls - calls,
        "_outputs": outputs,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--items", type=int, default=24)
    ap.add_argument("--length-scale", type=float, default=0.125)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--vocab", choices=("trained", "qwen"), default="trained")
    ap.add_argument("--from-config", type=Path, help="a Qwen2.5-VL config folder (GPU check)")
    ap.add_argument("--batch", type=int, default=8, help="static max_batch_size")
    ap.add_argument("--votes", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--arms", default="static,continuous,one,votes,prefix")
    ap.add_argument("--one-items", type=int, default=8, help="items of the one-at-a-time arm")
    ap.add_argument("--vote-items", type=int, default=8, help="items of the votes/prefix arms")
    ap.add_argument("--max-requests", type=int, help="ContinuousConfig.max_requests")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    arms = set(args.arms.split(","))

    import torch
    from transformers.utils import logging as hf_logging

    from flexjudge.backends._base import GenerationRequest, SamplingParams
    from flexjudge.backends._continuous import ContinuousConfig
    from flexjudge.backends._transformers import TransformersBackend

    hf_logging.set_verbosity_error()  # ignore_eos's "eos_token_id should be positive" notes
    print(f"load average at start: {load()}", file=sys.stderr)
    lengths, fit = draw_lengths(args.items, args.length_scale)
    both = prompts(args.items)
    texts = [first for first, _ in both]
    path = build_model(args, Path(tempfile.mkdtemp(prefix="fj-throughput-")))
    common: dict[str, Any] = {"device": args.device, "dtype": args.dtype}
    engine = ContinuousConfig(max_requests=args.max_requests) if args.max_requests else None
    cb = TransformersBackend(
        path,
        max_batch_size=args.batch,
        continuous_batching=True,
        continuous_config=engine,
        **common,
    )
    st = TransformersBackend(path, max_batch_size=args.batch, continuous_batching=False, **common)
    st.model = cb.model  # one copy of the weights serves both paths
    counter = Counter(cb.model)
    greedy = [
        GenerationRequest(t, SamplingParams(temperature=0, max_tokens=n, ignore_eos=True))
        for t, n in zip(texts, lengths, strict=True)
    ]
    cb.generate(greedy[:2])  # warm-up of both paths
    st.generate(greedy[:2])
    out: dict[str, Any] = {
        "device": args.device,
        "dtype": args.dtype,
        "torch_threads": torch.get_num_threads(),
        "model": {"hidden": args.hidden, "layers": args.layers, "vocab": args.vocab},
        "from_config": str(args.from_config) if args.from_config else None,
        "continuous_config": vars(cb.continuous.config) if cb.continuous else None,
        "items": args.items,
        "lengths": {"fit": fit, "total": sum(lengths), "min": min(lengths), "max": max(lengths)},
        "prompt_tokens_mean": round(
            sum(len(cb.tokenizer(t)["input_ids"]) for t in texts) / len(texts), 1
        ),
        "weight_bytes": weight_bytes(cb.model),
        "copy_bandwidth_gb_s": round(copy_bandwidth(args.device), 2),
    }
    runs: dict[str, dict[str, Any]] = {}
    if "static" in arms:
        runs["static"] = timed(st, counter, lambda: st.generate(greedy))
    if "continuous" in arms:
        runs["continuous"] = timed(cb, counter, lambda: cb.generate(greedy))
    if "one" in arms:
        subset = greedy[: args.one_items]
        runs["one_at_a_time"] = timed(
            st, counter, lambda: [row for r in subset for row in st.generate([r])]
        )
    if "votes" in arms or "prefix" in arms:
        k = args.votes
        # unseeded: seeded sampling takes the static path (per-row generators)
        voted = SamplingParams(temperature=0.6, top_p=0.95, max_tokens=1, n=k)
        swapped = [
            GenerationRequest(prompt, voted.replace(max_tokens=n, ignore_eos=True))
            for pair, n in zip(both[: args.vote_items], lengths, strict=False)
            for prompt in pair
        ]
        if "votes" in arms:
            runs["votes_swap_continuous"] = timed(cb, counter, lambda: cb.generate(swapped))

            def independent() -> list[Any]:
                return [
                    row
                    for _ in range(k)
                    for row in cb.generate(
                        [GenerationRequest(r.prompt, r.sampling.replace(n=1)) for r in swapped]
                    )
                ]

            runs["votes_swap_independent_continuous"] = timed(cb, counter, independent)
        if "votes_static" in arms:  # slow on the CPU: 2k rows per item, padded to the longest
            runs["votes_swap_static"] = timed(st, counter, lambda: st.generate(swapped))
        if "prefix" in arms:
            assert cb.continuous is not None
            shared = cb.continuous.config
            cb.continuous.config = ContinuousConfig(**{**vars(shared), "prefix_sharing": False})
            runs["votes_swap_continuous_no_prefix_sharing"] = timed(
                cb, counter, lambda: cb.generate(swapped)
            )
            cb.continuous.config = shared
    base = runs.get("static")
    for run in runs.values():
        if base is not None:
            run["ratio_to_static_tokens_per_s"] = round(
                run["tokens_per_s"] / base["tokens_per_s"], 3
            )
        steps_per_s = run["forwards"] / run["seconds"]
        run["roofline_weight_gb_s"] = round(out["weight_bytes"] * steps_per_s / 1e9, 2)
    if "static" in runs and "continuous" in runs:
        a, b = runs["static"]["_outputs"], runs["continuous"]["_outputs"]
        out["greedy_identical_static_vs_continuous"] = a == b
    if "votes_swap_continuous" in runs and "votes_swap_independent_continuous" in runs:
        out["votes_cost_ratio"] = round(
            runs["votes_swap_continuous"]["seconds"]
            / runs["votes_swap_independent_continuous"]["seconds"],
            3,
        )
    for run in runs.values():
        del run["_outputs"]
    out["runs"] = runs
    out["load_average_end"] = load()
    print(json.dumps(out, indent=1))
    for name, run in runs.items():
        ratio = run.get("ratio_to_static_tokens_per_s", "-")
        print(
            f"{name:42s} {run['tokens']:7d} tok {run['seconds']:8.2f} s "
            f"{run['tokens_per_s']:8.1f} tok/s  x{ratio} static  "
            f"weights {run['roofline_weight_gb_s']} GB/s",
            file=sys.stderr,
        )
    print(
        f"copy bandwidth {out['copy_bandwidth_gb_s']} GB/s; greedy identical: "
        f"{out.get('greedy_identical_static_vs_continuous')}; votes cost ratio "
        f"{out.get('votes_cost_ratio')}; load average at end: {out['load_average_end']}",
        file=sys.stderr,
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
