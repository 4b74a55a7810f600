"""The dataset card written next to ``train.jsonl``: counts, balance, lengths, the command."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from flexjudge._util.optional import available, require

if TYPE_CHECKING:
    from flexjudge.curate._report import Sample, SelectReport

_BINS = (0, 250, 375, 500, 750, 1000, 1500, 2000, 3000, 4096)


def _verdict(sample: Sample) -> str:
    if sample.format == "single":
        return f"score {sample.scores[0]}"
    a, b = sample.scores
    return "assistant 1 better" if a > b else "assistant 2 better" if b > a else "tie"


def _bucket(n: int) -> str:
    for low, high in itertools.pairwise(_BINS):
        if n < high:
            return f"{low}-{high - 1}"
    return f">={_BINS[-1]}"


def _table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def write_card(
    report: SelectReport, path: Path, command: str, *, plot: bool = True
) -> dict[str, str]:
    """Write the markdown card (and the length histogram PNG when matplotlib is present).

    Returns the paths written.  Raises :class:`OSError` when they cannot be written.
    """
    st = report.stats
    samples = report.samples
    lines = ["# Flex-Judge training set (flexjudge curate select)", ""]
    lines += ["Produced by:", "", "```bash", command, "```", ""]
    lines += ["## Counts per format and scale", ""]
    fs = Counter((s.format, s.scale) for s in samples)
    rows: list[tuple[object, ...]] = [(f, f"1-{sc}", n) for (f, sc), n in sorted(fs.items())]
    rows.append(("all", "", len(samples)))
    lines += [*_table(("format", "scale", "samples"), rows), ""]
    for key, short in report.shortfall.items():
        if short > 0:
            lines.append(
                f"- Shortfall: {key} asked for {report.requested[key]}, only "
                f"{report.requested[key] - short} candidates qualified (all taken)."
            )
    lines += ["", "## Verdict balance", ""]
    vb = Counter((s.format, s.scale, _verdict(s)) for s in samples)
    first = {(s.format, s.scale, _verdict(s)): s.scores for s in samples}
    verdict_rows: list[tuple[object, ...]] = [
        (f, f"1-{sc}", v, n)
        for (f, sc, v), n in sorted(vb.items(), key=lambda x: (x[0][:2], first[x[0]]))
    ]
    lines += [*_table(("format", "scale", "verdict", "samples"), verdict_rows), ""]
    lines += ["## Reasoning length (tokens)", ""]
    lines.append(
        "Single-score: tokens of the Assistant-1 reasoning kept; pairwise: generated tokens "
        f"of the whole trace. Counting: {report.token_counting}."
    )
    lines.append("")
    hist = Counter((s.format, _bucket(s.reasoning_tokens)) for s in samples)
    order = {_bucket(b): i for i, b in enumerate(_BINS)}
    hist_rows: list[tuple[object, ...]] = [
        (f, b, n) for (f, b), n in sorted(hist.items(), key=lambda x: (x[0][0], order[x[0][1]]))
    ]
    lines += [*_table(("format", "tokens", "samples"), hist_rows), ""]
    written: dict[str, str] = {"card": str(path)}
    png = path.with_name(path.name.removesuffix(".card.md") + ".lengths.png")
    if plot and samples and available("matplotlib"):
        _plot(samples, png)
        lines += [f"![reasoning lengths]({png.name})", ""]
        written["plot"] = str(png)
    elif plot:
        lines += [
            "(No histogram: matplotlib is not installed — `pip install flexjudge[plot]`.)",
            "",
        ]
    lines += ["## Filtering", ""]
    filt: list[tuple[object, ...]] = [
        ("input rows", st.rows),
        ("teacher generations read", st.generations),
        ("kept by the agreement filter", st.kept),
    ]
    filt += [(f"rejected: {k}", v) for k, v in sorted(st.rejected.items())]
    filt += [
        ("distinct prompts with a kept trace", st.prompts),
        (
            "winners unusable by the final policy (no </think> or not two 1-10 answers)",
            st.no_final_format,
        ),
        ("winners eligible for single-score (at least; see docs)", st.single_eligible),
        ("winners eligible for pairwise (at least; see docs)", st.pair_eligible),
        ("generation lines beyond the input", st.extra_generation_lines),
    ]
    lines += [*_table(("step", "count"), filt), ""]
    for i, (kept, won) in enumerate(zip(st.kept_by_file, st.winners_by_file, strict=True)):
        lines.append(f"- generation file {i}: kept {kept}, longest for {won} prompts")
    if st.problem_count:
        lines += ["", f"## Problems ({st.problem_count}; first {len(st.problems)})", ""]
        lines += [f"- `{p}`" for p in st.problems[:50]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return written


def _plot(samples: list[Sample], png: Path) -> None:
    matplotlib = require("matplotlib", "plot")
    matplotlib.use("Agg")
    plt = require("matplotlib.pyplot", "plot")
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, fmt, title in zip(
        axes,
        ("single", "pair"),
        ("single-score: Assistant-1 reasoning", "pairwise: whole trace"),
        strict=True,
    ):
        values = [s.reasoning_tokens for s in samples if s.format == fmt]
        ax.hist(values, bins=30, color="#4477aa")
        ax.set_title(f"{title} (n={len(values)})")
        ax.set_xlabel("tokens")
        ax.set_ylabel("samples")
    fig.tight_layout()
    fig.savefig(png, dpi=100)
    plt.close(fig)
