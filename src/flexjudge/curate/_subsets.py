"""Nested subsets of one selection (paper Fig. 2b): the first n samples for several n, each
written like the full set, from one ``select`` pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from flexjudge.curate._report import SelectReport
from flexjudge.curate._select import write_outputs
from flexjudge.errors import InputError


def nested_subset(report: SelectReport, n: int) -> SelectReport:
    """The first ``n`` samples of ``report`` in the policy's order (best single-score and
    pairwise samples first, split as ``n_single : n_pair``), every sample exactly as in the
    full set (text, 1–5 rescale).  Subsets for growing ``n`` are nested (Fig. 2b)."""
    if n < 0:
        raise InputError("a subset size must be >= 0", field="subsets")
    cfg = report.config
    singles = [s for s in report.samples if s.format == "single"]
    pairs = [s for s in report.samples if s.format == "pair"]
    total = cfg.n_single + cfg.n_pair
    want_single = n * cfg.n_single // total if total else 0
    want = {"single": want_single, "pair": n - want_single}
    chosen = singles[:want_single] + pairs[: n - want_single]
    have = {"single": min(len(singles), want_single), "pair": min(len(pairs), n - want_single)}
    return replace(
        report,
        samples=chosen,
        requested=want,
        shortfall={k: want[k] - have[k] for k in want},
        outputs={},
    )


def write_subsets(
    report: SelectReport, out_path: str | Path, sizes: Sequence[int], *, plot: bool = False
) -> dict[int, dict[str, str]]:
    """:func:`write_outputs` for each nested subset, as ``{stem}.{n}.jsonl`` beside
    ``out_path`` (one selection pass for every size)."""
    out = Path(out_path)
    stem = out.name.removesuffix(".jsonl")
    written = {}
    for n in sorted(set(sizes)):
        sub = nested_subset(report, n)
        command = f"{report.equivalent_command(out)}  # nested subset: the first {n} samples"
        written[n] = write_outputs(
            sub, out.with_name(f"{stem}.{n}.jsonl"), command=command, plot=plot
        )
    return written
