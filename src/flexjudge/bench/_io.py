"""Reading benchmark files (JSON list, JSONL, CSV, text lists) with errors that name the
file, the record and the field."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from flexjudge._util.jsonl import iter_json_records, loads_strict, read_text_utf8
from flexjudge.bench._formats import (
    TABULAR_SUFFIXES,
    dataset_rows,
    is_tabular_dir,
    read_table_file,
    read_tabular_dir,
    sniff,
)
from flexjudge.errors import InputError

if TYPE_CHECKING:
    from flexjudge.bench._core import BenchRecord

Row = TypeVar("Row")


@dataclass(frozen=True)
class LoadConfig:
    """Where a benchmark split comes from.

    ``data``: a local file or folder (benchmark-specific layout, see docs/benchmarks.md);
    ``None`` loads ``hf_id`` with ``datasets.load_dataset`` (needs the hub).  ``media_root``:
    folder that relative media paths are resolved against (default: next to ``data``).
    ``gold``: an extra gold-label file (JudgeLM GPT-4 judgments, PandaLM test set).
    """

    split: str
    data: Path | None = None
    media_root: Path | None = None
    gold: Path | None = None
    limit: int | None = None


def read_records(path: Path, split: str | None = None) -> list[tuple[str, Any]]:
    """``[(where, record)]`` from a ``.json`` list (or ``{"data": [...]}``), a ``.jsonl``, a
    parquet or arrow file (recognised by content, whatever its name) or a ``datasets``
    folder (``save_to_disk`` output, ``load_dataset`` cache, parquet snapshot; ``split`` picks
    the split of a DatasetDict or the matching shards).

    ``where`` is ``file:line`` (JSONL) or ``file[i]``.  A line that is not valid JSON is
    returned as an :class:`InputError` instance in place of the record so callers can turn
    it into an error row.  Raises :class:`InputError` (one message, no traceback) when the
    file is missing or in none of these formats.
    """
    if path.is_dir():
        if is_tabular_dir(path):
            return read_tabular_dir(path, split)
        raise InputError(
            f"{path} is a folder without benchmark files (JSON, JSONL, parquet, arrow or a "
            "datasets folder)",
            field="data",
        )
    if not path.is_file():
        raise InputError(f"benchmark file not found: {path}", field="data")
    kind = sniff(path)
    if kind is not None:
        return read_table_file(path, kind)
    if path.suffix in TABULAR_SUFFIXES:
        raise InputError(
            f"{path} is not a {path.suffix[1:]} file (wrong magic bytes)", field="data"
        )
    name = path.name
    with open(path, "rb") as fh:
        head = fh.read(4096).removeprefix(b"\xef\xbb\xbf").lstrip()
    if path.suffix == ".jsonl" or (path.suffix != ".json" and head[:1] != b"["):
        return [(rec.where, rec.value) for rec in iter_json_records(path, label=name)]
    try:
        data = loads_strict(_text(path))
    except ValueError as exc:
        raise InputError(f"{path} is not valid JSON: {exc}", field="data") from exc
    if isinstance(data, Mapping):
        data = next((v for v in data.values() if isinstance(v, list)), None)
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of records", field="data")
    return [(f"{name}[{i}]", r) for i, r in enumerate(data)]


def _text(path: Path) -> str:
    """The file as UTF-8 text (a BOM is dropped); one :class:`InputError` naming the line
    otherwise (:func:`~flexjudge._util.jsonl.read_text_utf8`)."""
    try:
        return read_text_utf8(path)
    except InputError as exc:
        raise InputError(
            f"{exc.message}: it is neither UTF-8 text (JSON, JSONL, CSV) nor parquet/arrow; "
            "pass the benchmark file as the publisher distributes it",
            field="data",
        ) from None


def read_csv_rows(path: Path) -> list[tuple[str, dict[str, str]]]:
    if not path.is_file():
        raise InputError(f"benchmark file not found: {path}", field="data")
    reader = csv.DictReader(io.StringIO(_text(path), newline=""))
    return [(f"{path.name}:{i + 2}", row) for i, row in enumerate(reader)]


def read_lines(path: Path, *, skip_header: bool = False) -> Iterator[tuple[str, str]]:
    if not path.is_file():
        raise InputError(f"benchmark file not found: {path}", field="data")
    lines = _text(path).splitlines()
    for n, line in enumerate(lines, 1):
        if skip_header and n == 1:
            continue
        if line.strip():
            yield f"{path.name}:{n}", line.strip()


def need(record: Any, key: str, where: str, *types: type) -> Any:
    """``record[key]`` checked against ``types``; :class:`InputError` naming record and field."""
    if type(record) is not dict and not isinstance(record, Mapping):
        raise InputError(f"expected a JSON object, got {type(record).__name__}", record=where)
    if key not in record:
        raise InputError("missing field", record=where, field=key)
    value = record[key]
    if types and not isinstance(value, types):
        names = "/".join(t.__name__ for t in types)
        raise InputError(f"expected {names}, got {type(value).__name__}", record=where, field=key)
    return value


def hf_rows(hf_id: str, split: str, config: str | None = None) -> list[tuple[str, Any]]:
    """Rows of a Hugging Face dataset (needs the hub or a local cache).  Raises
    :class:`InputError` saying to pass ``--data`` when it cannot be loaded."""
    import datasets  # a core dependency, imported only when the hub is used

    try:
        ds = (
            datasets.load_dataset(hf_id, config, split=split)
            if config
            else datasets.load_dataset(hf_id, split=split)
        )
    except Exception as exc:  # hub unreachable, unknown split, ...
        raise InputError(
            f"cannot load {hf_id} ({split}) from the Hugging Face hub: {exc}; "
            "pass --data with local files",
            field="data",
        ) from exc
    return dataset_rows(ds, hf_id)


def parse_number(value: Any, where: str, field: str, name: str | None = None) -> float:
    """``float(value)``; raises :class:`InputError` naming the record and field (the value
    shown as ``name``, default the field) when it is not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(
            f"{name or field} {value!r} is not a number", record=where, field=field
        ) from None


def resolve_media(root: Path, name: str) -> str:
    """``root/name``; a leading ``image/`` already present in ``name`` is not doubled when
    ``root`` is itself the image folder (MLLM-as-a-Judge quirk Q19)."""
    rel = Path(name)
    if rel.is_absolute():
        return str(rel)
    if rel.parts and rel.parts[0] == root.name:
        rel = Path(*rel.parts[1:])
    return str(root / rel)


def collect_records(
    rows: Iterable[Row],
    build: Callable[[Row], BenchRecord],
    failed: Callable[[Row, InputError], BenchRecord],
    limit: int | None,
) -> list[BenchRecord]:
    """One record a row: ``build(row)``, or ``failed(row, exc)`` (an error record) when it
    raises :class:`InputError`; stops once ``limit`` records are collected."""
    out: list[BenchRecord] = []
    for row in rows:
        try:
            out.append(build(row))
        except InputError as exc:
            out.append(failed(row, exc))
        if limit is not None and len(out) >= limit:
            break
    return out
