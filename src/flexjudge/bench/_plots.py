"""PNG plots of a scored run (matplotlib, Agg backend, imported lazily — the ``plot`` extra):
judge-vs-human scatter, confusion matrix, length bias (paper Fig. 11), position bias
(Fig. 12) and accuracy gain vs reasoning length (Fig. 5)."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from flexjudge.bench._core import BenchScore, ScoredRow


def _plt() -> Any:
    from flexjudge._util.optional import require

    mpl = require("matplotlib", "plot")
    mpl.use("Agg")
    return require("matplotlib.pyplot", "plot")


def make_plots(score: BenchScore, out: Path) -> dict[str, Path]:
    """The plots that apply to this score; raises ``MissingDependencyError`` without
    matplotlib."""
    plt = _plt()
    rows = [r for r in score.rows if r.error is None]
    made: dict[str, Path] = {}
    title = f"{score.benchmark}/{score.split} ({score.mode})"
    if score.kind == "correlation":
        pts = [
            (r.human, r.judge)
            for r in rows
            if r.judge is not None and r.human is not None and not r.failed
        ]
        if pts:
            fig, ax = plt.subplots(figsize=(4.5, 4))
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=10, alpha=0.6)
            ax.set_xlabel("human")
            ax.set_ylabel("judge")
            ax.set_title(title, fontsize=9)
            made["scatter"] = _save(plt, fig, out / "scatter.png")
    if score.kind == "classification" and rows:
        made["confusion"] = _confusion(plt, rows, score, out / "confusion.png", title)
        pos = [r for r in rows if r.first_position is not None]
        if pos:
            human = score.analyses.get("position_bias", {}).get("human")
            made["position_bias"] = _position(plt, pos, out / "position_bias.png", title, human)
        lens = [r for r in rows if r.len_diff is not None and r.correct is not None]
        if len(lens) >= 2:
            table = score.analyses.get("length_bias", [])
            made["length_bias"] = _length(plt, lens, out / "length_bias.png", title, table)
    reasoning = [
        r
        for r in rows
        if r.reasoning_words is not None and (r.correct is not None or r.judge is not None)
    ]
    if score.kind == "classification" and len(reasoning) >= 2:
        made["reasoning_length"] = _reasoning(plt, reasoning, out / "reasoning_length.png", title)
    return made


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _confusion(plt: Any, rows: list[ScoredRow], score: BenchScore, path: Path, title: str) -> Path:
    golds = sorted({str(r.gold) for r in rows})
    preds = sorted({str(r.pred) for r in rows})
    m = np.zeros((len(golds), len(preds)))
    for r in rows:
        m[golds.index(str(r.gold)), preds.index(str(r.pred))] += 1
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * len(preds), 1.2 + 0.7 * len(golds)))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(preds)), preds, rotation=30, fontsize=8)
    ax.set_yticks(range(len(golds)), golds, fontsize=8)
    for i in range(len(golds)):
        for j in range(len(preds)):
            ax.text(j, i, int(m[i, j]), ha="center", va="center", fontsize=8)
    ax.set_xlabel("judge")
    ax.set_ylabel("human")
    ax.set_title(title, fontsize=9)
    return _save(plt, fig, path)


def position_rates(rows: list[ScoredRow]) -> dict[str, float]:
    """Share of parsed verdicts preferring the first shown response, the second, or a tie."""
    c = Counter(r.first_position for r in rows if r.first_position is not None)
    n = sum(c.values()) or 1
    return {k: c.get(k, 0) / n for k in ("first", "second", "tie")}


def _position(
    plt: Any,
    rows: list[ScoredRow],
    path: Path,
    title: str,
    human: dict[str, float | None] | None = None,
) -> Path:
    per: dict[int, list[ScoredRow]] = defaultdict(list)
    for r in rows:
        per[r.trial].append(r)
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    groups = len(per) + (1 if human and any(v is not None for v in human.values()) else 0)
    width = 0.8 / max(groups, 1)
    for k, (t, rs) in enumerate(sorted(per.items())):
        rates = position_rates(rs)
        ax.bar(np.arange(3) + k * width, list(rates.values()), width, label=f"trial {t}")
    if groups > len(per) and human is not None:
        shares = [human.get(k) or 0.0 for k in ("first", "second", "tie")]
        ax.bar(np.arange(3) + len(per) * width, shares, width, label="humans", hatch="//")
    ax.set_xticks(np.arange(3) + 0.4 - width / 2, ["first", "second", "tie"])
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_ylabel("preference rate")
    ax.set_title(f"position bias: {title}", fontsize=9)
    ax.legend(fontsize=7)
    return _save(plt, fig, path)


def _length(
    plt: Any,
    rows: list[ScoredRow],
    path: Path,
    title: str,
    table: list[dict[str, Any]] | None = None,
) -> Path:
    diffs = np.array([r.len_diff for r in rows], dtype=float)
    edges = np.unique(np.quantile(diffs, np.linspace(0, 1, 6)))
    bins = np.clip(np.searchsorted(edges, diffs, side="right") - 1, 0, max(len(edges) - 2, 0))
    xs, acc, longer = [], [], []
    for b in sorted(set(bins.tolist())):
        sel = [r for r, k in zip(rows, bins, strict=True) if k == b]
        xs.append(float(np.mean([r.len_diff for r in sel if r.len_diff is not None])))
        acc.append(float(np.mean([bool(r.correct) for r in sel])))
        prefs = [r for r in sel if r.pred in ("A", "B") and r.len_diff]
        longer.append(
            float(np.mean([(r.pred == "A") == ((r.len_diff or 0) > 0) for r in prefs]))
            if prefs
            else np.nan
        )
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.plot(xs, acc, "o-", label="accuracy")
    ax.plot(xs, longer, "s--", label="judge prefers longer")
    human = [(b["len_diff"], b["human_prefers_longer"]) for b in table or []]
    human = [(x, y) for x, y in human if y is not None]
    if human:
        ax.plot([x for x, _ in human], [y for _, y in human], "^:", label="humans prefer longer")
    ax.set_xlabel("words(response 1) − words(response 2)")
    ax.set_title(f"length bias: {title}", fontsize=9)
    ax.legend(fontsize=7)
    return _save(plt, fig, path)


def _reasoning(plt: Any, rows: list[ScoredRow], path: Path, title: str) -> Path:
    words = np.array([r.reasoning_words for r in rows], dtype=float)
    overall = float(np.mean([bool(r.correct) for r in rows]))
    edges = np.unique(np.quantile(words, np.linspace(0, 1, 6)))
    bins = np.clip(np.searchsorted(edges, words, side="right") - 1, 0, max(len(edges) - 2, 0))
    xs, gain = [], []
    for b in sorted(set(bins.tolist())):
        sel = [r for r, k in zip(rows, bins, strict=True) if k == b]
        xs.append(float(np.mean([r.reasoning_words or 0 for r in sel])))
        gain.append(float(np.mean([bool(r.correct) for r in sel])) - overall)
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.bar(range(len(xs)), gain)
    ax.set_xticks(range(len(xs)), [f"{x:.0f}" for x in xs], fontsize=8)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("reasoning length (words, bin mean)")
    ax.set_ylabel("accuracy − overall")
    ax.set_title(f"accuracy gain vs reasoning length: {title}", fontsize=9)
    return _save(plt, fig, path)


def scaling_curves(runs: list[tuple[str, dict[str, Any]]], path: Path) -> Path:
    """Fig. 6: the headline metric vs votes (at the last round) and vs budget-forcing rounds
    (at one vote), one line per run, 95% bootstrap CIs as bands."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for label, table in runs:
        grid = table["grid"]
        last = table["rounds"]
        for ax, pts, x in (
            (axes[0], [g for g in grid if g["round"] == last], "votes"),
            (axes[1], [g for g in grid if g["votes"] == 1], "round"),
        ):
            pts = [g for g in pts if g["metrics"].get(table["metric"]) is not None]
            if not pts:
                continue
            xs = [g[x] for g in pts]
            ys = [g["metrics"][table["metric"]] for g in pts]
            ax.plot(xs, ys, marker="o", label=label or None)
            bands = [(g[x], *g["ci95"]) for g in pts if None not in g["ci95"]]
            if bands:
                ax.fill_between(
                    [b[0] for b in bands], [b[1] for b in bands], [b[2] for b in bands], alpha=0.2
                )
    metric = runs[0][1]["metric"] if runs else ""
    axes[0].set_xlabel("votes (majority of the first k samples)")
    axes[1].set_xlabel('budget-forcing rounds ("Wait")')
    from matplotlib.ticker import MaxNLocator

    for ax in axes:
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if any(label for label, _ in runs):
        axes[0].legend(fontsize=7)
    return _save(plt, fig, path)


def gain_plot(rows: list[dict[str, Any]], path: Path) -> Path:
    """Fig. 5 right: gain over the baseline against mean reasoning length, one point per run
    and dataset."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    pts = [r for r in rows if r["gain"] is not None and r["reasoning_words"] is not None]
    for run in sorted({r["run"] for r in pts}):
        sel = [r for r in pts if r["run"] == run]
        ax.scatter([r["reasoning_words"] for r in sel], [r["gain"] for r in sel], label=run)
        for r in sel:
            ax.annotate(r["dataset"], (r["reasoning_words"], r["gain"]), fontsize=6)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel("mean reasoning length (words)")
    ax.set_ylabel("gain over baseline")
    if pts:
        ax.legend(fontsize=7)
    return _save(plt, fig, path)
