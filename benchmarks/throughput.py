"""Generated tokens/s of the transformers backend: one at a time, static and continuous batching.

    python benchmarks/throughput.py [--items 128] [--length-scale 0.25] [--hidden 256]
        [--layers 4] [--vocab trained|qwen] [--from-config DIR] [--device cpu] [--dtype float32]
        [--batch 16] [--votes 5] [--arms one,static,continuous,library,votes,prefix]
        [--json out.json]

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
the default path (per-sequence attention on the CPU); ``library`` = continuous batching on
the library's own SDPA attention (``ContinuousConfig(attention="library")``) against the
per-sequence one, on the first ``--library-items``; ``votes`` = the first ``--vote-items``
items with votes=k and swap (both
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
import subprocess
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
        # a few PandaLM responses are JSON booleans (e.g. "response1": true): judged as text
        answers = [
            str(row.get("response1", f"Answer one {i}.")),
            str(row.get("response2", f"Two {i}.")),
        ]
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
        "_outputs": [[list(c.token_ids or ()) for c in row] for row in outputs],
    }


#: The runs of each ``--arms`` entry; every run gets a fresh process (see ``main``).
ARM_RUNS = {
    "static": ["static"],
    "continuous": ["continuous"],
    "library": ["continuous_library_attention", "continuous_same_items"],
    "one": ["one_at_a_time"],
    "votes": ["votes_swap_continuous", "votes_swap_independent_continuous"],
    "votes_static": ["votes_swap_static"],
    "prefix": ["votes_swap_continuous_no_prefix_sharing"],
}


#: Runs on the static path; every other run is on continuous batching.
STATIC_RUNS = frozenset({"static", "one_at_a_time", "votes_swap_static"})


def worker(args: argparse.Namespace, run: str, path: Path) -> dict[str, Any]:
    """One run, in this (fresh) process: load, warm up both paths, time ``run``."""
    import torch
    from transformers.utils import logging as hf_logging

    from flexjudge.backends._base import GenerationRequest, SamplingParams
    from flexjudge.backends._continuous import ContinuousConfig
    from flexjudge.backends._transformers import TransformersBackend

    hf_logging.set_verbosity_error()  # ignore_eos's "eos_token_id should be positive" notes
    if run == "bandwidth":
        return {"copy_bandwidth_gb_s": round(copy_bandwidth(args.device), 2)}
    lengths, _ = draw_lengths(args.items, args.length_scale)
    both = prompts(args.items)
    texts = [first for first, _ in both]
    common: dict[str, Any] = {"device": args.device, "dtype": args.dtype}
    attention = "library" if run == "continuous_library_attention" else args.attention
    sharing = run != "votes_swap_continuous_no_prefix_sharing"
    engine = ContinuousConfig(
        max_requests=args.max_requests, attention=attention, prefix_sharing=sharing
    )
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
    # Warm up the path under test only: the other path's allocations would shape this
    # process's heap (see main), as they would not in a process that runs one path.
    (st if run in STATIC_RUNS else cb).generate(greedy[:2])
    k = args.votes
    # unseeded: seeded sampling takes the static path (per-row generators)
    voted = SamplingParams(temperature=0.6, top_p=0.95, max_tokens=1, n=k)
    swapped = [
        GenerationRequest(prompt, voted.replace(max_tokens=n, ignore_eos=True))
        for pair, n in zip(both[: args.vote_items], lengths, strict=False)
        for prompt in pair
    ]
    few = greedy[: args.library_items]

    def independent() -> list[Any]:
        singles = [GenerationRequest(r.prompt, r.sampling.replace(n=1)) for r in swapped]
        return [row for _ in range(k) for row in cb.generate(singles)]

    plans: dict[str, tuple[Any, Any]] = {
        "static": (st, lambda: st.generate(greedy)),
        "continuous": (cb, lambda: cb.generate(greedy)),
        "continuous_library_attention": (cb, lambda: cb.generate(few)),
        "continuous_same_items": (cb, lambda: cb.generate(few)),
        "one_at_a_time": (
            st,
            lambda: [row for r in greedy[: args.one_items] for row in st.generate([r])],
        ),
        "votes_swap_continuous": (cb, lambda: cb.generate(swapped)),
        "votes_swap_independent_continuous": (cb, independent),
        "votes_swap_static": (st, lambda: st.generate(swapped)),
        "votes_swap_continuous_no_prefix_sharing": (cb, lambda: cb.generate(swapped)),
    }
    backend, fn = plans[run]
    result = timed(backend, counter, fn)
    result["meta"] = {
        "torch_threads": torch.get_num_threads(),
        "continuous_config": vars(cb.continuous.config) if cb.continuous else None,
        "prompt_tokens_mean": round(
            sum(len(cb.tokenizer(t)["input_ids"]) for t in texts) / len(texts), 1
        ),
        "weight_bytes": weight_bytes(cb.model),
    }
    return result


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--items", type=int, default=128, help="items of the static/continuous arms")
    ap.add_argument("--length-scale", type=float, default=0.25)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--vocab", choices=("trained", "qwen"), default="trained")
    ap.add_argument("--from-config", type=Path, help="a Qwen2.5-VL config folder (GPU check)")
    ap.add_argument("--batch", type=int, default=16, help="static max_batch_size")
    ap.add_argument("--votes", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--arms", default="static,continuous,library,one,votes,prefix")
    ap.add_argument("--library-items", type=int, default=32, help="items of the library arm")
    ap.add_argument("--one-items", type=int, default=8, help="items of the one-at-a-time arm")
    ap.add_argument("--vote-items", type=int, default=8, help="items of the votes/prefix arms")
    ap.add_argument("--max-requests", type=int, help="ContinuousConfig.max_requests")
    ap.add_argument(
        "--attention",
        choices=("auto", "per-sequence", "library"),
        default="auto",
        help="ContinuousConfig.attention of the continuous arms",
    )
    ap.add_argument(
        "--repeats", type=int, default=1, help="passes over the arms, order alternating"
    )
    ap.add_argument("--json", type=Path)
    ap.add_argument("--worker", help=argparse.SUPPRESS)  # internal: run one arm and print it
    ap.add_argument("--model-dir", type=Path, help=argparse.SUPPRESS)
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    if args.worker is not None:  # a child of the run below: one arm, result as JSON on stdout
        print(json.dumps(worker(args, args.worker, args.model_dir)))
        return
    print(f"load average at start: {load()}", file=sys.stderr)
    lengths, fit = draw_lengths(args.items, args.length_scale)
    path = build_model(args, Path(tempfile.mkdtemp(prefix="fj-throughput-")))
    names = [run for arm in args.arms.split(",") for run in ARM_RUNS[arm]]
    runs: dict[str, dict[str, Any]] = {}
    # Each run starts in a fresh process: the heap one arm leaves behind changed the next
    # arm's speed by up to 1.5x on the CPU (glibc's malloc thresholds; docs/performance.md).
    # Repeats alternate the order (a b, b a, ...): this machine's speed drifted by up to 40 %
    # within minutes, so one pass in a fixed order would charge the drift to one arm.
    repeats: dict[str, list[dict[str, Any]]] = {}
    for r in range(args.repeats):
        for name in names if r % 2 == 0 else names[::-1]:
            repeats.setdefault(name, []).append(child_run(args, name, path))
    for name, results in repeats.items():
        in_order = [x["seconds"] for x in results]
        results = sorted(results, key=lambda run: run["seconds"])
        runs[name] = {**results[len(results) // 2], "repeat_order": in_order}
    bandwidth = child_run(args, "bandwidth", path)["copy_bandwidth_gb_s"]
    meta = next((run.pop("meta") for run in runs.values()), {})
    for run in runs.values():
        run.pop("meta", None)
    out: dict[str, Any] = {
        "device": args.device,
        "dtype": args.dtype,
        "model": {"hidden": args.hidden, "layers": args.layers, "vocab": args.vocab},
        "from_config": str(args.from_config) if args.from_config else None,
        "items": args.items,
        "library_items": min(args.library_items, args.items),
        "static_batch": args.batch,
        "lengths": {"fit": fit, "total": sum(lengths), "min": min(lengths), "max": max(lengths)},
        **meta,
        "copy_bandwidth_gb_s": bandwidth,
    }
    report(out, runs)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


def child_run(args: argparse.Namespace, name: str, path: Path) -> dict[str, Any]:
    print(f"{name} ...", file=sys.stderr, flush=True)
    child = [sys.executable, __file__, *sys.argv[1:], "--worker", name, "--model-dir", path]
    done = subprocess.run(list(map(str, child)), check=True, capture_output=True, text=True)
    sys.stderr.write(done.stderr[-400:] if name != "bandwidth" else "")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def report(out: dict[str, Any], runs: dict[str, dict[str, Any]]) -> None:
    """Ratios, output equality and the roofline into ``out``; print it all."""
    base = runs.get("static")
    for run in runs.values():
        if base is not None:
            run["ratio_to_static_tokens_per_s"] = round(
                run["tokens_per_s"] / base["tokens_per_s"], 3
            )
        steps_per_s = run["forwards"] / run["seconds"]
        run["roofline_weight_gb_s"] = round(out["weight_bytes"] * steps_per_s / 1e9, 2)

    def same(a: str, b: str) -> bool | None:
        return runs[a]["_outputs"] == runs[b]["_outputs"] if a in runs and b in runs else None

    out["greedy_identical_static_vs_continuous"] = same("static", "continuous")
    if "static" in runs and "continuous" in runs:  # repeat i of each: run back to back
        pairs = zip(runs["static"]["repeat_order"], runs["continuous"]["repeat_order"], strict=True)
        out["continuous_over_static_per_repeat"] = [round(a / b, 3) for a, b in pairs]
    out["greedy_identical_library_vs_per_sequence"] = same(
        "continuous_library_attention", "continuous_same_items"
    )
    if "continuous_library_attention" in runs:
        out["per_sequence_speedup_over_library_attention"] = round(
            runs["continuous_library_attention"]["seconds"]
            / runs["continuous_same_items"]["seconds"],
            3,
        )
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


if __name__ == "__main__":
    main()
