"""Rebuilding a run's output file from the store alone, saying what it cannot account for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flexjudge._util.jsonl import write_jsonl
from flexjudge.store._integrity import StoreError


def export_run(store: Any, output: Path, run: str | None = None) -> dict[str, Any]:
    """Write ``run``'s rows (default: the latest run) of ``store`` (a
    :class:`~flexjudge.store.ResultStore`) to ``output`` in input order.

    Every intact record is written.  The report always has ``rows`` (written) and
    ``missing`` (keyed positions whose result was never stored: the run was killed before
    their batch committed); input-error rows come from the manifest.  It adds, only when
    there is something to say:

    * ``damaged``: ``[{"position", "key", "row", "reason"}]`` for stored records that
      fail their integrity check (left out; a resumed run judges them again);
    * ``unaccounted``: input positions with no manifest entry at all (the run was killed
      while planning, before it noted which key belongs where), with a ``note``.

    Raises :class:`~flexjudge.store.StoreError` when the store has no such run.
    """
    runs = store.runs()
    run = run or (runs[-1] if runs else None)
    if run is None or run not in runs:
        raise StoreError(f"result store {store.path} has no run {run!r} to export")
    entries = store.manifest(run)
    stored = store.get_many([k for _, k, _ in entries if k is not None])
    rows: list[dict[str, Any]] = []
    missing = 0
    damaged: list[dict[str, Any]] = []
    for position, key, record in entries:
        row = stored.get(key) if key is not None else record
        if key is not None and row is not None and record and "id" in record:
            # same content under another id: the key is shared, the id is the item's
            row = {**row, "id": record["id"]}
        if row is not None:
            rows.append(row)
        elif key is not None and key in store.damaged:
            seq, reason = store.damaged[key]
            damaged.append({"position": position, "key": key, "row": seq, "reason": reason})
        else:
            missing += 1
    write_jsonl(output, rows)
    report: dict[str, Any] = {"rows": len(rows), "missing": missing}
    if damaged:
        report["damaged"] = damaged
    total = store.run_positions(run)
    if total is not None and total > len(entries):
        report["unaccounted"] = total - len(entries)
        report["note"] = (
            f"{total - len(entries)} of the run's {total} input positions have no manifest "
            "entry: the run stopped while planning. Rerun the same command to finish it."
        )
    return report
