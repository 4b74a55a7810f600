"""Best-of-N figures (paper Fig. 4 left/middle): accuracy vs N, score vs correctness."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flexjudge.apps._bon_types import BestOfNReport


def plot_best_of_n(report: BestOfNReport, path: Path) -> Path:
    """Write a two-panel PNG.  Needs matplotlib (``MissingDependencyError`` otherwise)."""
    from flexjudge._util.optional import require

    matplotlib = require("matplotlib", "plot")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = report.summary["accuracy_vs_n"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    ns = [c["n"] for c in curve]
    # undefined points (no candidate scored, no label) are left out, never drawn as 0
    judged = [c for c in curve if c["accuracy_mean"] is not None]
    if judged:
        left.errorbar(
            [c["n"] for c in judged],
            [c["accuracy_mean"] for c in judged],
            yerr=[c["accuracy_std"] or 0.0 for c in judged],
            marker="o",
            capsize=3,
            label=f"judge ({report.summary['strategy']})",
        )
    else:
        left.text(0.5, 0.5, "no candidate was scored", ha="center", transform=left.transAxes)
    oracle = [c for c in curve if c["oracle_mean"] is not None]
    if oracle:
        left.plot(
            [c["n"] for c in oracle],
            [c["oracle_mean"] for c in oracle],
            "--",
            color="gray",
            label="oracle (any correct)",
        )
    rnd = report.summary.get("random_pick_accuracy")
    if rnd is not None:
        left.axhline(rnd, color="red", linestyle=":", label="random pick")
    if ns:
        left.set_xscale("log", base=2)
        left.set_xticks(ns, [str(n) for n in ns])
    left.set_xlabel("N (candidates)")
    left.set_ylabel("accuracy of the selected candidate")
    if judged or oracle or rnd is not None:
        left.legend(fontsize=8)
    left.set_title("Best-of-N")
    groups: dict[float, list[float]] = {}
    for rec in report.records:
        if rec.labels is None or rec.error is not None:
            continue
        for s, y in zip(rec.scores, rec.labels, strict=True):
            if s is not None:
                groups.setdefault(y, []).append(s)
    keys = sorted(groups)
    if keys:
        right.boxplot([groups[k] for k in keys])
        right.set_xticks(range(1, len(keys) + 1), [f"{k:g}" for k in keys])
    corr = report.summary.get("score_label_correlation", {})
    r = corr.get("pearson")
    right.set_title("judge score by label" + (f" (r = {r:.2f})" if r is not None else ""))
    right.set_xlabel("label (1 = correct)")
    right.set_ylabel("judge score")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
