"""Report files: JSON, CSV and Markdown tables laid out like the paper's (benchmarks/categories
as rows, metrics as columns, 95% bootstrap CIs), plus side-by-side comparison of runs."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flexjudge.bench._core import BenchScore
from flexjudge.errors import InputError


def _fmt(v: Any, key: str = "") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if key == "n" and isinstance(v, float):
        return str(int(v))
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def table_rows(score: BenchScore) -> list[dict[str, Any]]:
    """Flat rows ``{group, category, metric: value, ...}`` with the overall row first."""
    rows: list[dict[str, Any]] = [{"group": "overall", "category": "all", **score.metrics}]
    for group, cats in score.by_category.items():
        for cat, metrics in cats.items():
            rows.append({"group": group, "category": cat, **metrics})
    return rows


def to_markdown(score: BenchScore, meta: dict[str, Any] | None = None) -> str:
    meta = meta or {}
    out = [f"# {score.benchmark} / {score.split} ({score.mode} mode)", ""]
    if meta:
        out += [", ".join(f"{k}: `{v}`" for k, v in meta.items() if v is not None), ""]
    head = list(score.metrics)
    out += ["| metric | value | 95% CI |", "|---|---|---|"]
    for k in head:
        lo, hi = score.ci.get(k, (math.nan, math.nan))
        ci = "" if math.isnan(lo) else f"[{lo:.4f}, {hi:.4f}]"
        out.append(f"| {k} | {_fmt(score.metrics[k])} | {ci} |")
    out.append("")
    for group, cats in score.by_category.items():
        cols = sorted({k for m in cats.values() for k in m}, key=lambda k: (k == "n", k))
        out += [
            f"## by {group}",
            "",
            "| " + " | ".join([group, *cols]) + " |",
            "|" + "---|" * (len(cols) + 1),
        ]
        for cat, m in cats.items():
            out.append("| " + " | ".join([cat, *[_fmt(m.get(c), c) for c in cols]]) + " |")
        out.append("")
    c = score.counts
    pfr = score.parse_failure_rate
    out += [
        "## counts",
        "",
        "| records | judged rows | error rows | parse failures | parse-failure rate "
        "| wrong | correct |",
        "|---|---|---|---|---|---|---|",
        f"| {c.get('records', 0)} | {c.get('scored', 0)} | {c.get('errors', 0)} | "
        f"{c.get('parse_failures', 0)} | {_fmt(pfr)} | {c.get('wrong', 0)} | "
        f"{c.get('correct', 0)} |",
        "",
    ]
    if score.analyses:
        from flexjudge.bench._reliability import analyses_markdown

        out += analyses_markdown(score.analyses)
    if score.quirks:
        out += ["## reference quirks applied", "", *[f"- {q}" for q in score.quirks], ""]
    if score.notes:
        out += ["## notes", "", *[f"- {n}" for n in score.notes], ""]
    errors = [r for r in score.rows if r.error is not None][:20]
    if errors:
        out += ["## first error rows", "", "| id | trial | reason |", "|---|---|---|"]
        out += [f"| {r.id} | {r.trial} | {r.error} |" for r in errors]
        out.append("")
    return "\n".join(out)


def to_csv(score: BenchScore) -> str:
    rows = table_rows(score)
    cols = ["group", "category", *sorted({k for r in rows for k in r} - {"group", "category"})]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols)
    w.writeheader()
    for r in rows:
        w.writerow({k: _fmt(r.get(k), k) if k not in ("group", "category") else r[k] for k in cols})
    return buf.getvalue()


def write_report(
    score: BenchScore, out: Path, meta: dict[str, Any] | None = None, *, plots: bool = True
) -> dict[str, Path]:
    """Write ``report.json``, ``report.md``, ``report.csv``, ``scored.jsonl`` and (with
    matplotlib) PNG plots into ``out``; returns the paths.  A missing matplotlib only adds a
    note."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out / "report.json",
        "md": out / "report.md",
        "csv": out / "report.csv",
        "rows": out / "scored.jsonl",
    }
    if plots:
        from flexjudge.bench._plots import make_plots
        from flexjudge.errors import MissingDependencyError

        try:
            for name, p in make_plots(score, out).items():
                paths[f"plot:{name}"] = p
        except MissingDependencyError as exc:
            score.notes.append(f"plots skipped: {exc}")
    doc = {
        **score.to_dict(),
        "meta": meta or {},
        "plots": {k[5:]: str(v.name) for k, v in paths.items() if k.startswith("plot:")},
    }
    paths["json"].write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    paths["md"].write_text(to_markdown(score, meta), encoding="utf-8")
    paths["csv"].write_text(to_csv(score), encoding="utf-8")
    with open(paths["rows"], "w", encoding="utf-8") as fh:
        for r in score.rows:
            fh.write(json.dumps(r.to_dict(), ensure_ascii=False) + "\n")
    return paths


