"""The shared bench loader loop and gold-number check (bench/_io) behave as the loaders did."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flexjudge.bench._core import BenchRecord
from flexjudge.bench._io import collect_records, parse_number
from flexjudge.errors import InputError


def _build(row: tuple[str, str]) -> BenchRecord:
    where, value = row
    return BenchRecord(where, parse_number(value, where, "score", "similarity"))


def _failed(row: tuple[str, str], exc: InputError) -> BenchRecord:
    return BenchRecord(row[0], None, error=str(exc))


def test_a_bad_row_becomes_an_error_record_and_the_rest_still_load() -> None:
    rows = [("f.txt:1", "3.5"), ("f.txt:2", "high"), ("f.txt:3", " 4\n")]
    out = collect_records(rows, _build, _failed, None)
    assert [r.gold for r in out] == [3.5, None, 4.0]
    assert out[1].error is not None
    assert "similarity 'high' is not a number" in out[1].error
    assert "f.txt:2" in out[1].error and "score" in out[1].error


def test_limit_counts_error_records_and_stops_reading() -> None:
    read: list[str] = []

    def rows() -> Iterator[tuple[str, str]]:
        for i in range(10):
            read.append(str(i))
            yield (f"f:{i}", "x" if i == 0 else "1")

    out = collect_records(rows(), _build, _failed, 2)
    assert [r.id for r in out] == ["f:0", "f:1"]
    assert read == ["0", "1"]


def test_parse_number_names_the_field_for_a_missing_value() -> None:
    with pytest.raises(InputError, match="mos None is not a number") as info:
        parse_number(None, "set.csv:4", "mos")
    assert info.value.field == "mos"
