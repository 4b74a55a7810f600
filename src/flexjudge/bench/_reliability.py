"""Reliability against humans (paper Figs. 5 right, 11, 12): length bias and position bias of
the judge next to the human labels' own, and the gain over a baseline run against the mean
reasoning length per dataset.  Each is a table here; ``_plots`` draws them."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flexjudge.bench._core import BenchScore, Prediction, ScoredRow
from flexjudge.bench._pairs import positional, unswap
from flexjudge.errors import InputError

POSITIONS = ("first", "second", "tie")


def _share(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def length_bias(rows: Sequence[ScoredRow], bins: int = 5) -> list[dict[str, Any]]:
    """Per bin of ``words(response 1) - words(response 2)`` (quantile bins): how often the
    judge and the humans prefer the longer response (ties and equal lengths left out)."""
    usable = [r for r in rows if r.error is None and r.len_diff is not None]
    if len(usable) < 2:
        return []
    diffs = np.array([r.len_diff for r in usable], dtype=float)
    edges = np.quantile(diffs, np.linspace(0, 1, bins + 1))
    # 0 is always an edge, so no bin mixes longer-first with longer-second pairs
    edges = np.unique(np.append(edges, [0.0] if diffs.min() < 0 < diffs.max() else []))
    which = np.clip(np.searchsorted(edges, diffs, side="right") - 1, 0, max(len(edges) - 2, 0))
    out = []
    for b in sorted(set(which.tolist())):
        sel = [r for r, k in zip(usable, which, strict=True) if k == b]
        judge = [
            (r.pred == "A") == ((r.len_diff or 0) > 0)
            for r in sel
            if r.pred in ("A", "B") and r.len_diff
        ]
        human = [
            (r.gold == "A") == ((r.len_diff or 0) > 0)
            for r in sel
            if r.gold in ("A", "B") and r.len_diff
        ]
        out.append(
            {
                "len_diff": float(np.mean([r.len_diff or 0.0 for r in sel])),
                "n": len(sel),
                "judge_prefers_longer": _share(judge),
                "human_prefers_longer": _share(human),
                "accuracy": _share([bool(r.correct) for r in sel if r.correct is not None]),
            }
        )
    return out


def position_bias(rows: Sequence[ScoredRow], preds: Sequence[Prediction]) -> dict[str, Any]:
    """Shares of verdicts for the response shown first / second / a tie, for the judge (its
    parsed verdicts) and for the humans (the gold label in the order it was shown)."""
    order = {(p.id, p.trial): p.order for p in preds}
    judge = Counter(r.first_position for r in rows if r.error is None and r.first_position)
    human: Counter[str] = Counter()
    for r in rows:
        if r.error is None and r.gold in ("A", "B", "tie"):
            shown = unswap(str(r.gold), order.get((r.id, r.trial), ()))
            human[positional(shown) or "tie"] += 1
    nj, nh = sum(judge.values()), sum(human.values())
    return {
        "judge": {k: judge[k] / nj if nj else None for k in POSITIONS},
        "human": {k: human[k] / nh if nh else None for k in POSITIONS},
        "n_judge": nj,
        "n_human": nh,
    }


def analyses(score: BenchScore, preds: Sequence[Prediction]) -> dict[str, Any]:
    """The reliability tables that apply to ``score`` (pairwise classification only)."""
    if score.kind != "classification":
        return {}
    out: dict[str, Any] = {}
    lb = length_bias(score.rows)
    if lb:
        out["length_bias"] = lb
    pb = position_bias(score.rows, preds)
    if pb["n_judge"] or pb["n_human"]:
        out["position_bias"] = pb
    return out


def analyses_markdown(tables: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if "length_bias" in tables:
        out += [
            "## length bias (Fig. 11): preference for the longer response",
            "",
            "| words(1) − words(2) | n | judge | humans | accuracy |",
            "|---|---|---|---|---|",
        ]
        for b in tables["length_bias"]:
            cells = [b["judge_prefers_longer"], b["human_prefers_longer"], b["accuracy"]]
            out.append(
                f"| {b['len_diff']:.1f} | {b['n']} | " + " | ".join(_f(c) for c in cells) + " |"
            )
        out.append("")
    if "position_bias" in tables:
        pb = tables["position_bias"]
        out += [
            "## position bias (Fig. 12): verdicts by position shown",
            "",
            "| who | first | second | tie | n |",
            "|---|---|---|---|---|",
        ]
        for who in ("judge", "human"):
            shares = " | ".join(_f(pb[who][k]) for k in POSITIONS)
            out.append(f"| {who} | {shares} | {pb[f'n_{who}']} |")
        out.append("")
    return out


def _f(v: float | None) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"


# ------------------------------------------------------------------ gain vs reasoning length
def _load(run: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    d = run if run.is_dir() else run.parent
    if not (d / "report.json").is_file():
        raise InputError(f"no report.json in {run}", field="baseline")
    report = json.loads((d / "report.json").read_text(encoding="utf-8"))
    rows_path = d / "scored.jsonl"
    rows = (
        [json.loads(x) for x in rows_path.read_text(encoding="utf-8").splitlines() if x.strip()]
        if rows_path.is_file()
        else []
    )
    return report, rows


def gain_vs_reasoning(runs: Sequence[Path], baseline: Path) -> list[dict[str, Any]]:
    """Per run and dataset (the first per-category table: MLLM-as-a-Judge's datasets,
    VL-RewardBench's tasks, ...; the whole split when there is none): the headline metric's
    gain over ``baseline`` on the same benchmark/split, and the run's mean reasoning length in
    words over its judged rows.  Raises :class:`InputError` for a run without a report."""
    base, _ = _load(baseline)
    out = []
    for run in runs:
        report, rows = _load(run)
        if (report["benchmark"], report["split"]) != (base["benchmark"], base["split"]):
            continue
        metric = next(iter(report.get("ci95") or report["metrics"]), None)
        if metric is None or metric not in report["metrics"]:
            metric = next(iter(report["metrics"]))
        group = next(iter(report.get("by_category") or {}), None)
        words: dict[str, list[int]] = defaultdict(list)
        for r in rows:
            if r.get("error") is None and r.get("reasoning_words") is not None:
                cat = (r.get("categories") or {}).get(group, "all") if group else "all"
                words[cat].append(int(r["reasoning_words"]))
        if group is None:
            cats = {"all": (report["metrics"].get(metric), base["metrics"].get(metric))}
        else:
            mine, theirs = report["by_category"][group], base.get("by_category", {}).get(group, {})
            key = next((k for k in next(iter(mine.values()), {}) if k != "n"), metric)
            cats = {c: (m.get(key), theirs.get(c, {}).get(key)) for c, m in mine.items()}
        for cat, (value, ref) in cats.items():
            w = words.get(cat, [])
            out.append(
                {
                    "run": run.name,
                    "dataset": cat,
                    "metric": metric,
                    "value": value,
                    "baseline": ref,
                    "gain": None if value is None or ref is None else value - ref,
                    "reasoning_words": sum(w) / len(w) if w else None,
                }
            )
    return out


def gain_markdown(rows: Sequence[dict[str, Any]], baseline: str) -> str:
    lines = [
        f"# gain over {baseline} vs reasoning length (Fig. 5 right)",
        "",
        "| run | dataset | metric | value | baseline | gain | mean reasoning words |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['run']} | {r['dataset']} | {r['metric']} | {_f(r['value'])} | "
            f"{_f(r['baseline'])} | {_f(r['gain'])} | {_f(r['reasoning_words'])} |"
        )
    return "\n".join(lines) + "\n"
