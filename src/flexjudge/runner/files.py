"""Batch runs from files (``flexjudge judge run``): one bad item never stops the run.

With ``store_path`` the run is resumable: finished items are read back from the SQLite store
instead of being judged again, every batch is committed as it ends, and the run writes a
manifest (input position → item key) so :meth:`ResultStore.export` can rebuild the output
from the store alone after a crash.  With ``ray`` items are sharded over Ray workers
(:func:`flexjudge.runner.ray.run_ray`); the workers share the same store file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flexjudge._util.jsonl import read_items, write_jsonl
from flexjudge._util.paths import MEDIA_KEYS, resolve_media
from flexjudge.judge.config import JudgeConfig
from flexjudge.judge.types import JudgeResult

#: settings that change how a run executes, never what it produces (sampling is seeded per
#: request, independently of batching), so they stay out of the run id
EXECUTION_ONLY = frozenset({"batch_size"})
if TYPE_CHECKING:
    from flexjudge.judge import Judge


def run_id_for(input_path: Path, model: str, backend: str, options: dict[str, Any]) -> str:
    """A stable id of "this input file judged with these settings" (names a store manifest)."""
    h = hashlib.sha256()
    settings = {k: v for k, v in options.items() if k not in EXECUTION_ONLY}
    h.update(
        json.dumps(
            {"model": model, "backend": backend, "options": settings}, sort_keys=True, default=str
        ).encode()
    )
    with open(input_path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:24]


def run_items_file(
    *,
    model: str,
    backend: str,
    base_url: str | None,
    input_path: Path,
    output_path: Path,
    options: dict[str, Any],
    store_path: Path | None = None,
    ray: bool = False,
    num_workers: int = 2,
    backend_kwargs: dict[str, Any] | None = None,
    media_root: Path | None = None,
) -> dict[str, Any]:
    """Judge ``input_path`` (JSONL) into ``output_path`` (JSONL, input order, ids kept).

    Relative media paths in the items resolve against ``media_root``, by default the input
    file's folder.  Settings wrong for the whole run (unknown ``protocol``, budget forcing
    on a backend that cannot continue, an unreachable server) raise before the first batch
    (:meth:`flexjudge.Judge.preflight`); per-item problems become error rows.

    Returns a summary ``{"items", "ok", "errors", "failed_parse", "output", "mode"}`` plus
    ``"resumed"`` (results read back from the store instead of judged: every store hit,
    whichever earlier run or batch size wrote it) with a store and ``"position_bias"``
    (:func:`flexjudge.position_bias`) with ``swap``.  Raises ``OSError`` for an unreadable
    input file and :class:`flexjudge.store.StoreError` for an unusable store.
    """
    raw = read_items(input_path)
    kwargs: dict[str, Any] = dict(backend_kwargs or {})
    if base_url is not None:
        kwargs["base_url"] = base_url
    base_dir = media_root if media_root is not None else input_path.parent
    positions = [i for i, r in enumerate(raw) if isinstance(r, dict)]
    good = [_with_media_root(r, base_dir) for r in raw if isinstance(r, dict)]
    judge = None if ray else _load_judge(model, backend, kwargs, options)
    run_id = run_id_for(input_path, model, backend, options)
    store = None
    if store_path is not None:
        from flexjudge.store import ResultStore

        store = ResultStore(store_path)
        store.begin_run(run_id, len(raw), str(input_path))
        store.record_manifest(
            run_id,
            [(i, None, _input_error_row(r)) for i, r in enumerate(raw) if isinstance(r, Exception)],
        )
    try:
        if ray:
            from flexjudge.runner.ray import run_ray

            results = run_ray(
                good,
                model=model,
                backend=backend,
                backend_kwargs=kwargs,
                num_workers=num_workers,
                store_path=store_path,
                positions=positions,
                run_id=run_id,
                **options,
            )
        else:
            assert judge is not None
            results = _run_local(judge, good, store, positions, run_id)
        damaged = dict(store.damaged) if store is not None else {}
    finally:
        if store is not None:
            store.close()
        if judge is not None:
            judge.backend.close()
    by_pos = iter(results)
    rows: list[dict[str, Any] | str] = []
    statuses: list[str] = []
    for r in raw:
        if isinstance(r, Exception):
            rows.append(_input_error_row(r))
            statuses.append("error")
            continue
        result = next(by_pos)
        # a resumed result is written as stored: the same text to_dict would give
        rows.append(result.stored_json() or result.to_dict())
        statuses.append(result.status)
    write_jsonl(output_path, rows)
    summary = summarize(statuses, output_path)
    # bench and judge default to different modes (reference vs clean): always say which ran
    summary["mode"] = options.get("mode") or JudgeConfig.mode
    if store is not None:
        summary["resumed"] = sum(1 for r in results if r.resumed)  # store hits, any run
        summary["store"] = str(store_path)
        summary["run"] = run_id
        if damaged:  # skipped on read and judged again
            summary["damaged_rejudged"] = [
                {"key": key, "row": seq, "reason": reason} for key, (seq, reason) in damaged.items()
            ]
    if options.get("swap"):
        from flexjudge.judge.bias import position_bias

        summary["position_bias"] = position_bias(results).to_dict()
    return summary


def _load_judge(model: str, backend: str, kwargs: dict[str, Any], options: dict[str, Any]) -> Judge:
    """The run's judge, checked for run-wide problems before anything is judged."""
    from flexjudge.judge import Judge

    judge = Judge.from_pretrained(model, backend=backend, backend_kwargs=kwargs, **options)
    try:
        judge.preflight()
    except BaseException:
        judge.backend.close()
        raise
    return judge


def _run_local(
    judge: Judge,
    good: list[dict[str, Any]],
    store: Any,
    positions: list[int],
    run_id: str,
) -> list[JudgeResult]:
    from rich.console import Console
    from rich.progress import Progress

    # progress belongs on stderr: stdout carries only the summary
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("judging", total=len(good))
        return judge.run(
            good,
            store=store,
            positions=positions,
            run_id=run_id,
            progress=lambda done, total: bar.update(task, completed=done),
        )


def _with_media_root(item: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    resolved = dict(item)
    for key in MEDIA_KEYS:
        value = item.get(key)
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list):
            resolved[key] = resolve_media(value, base_dir)
    return resolved


def _input_error_row(exc: Exception) -> dict[str, Any]:
    return {"id": getattr(exc, "record", None), "status": "error", "error": str(exc)}


def summarize(statuses: list[str], output_path: Path) -> dict[str, Any]:
    return {
        "items": len(statuses),
        "ok": statuses.count("ok"),
        "errors": statuses.count("error"),
        "failed_parse": sum(1 for s in statuses if s not in ("ok", "error")),
        "output": str(output_path),
    }