def compare_runs(dirs: Sequence[Path]) -> tuple[str, list[dict[str, Any]]]:
    """Side-by-side Markdown table of several run folders (one row per run, one column per
    benchmark/split metric, as the paper's tables).  Raises :class:`InputError` for a folder
    without ``report.json``."""
    runs: list[dict[str, Any]] = []
    for d in dirs:
        path = d / "report.json" if d.is_dir() else d
        if not path.is_file():
            raise InputError(f"no report.json in {d}", field="dirs")
        runs.append(json.loads(path.read_text(encoding="utf-8")))
    columns: list[str] = []
    for r in runs:
        for k in r.get("metrics", {}):
            col = f"{r['benchmark']}/{r['split']} {k}"
            if col not in columns:
                columns.append(col)
    lines = [
        "| run | mode | " + " | ".join(columns) + " | parse-fail | errors |",
        "|" + "---|" * (len(columns) + 4),
    ]
    table = []
    for d, r in zip(dirs, runs, strict=True):
        name = r.get("meta", {}).get("model") or d.name
        row = {"run": f"{d.name} ({name})", "mode": r["mode"]}
        for col in columns:
            bench_split, metric = col.rsplit(" ", 1)
            if f"{r['benchmark']}/{r['split']}" == bench_split:
                row[col] = r["metrics"].get(metric)
        row["parse_failure_rate"] = r.get("parse_failure_rate")
        row["errors"] = r.get("counts", {}).get("errors", 0)
        table.append(row)
        lines.append(
            f"| {row['run']} | {row['mode']} | "
            + " | ".join(_fmt(row.get(c)) for c in columns)
            + f" | {_fmt(row['parse_failure_rate'])} | {row['errors']} |"
        )
    return "\n".join(lines) + "\n" + _category_table(dirs, runs), table


def _category_table(dirs: Sequence[Path], runs: Sequence[dict[str, Any]]) -> str:
    """Per-category columns (e.g. MLLM-as-a-Judge's datasets), runs as rows, as in the paper."""
    columns: list[tuple[str, str, str, str]] = []
    for r in runs:
        for group, cats in r.get("by_category", {}).items():
            for cat, metrics in cats.items():
                metric = next((k for k in metrics if k != "n"), None)
                key = (f"{r['benchmark']}/{r['split']}", group, cat, metric or "")
                if metric is not None and key not in columns:
                    columns.append(key)
    if not columns:
        return ""
    heads = [f"{bs} {g}: {c} ({m})" for bs, g, c, m in columns]
    lines = ["", "| run | " + " | ".join(heads) + " |", "|" + "---|" * (len(heads) + 1)]
    for d, r in zip(dirs, runs, strict=True):
        cells = []
        for bs, g, c, m in columns:
            same = f"{r['benchmark']}/{r['split']}" == bs
            value = r.get("by_category", {}).get(g, {}).get(c, {}).get(m) if same else None
            cells.append(_fmt(value))
        lines.append(f"| {d.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_comparison(
    dirs: Sequence[Path],
    out: Path,
    md: str,
    table: list[dict[str, Any]],
    *,
    plots: bool = True,
    baseline: Path | None = None,
) -> dict[str, Path]:
    """``comparison.md``/``.json`` and, for runs with a ``scaling.json``, every run's curves on
    one figure (``scaling.png``) and their tables one after another (``scaling.md``)."""
    from flexjudge.bench._scaling import scaling_markdown

    out.mkdir(parents=True, exist_ok=True)
    paths = {"md": out / "comparison.md", "json": out / "comparison.json"}
    paths["md"].write_text(md, encoding="utf-8")
    paths["json"].write_text(json.dumps(table, indent=2), encoding="utf-8")
    curves = []
    for d in dirs:
        f = (d if d.is_dir() else d.parent) / "scaling.json"
        if f.is_file():
            curves.append((d.name, json.loads(f.read_text(encoding="utf-8"))))
    if curves:
        paths["scaling_md"] = out / "scaling.md"
        paths["scaling_md"].write_text(
            "\n".join(f"## {name}\n\n{scaling_markdown(t)}" for name, t in curves),
            encoding="utf-8",
        )
        if plots:
            from flexjudge.bench._plots import scaling_curves
            from flexjudge.errors import MissingDependencyError

            with contextlib.suppress(MissingDependencyError):
                paths["scaling_png"] = scaling_curves(curves, out / "scaling.png")
    if baseline is not None:
        from flexjudge.bench._reliability import gain_markdown, gain_vs_reasoning

        gains = gain_vs_reasoning(dirs, baseline)
        paths["gain_md"] = out / "gain_vs_reasoning.md"
        paths["gain_md"].write_text(gain_markdown(gains, baseline.name), encoding="utf-8")
        paths["gain_json"] = out / "gain_vs_reasoning.json"
        paths["gain_json"].write_text(json.dumps(gains, indent=2), encoding="utf-8")
        if plots:
            from flexjudge.bench._plots import gain_plot
            from flexjudge.errors import MissingDependencyError

            with contextlib.suppress(MissingDependencyError):
                paths["gain_png"] = gain_plot(gains, out / "gain_vs_reasoning.png")
    return paths
