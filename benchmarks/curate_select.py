"""Benchmark ``flexjudge curate select`` on a synthetic JudgeLM-100K-sized run.

Writes (once, into ``--workdir``, default a temp dir) a JudgeLM-format input of N rows and two
teacher generation files in the reference layout (seeds 13 and 79: prompt, text, tokens),
then runs, each in a fresh subprocess so peak RSS is its own:

* ``streaming``: :func:`flexjudge.curate.select` (lockstep streaming, bounded pools; one
  process per CPU, each scanning a span of rows);
* ``streaming-1``: the same in one process;
* ``streaming-stdlib``: the same with the stdlib ``json`` parser (as without orjson);
* ``naive``: a load-everything version of the same steps (the reference ``lrm_process``
  shape: read every file into lists, group all kept candidates by prompt, then rank all
  winners) with the same JSON parser, which must choose the same samples.

Prints wall time of the selection itself (imports excluded, files in the page cache) and peak
RSS per size, and the naive/streaming ratios.  Usage::

    python benchmarks/curate_select.py                 # 20K and 100K rows
    python benchmarks/curate_select.py --sizes 100000 --workdir /tmp/curate_bench
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SEEDS = (13, 79)
ANSWER_WORDS = 500  # answers of 40-500 words: about a quarter of pairs exceed 750 together


def write_data(folder: Path, n: int) -> tuple[Path, list[Path]]:
    """Input + two generation files for ``n`` rows (reused when already there)."""
    from flexjudge.curate import (
        iter_records,
        iter_synthetic_rows,
        synthetic_trace,
        teacher_prompt,
    )
    from flexjudge.curate._records import CurateRecord

    folder.mkdir(parents=True, exist_ok=True)
    inp = folder / f"judgelm_{n}.jsonl"
    gens = [folder / f"judgelrm_{s}_0.1_{n}.jsonl" for s in SEEDS]
    if inp.exists() and all(g.exists() for g in gens):
        return inp, gens
    rows = list(iter_synthetic_rows(n, max_answer_words=ANSWER_WORDS))
    with inp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row) + "\n")
    records = [r for r in iter_records(inp) if isinstance(r, CurateRecord)]
    for seed, path in zip(SEEDS, gens, strict=True):
        with path.open("w", encoding="utf-8") as handle:
            for row, rec in zip(rows, records, strict=True):
                text = synthetic_trace(row, seed)
                n_tok = len(text.split(" "))
                tokens = [(i * 7919 + seed) % 151643 for i in range(n_tok)]
                line = {"prompt": teacher_prompt(rec), "text": text, "tokens": tokens}
                handle.write(json.dumps(line) + "\n")
    return inp, gens


def run_streaming(inp: Path, gens: list[Path], processes: int = 0) -> dict[str, Any]:
    from flexjudge.curate import SelectConfig, select

    start = time.perf_counter()
    report = select(inp, gens, SelectConfig(processes=processes))
    seconds = time.perf_counter() - start
    chosen = [(s.format, s.line, s.seed_file) for s in report.samples]
    return {"seconds": seconds, "chosen": chosen, "kept": report.stats.kept}


def run_naive(inp: Path, gens: list[Path]) -> dict[str, Any]:
    """Load everything, then the same filter / grouping / ranking as the library."""
    from flexjudge.curate import (
        SelectConfig,
        TokenCounter,
        first_answer_reasoning,
        split_trace,
    )
    from flexjudge.curate._scan import Candidate, pair_key, single_key

    cfg = SelectConfig()
    start = time.perf_counter()
    from flexjudge.curate._records import fast_loads

    loads = fast_loads()  # the same JSON parser as the streaming run
    rows = [loads(line) for line in inp.open(encoding="utf-8")]
    files = [[loads(line) for line in g.open(encoding="utf-8")] for g in gens]
    pattern = re.compile(r"<answer>(\d+)</answer>")
    groups: dict[str, list[tuple[int, int, int, dict[str, Any]]]] = {}
    kept = 0
    for order, lines in enumerate(files):
        for i, (row, gen) in enumerate(zip(rows, lines, strict=False)):
            p = [int(x) for x in pattern.findall(gen["text"])]
            s1, s2 = row["score"]
            if len(p) >= 2 and p[0] == s1 and p[1] == s2:
                kept += 1
                groups.setdefault(gen["prompt"], []).append((len(gen["tokens"]), order, i, gen))
    counter = TokenCounter()
    winners = []
    for cands in groups.values():
        tokens, order, i, gen = max(cands, key=lambda c: (c[0], -c[1], -c[2]))
        trace = split_trace(gen["text"])
        if trace is None or len(trace.scores) != 2 or not all(1 <= s <= 10 for s in trace.scores):
            continue
        part = first_answer_reasoning(trace.reasoning)
        a1 = counter.part(part, gen["text"], tokens) if part is not None else 0
        answers = counter.text(rows[i]["answer1_body"]) + counter.text(rows[i]["answer2_body"])
        winners.append(
            Candidate(b"", i, order, None, "", tokens, (0, 0), part, a1, answers)  # type: ignore[arg-type]
        )
    usable = winners
    singles = sorted(
        (c for c in usable if c.a1_part is not None and c.a1_tokens > cfg.single_min_tokens),
        key=single_key,
        reverse=True,
    )[: cfg.n_single]
    used = {(c.line, c.seed_order) for c in singles}
    pairs = [
        c
        for c in sorted(
            (c for c in usable if c.answer_tokens > cfg.pair_min_answer_tokens),
            key=pair_key,
            reverse=True,
        )
        if (c.line, c.seed_order) not in used
    ][: cfg.n_pair]
    seconds = time.perf_counter() - start
    chosen = [("single", c.line, c.seed_order) for c in singles]
    chosen += [("pair", c.line, c.seed_order) for c in pairs]
    return {"seconds": seconds, "chosen": chosen, "kept": kept}


def peak_rss_mib() -> float:
    """This process's peak RSS (VmHWM).  Not ``ru_maxrss``: on Linux that survives exec and
    starts at the parent's RSS at fork time."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(impl: str, inp: str, gens: list[str]) -> None:
    before = peak_rss_mib()
    if impl.endswith("-stdlib"):  # force the stdlib json parser (orjson absent)
        from flexjudge.curate import _records

        _records.fast_loads = lambda: json.loads
        _records._loads = json.loads
    paths = (Path(inp), [Path(g) for g in gens])
    if impl.startswith("naive"):
        out = run_naive(*paths)
    else:  # "streaming-1" pins one process; the others use select's automatic choice
        out = run_streaming(*paths, processes=1 if impl.startswith("streaming-1") else 0)
    out["rss_after_imports_mib"] = before
    out["peak_rss_mib"] = peak_rss_mib()
    # forked scan workers: their own peak (on Linux it counts pages shared with the parent)
    out["worker_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps(out))


def measure(impl: str, inp: Path, gens: list[Path]) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", impl, str(inp), *map(str, gens)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        import flexjudge.curate  # noqa: F401  (imports before the RSS baseline)

        child(sys.argv[2], sys.argv[3], sys.argv[4:])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,100000")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--skip-naive", action="store_true")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="curate_bench_"))
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}; data in {workdir}")
    for n in (int(s) for s in args.sizes.split(",")):
        t0 = time.perf_counter()
        inp, gens = write_data(workdir, n)
        size_mb = sum(p.stat().st_size for p in [inp, *gens]) / 2**20
        print(f"\n{n} rows, {size_mb:.0f} MiB of input+generations (written in "
              f"{time.perf_counter() - t0:.0f} s)")  # fmt: skip
        # times are for files in the page cache: read them once first (a naive run of the
        # previous size can have evicted them; from disk, the read alone bounds the time)
        t0 = time.perf_counter()
        for path in [inp, *gens]:
            with path.open("rb") as handle:
                while handle.read(1 << 24):
                    pass
        print(f"  reading the files once (page cache warm-up): {time.perf_counter() - t0:.1f} s")
        stream = measure("streaming", inp, gens)
        print(f"  streaming ({os.cpu_count()} processes): {stream['seconds']:.2f} s, peak RSS "
              f"{stream['peak_rss_mib']:.0f} MiB (after imports "
              f"{stream['rss_after_imports_mib']:.0f} MiB; worker "
              f"{stream['worker_peak_rss_mib']:.0f} MiB), kept {stream['kept']}, "
              f"samples {len(stream['chosen'])}")  # fmt: skip
        one = measure("streaming-1", inp, gens)
        same_one = one["chosen"] == stream["chosen"]
        print(f"  streaming, 1 process: {one['seconds']:.2f} s, peak RSS "
              f"{one['peak_rss_mib']:.0f} MiB; same samples: {same_one}")  # fmt: skip
        std = measure("streaming-stdlib", inp, gens)
        print(f"  streaming, stdlib json: {std['seconds']:.2f} s, peak RSS "
              f"{std['peak_rss_mib']:.0f} MiB")  # fmt: skip
        if one["chosen"] != stream["chosen"] or std["chosen"] != stream["chosen"]:
            raise SystemExit("one and several processes chose different samples")
        if args.skip_naive:
            continue
        naive = measure("naive", inp, gens)
        same = naive["chosen"] == stream["chosen"] and naive["kept"] == stream["kept"]
        print(f"  naive:     {naive['seconds']:.2f} s, peak RSS {naive['peak_rss_mib']:.0f} MiB; "
              f"same samples: {same}")  # fmt: skip
        net_s = stream["peak_rss_mib"] - stream["rss_after_imports_mib"]
        net_n = naive["peak_rss_mib"] - naive["rss_after_imports_mib"]
        print(f"  ratios naive/streaming: time {naive['seconds'] / stream['seconds']:.2f}x, "
              f"peak RSS {naive['peak_rss_mib'] / stream['peak_rss_mib']:.2f}x, "
              f"RSS above imports {net_n / max(net_s, 1):.1f}x")  # fmt: skip
        if not same:
            raise SystemExit("naive and streaming chose different samples")


if __name__ == "__main__":
    main()
