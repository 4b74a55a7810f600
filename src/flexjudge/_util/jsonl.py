"""JSONL items in and results out for batch runs (``flexjudge judge run``, store export)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from flexjudge._util.json import loads
from flexjudge.errors import InputError


def read_items(path: Path) -> list[dict[str, Any] | Exception]:
    """Read a JSONL items file; an unparsable line becomes an :class:`InputError` naming
    ``file:line`` (in its place, so positions stay aligned).  A missing ``id`` becomes the
    line number.  Raises ``OSError`` when the file cannot be read."""
    items: list[dict[str, Any] | Exception] = []
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = loads(line)
            except json.JSONDecodeError as exc:
                items.append(InputError(f"invalid JSON: {exc.msg}", record=f"{path}:{lineno}"))
                continue
            if isinstance(obj, dict):
                obj.setdefault("id", str(lineno))
                items.append(obj)
            else:
                items.append(InputError("line is not a JSON object", record=f"{path}:{lineno}"))
    return items


def dumps_row(row: dict[str, Any]) -> str:
    """One output line's JSON (the same text the result store keeps for a record)."""
    return json.dumps(row, ensure_ascii=False)


def write_jsonl(path: Path, rows: Iterable[dict[str, Any] | str]) -> None:
    """Write ``rows`` (dicts, or lines already serialized) atomically: a temporary file,
    then a rename, so a crash never leaves a half-written output."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(row if isinstance(row, str) else dumps_row(row))
            fh.write("\n")
    tmp.replace(path)
