"""JSONL in and out: the one reader every command uses for its input files, and the atomic
writer for results.

:func:`iter_json_records` accepts what users actually hand over: JSONL (with or without a
UTF-8 byte-order mark) or a JSON array of objects.  A line that cannot be used (not UTF-8,
not JSON, a non-finite number, not an object) becomes an :class:`InputError` naming
``file:line`` in its place, so a long run records it and goes on.  Non-finite numbers
(``NaN``, ``Infinity``, ``1e999``) are refused: Python's ``json`` would accept them and
they would flow into scores and summaries that are then no longer JSON.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from flexjudge.errors import InputError

_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class JsonRecord(NamedTuple):
    """One position of an input file: ``where`` is ``label:line`` (JSONL) or ``label[i]``
    (JSON array), ``number`` the line number (JSONL) or element number from 1 (array), and
    ``value`` the decoded object or the :class:`InputError` that replaced it."""

    where: str
    number: int
    value: dict[str, Any] | InputError


class _NonFinite(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonFinite(f"non-finite number {name} is not allowed")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFinite(f"number {text} is out of range (not finite)")
    return value


def loads_strict(text: str) -> Any:
    """``json.loads`` that refuses ``NaN``/``Infinity`` and floats that overflow.  Raises
    ``json.JSONDecodeError`` for both bad syntax and a non-finite number (its message says
    which), like ``orjson.loads``."""
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except _NonFinite as exc:
        raise json.JSONDecodeError(str(exc), text, 0) from None


def _decode_line(raw: bytes, number: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"line {number} is not UTF-8 (byte 0x{raw[exc.start]:02x} at column "
            f"{exc.start + 1}); save the file as UTF-8"
        ) from None


def _parse(text: str) -> dict[str, Any]:
    try:
        value = loads_strict(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object, got a JSON {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return "number"


def iter_json_records(path: str | Path, *, label: str | None = None) -> Iterator[JsonRecord]:
    """Yield every record of a JSONL file or a JSON array file, in order.

    ``label`` names the file in ``where`` (default: the path as given).  Blank lines are
    skipped (they still count in line numbers).  Raises :class:`InputError` naming the file
    when it cannot be read, is UTF-16, or starts with ``[`` but is not a valid JSON array.
    """
    p = Path(path)
    name = str(p) if label is None else label
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}", field="path") from exc
    if data.startswith(_UTF16_BOMS):
        raise InputError(f"{p} is UTF-16; save it as UTF-8 (JSONL)", field="path")
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if data.lstrip()[:1] == b"[":
        yield from _array_records(data, p, name)
        return
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"{name}:{number}"
        try:
            value: dict[str, Any] | InputError = _parse(_decode_line(raw, number))
        except ValueError as exc:
            value = InputError(str(exc), record=where)
        yield JsonRecord(where, number, value)


def read_text_utf8(path: str | Path) -> str:
    """A whole text input file (a UTF-8 BOM is dropped).  Raises :class:`InputError` naming
    the file and the line when it is not UTF-8, or when it cannot be read."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}", field="path") from exc
    data = data.removeprefix(_BOM)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{p}: line {line} is not UTF-8; save the file as UTF-8") from None


def _array_records(data: bytes, path: Path, name: str) -> Iterator[JsonRecord]:
    hint = "JSONL needs one JSON object per line; a JSON array of objects is also accepted"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}: line {line} is not UTF-8; save the file as UTF-8") from None
    try:
        values = loads_strict(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{path} starts with '[' but is not a valid JSON array: {exc.msg} "
            f"(line {exc.lineno}, column {exc.colno}). {hint}",
            field="path",
        ) from None
    except ValueError as exc:
        raise InputError(f"{path}: {exc}", field="path") from None
    if not isinstance(values, list):  # pragma: no cover - '[' always starts an array
        raise InputError(f"{path}: expected a JSON array. {hint}", field="path")
    for i, value in enumerate(values):
        where = f"{name}[{i}]"
        record: dict[str, Any] | InputError = value
        if not isinstance(value, dict):
            record = InputError(
                f"expected a JSON object, got a JSON {_json_type(value)}", record=where
            )
        yield JsonRecord(where, i + 1, record)


def read_items(path: Path) -> list[dict[str, Any] | Exception]:
    """Read a ``judge run`` items file (see :func:`iter_json_records`); a bad line becomes
    an :class:`InputError` in its place, so positions stay aligned.  A missing ``id``
    becomes the line number.  Raises :class:`InputError` when the file cannot be read."""
    items: list[dict[str, Any] | Exception] = []
    for rec in iter_json_records(path):
        if isinstance(rec.value, dict):
            rec.value.setdefault("id", str(rec.number))
        items.append(rec.value)
    return items


def finite_or_none(value: Any) -> Any:
    """``value`` with every non-finite float (an undefined metric) replaced by ``None``,
    recursively through dicts, lists and tuples: what a summary writes as ``null``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    return value


def dumps_summary(summary: Any, indent: int | None = 2) -> str:
    """A summary/report as strict JSON: undefined metrics become ``null``, never ``NaN``."""
    return json.dumps(finite_or_none(summary), indent=indent, allow_nan=False, default=str)


def dumps_row(row: dict[str, Any]) -> str:
    """One output line's JSON (the same text the result store keeps for a record)."""
    return json.dumps(row, ensure_ascii=False)


def write_jsonl(path: Path, rows: Iterable[dict[str, Any] | str]) -> None:
    """Write ``rows`` (dicts, or lines already serialized) atomically and durably: a
    temporary file, flushed and fsynced, then a rename, so a crash never leaves a
    half-written output.  The temporary file is removed when writing fails; the
    :class:`OSError` (a full disk, a read-only folder) is re-raised naming ``path``."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(row if isinstance(row, str) else dumps_row(row))
                fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        reason = exc.strerror or str(exc)
        raise OSError(exc.errno, f"cannot write {path}: {reason}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    # the rename itself is durable only once the folder's entry is on disk
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
