"""Batch runs from files (``flexjudge judge run``): one bad item never stops the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from flexjudge._results import JudgeResult


def run_items_file(
    *, model: str, backend: str, base_url: str | None, input_path: Path, output_path: Path,
    options: dict[str, Any], store_path: Path | None = None, ray: bool = False,
    num_workers: int = 2,
) -> dict[str, Any]:
    """Judge ``input_path`` (JSONL) into ``output_path`` (JSONL, input order, ids kept).

    Returns a summary ``{"items", "ok", "errors", "failed_parse", "output"}``.
    """
    from rich.progress import Progress

    from flexjudge.cli import read_items
    from flexjudge.judge import Judge

    raw = read_items(input_path)
    kwargs: dict[str, Any] = {}
    if base_url is not None:
        kwargs["base_url"] = base_url
    judge = Judge.from_pretrained(model, backend=backend, backend_kwargs=kwargs, **options)
    good = [r for r in raw if isinstance(r, dict)]
    with Progress(transient=True) as bar:
        task = bar.add_task("judging", total=len(good))
        results = judge.run(good, progress=lambda done, total: bar.update(task, completed=done))
    by_pos = iter(results)
    rows: list[dict[str, Any]] = []
    for r in raw:
        if isinstance(r, Exception):
            rows.append({"id": getattr(r, "record", None), "status": "error", "error": str(r)})
        else:
            rows.append(next(by_pos).to_dict())
    write_jsonl(output_path, rows)
    return summarize(results, rows, output_path)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)


def summarize(results: list[JudgeResult], rows: list[dict[str, Any]],
              output_path: Path) -> dict[str, Any]:
    return {
        "items": len(rows),
        "ok": sum(1 for r in rows if r.get("status") == "ok"),
        "errors": sum(1 for r in rows if r.get("status") == "error"),
        "failed_parse": sum(1 for r in rows if r.get("status") not in ("ok", "error")),
        "output": str(output_path),
    }
