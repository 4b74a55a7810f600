"""How a stored record proves it is intact: a CRC-32 of its text, checked on every read
(rows written before the checksum existed are checked by parsing)."""

from __future__ import annotations

import json
import zlib
from typing import Any

from flexjudge._util.json import loads as _json_loads
from flexjudge._util.jsonl import dumps_row
from flexjudge.errors import FlexJudgeError


class StoreError(FlexJudgeError):
    """The result store could not be opened, read or written (names the file)."""


def record_head_crc(record: dict[str, Any]) -> tuple[str, str, int]:
    # the record is serialized as an output row is, so a resumed run can write it unchanged
    head = {k: v for k, v in record.items() if k != "samples"}
    text = dumps_row(record)
    return text, dumps_row(head), record_crc(text)


def record_crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def damage_or_null(record: Any, head: Any, crc: Any) -> str | None:
    """Why a stored row is damaged, or ``None`` when it is intact (also a SQL function)."""
    if not isinstance(record, str):
        return "record is not text"
    if crc is not None and record_crc(record) != crc:
        return "record text does not match its checksum (truncated?)"
    for name, text in (("record", record), ("head", head)):
        if text is None and name == "head":
            continue
        try:
            value = _json_loads(text)
        except (json.JSONDecodeError, TypeError):
            return f"{name} is not valid JSON"
        if not isinstance(value, dict):
            return f"{name} is not a JSON object"
    return None
