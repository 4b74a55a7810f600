"""Input files as users hand them over (issue 14 items 13-15, issue 15 item 9): BOMs, JSON
arrays, Latin-1 lines, non-finite numbers, unknown keys, bad trial numbers, many responses.
One shared reader serves every command; each case is checked through a real command."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flexjudge import Judge
from flexjudge._util.jsonl import (
    dumps_summary,
    finite_or_none,
    iter_json_records,
    loads_strict,
    read_items,
)
from flexjudge._util.labels import position_label, ranking_key
from flexjudge.apps import read_jsonl
from flexjudge.backends import MockBackend
from flexjudge.bench._core import Prediction
from flexjudge.bench._io import read_records
from flexjudge.cli import app
from flexjudge.cli.main import main
from flexjudge.errors import InputError
from flexjudge.train import read_rows

ITEM = {"question": "2+2?", "responses": ["4"]}


def _line(obj: object) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def test_bom_first_line_keeps_its_record(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + _line({"id": "first", **ITEM}) + _line(ITEM))
    items = read_items(path)
    assert [i["id"] for i in items if isinstance(i, dict)] == ["first", "2"]


def test_latin1_line_names_the_line_and_the_rest_is_read(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_bytes(_line(ITEM) + '{"question": "café", "responses": ["x"]}\n'.encode("latin-1"))
    first, second = read_items(path)
    assert isinstance(first, dict)
    assert isinstance(second, InputError)
    assert "line 2 is not UTF-8" in str(second) and f"{path}:2" in str(second)
    assert "surrogates" not in str(second)


def test_json_array_is_accepted_everywhere(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text(json.dumps([ITEM, {"id": "b", **ITEM}, [1]], indent=2))
    recs = list(iter_json_records(path, label="items.jsonl"))
    assert [r.where for r in recs] == ["items.jsonl[0]", "items.jsonl[1]", "items.jsonl[2]"]
    assert isinstance(recs[2].value, InputError) and "JSON array" in str(recs[2].value)
    assert [r["id"] for r in read_jsonl(path) if isinstance(r, dict)] == ["items.jsonl[0]", "b"]
    with pytest.raises(InputError, match=r"items.jsonl\[2\]"):
        read_rows(path)


def test_broken_json_array_gives_one_message_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text('[{"question": "q", "responses": ["a"]},\n {"question": ]')
    with pytest.raises(InputError, match=r"not a valid JSON array.*line 2.*one JSON object"):
        read_items(path)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="finite"):
        loads_strict(f'{{"labels": [{text}, 1]}}')


def test_non_finite_labels_are_error_rows_in_bon_and_summary_is_json(tmp_path: Path) -> None:
    src = tmp_path / "cands.jsonl"
    src.write_bytes(
        _line({"question": "q", "responses": ["a", "b"], "labels": [1, 0]})
        + b'{"question": "q", "responses": ["a", "b"], "labels": [NaN, 1]}\n'
        + b'{"question": "q", "responses": ["a", "b"], "labels": [Infinity, 1]}\n'
    )
    out = tmp_path / "bon"
    args = ["bon", "-m", "mock", "--backend", "mock", "--input", str(src), "--out", str(out)]
    res = CliRunner().invoke(app, [*args, "--no-plot"] if _has_flag("bon", "--no-plot") else args)
    assert res.exit_code == 0, res.output
    text = (out / "summary.json").read_text()
    summary = json.loads(text, parse_constant=lambda c: pytest.fail(f"bare {c} in summary"))
    assert summary["input_errors"] == 2


def _has_flag(command: str, flag: str) -> bool:
    res = CliRunner().invoke(app, [command, "--help"])
    return flag in res.output


def test_undefined_metrics_are_written_as_null() -> None:
    assert finite_or_none({"a": [math.nan, 1.0, (math.inf,)], "b": "x"}) == {
        "a": [None, 1.0, [None]],
        "b": "x",
    }
    assert json.loads(dumps_summary({"accuracy": math.nan})) == {"accuracy": None}


def test_unknown_item_key_is_an_error_row_naming_it(tmp_path: Path) -> None:
    src = tmp_path / "items.jsonl"
    src.write_bytes(
        b"\xef\xbb\xbf"
        + _line({"id": "ok", **ITEM})
        + _line({"id": "typo", "question": "q", "response": ["x"]})
        + '{"question": "\xe9"}\n'.encode("latin-1")
    )
    out = tmp_path / "out.jsonl"
    res = CliRunner().invoke(
        app,
        [
            "judge",
            "run",
            "-m",
            "mock",
            "--backend",
            "mock",
            "--input",
            str(src),
            "--output",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "error", "error"]
    assert "unknown key 'response'" in rows[1]["error"] and "'typo'" in rows[1]["error"]
    assert "line 3 is not UTF-8" in rows[2]["error"]


def test_unknown_key_from_python_api() -> None:
    judge = Judge(MockBackend())
    result = judge.run([{"question": "q", "responses": ["a"], "scroe": 3}])[0]
    assert result.status == "error" and "unknown key 'scroe'" in (result.error or "")


def test_bench_records_bom_and_latin1(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + _line({"a": 1}) + b'{"a": "\xe9"}\n')
    (_, r1), (w2, r2) = read_records(path)
    assert r1 == {"a": 1} and w2 == "data.jsonl:2"
    assert isinstance(r2, InputError) and "line 2 is not UTF-8" in str(r2)
    listed = tmp_path / "data.json"
    listed.write_bytes(b"\xef\xbb\xbf" + json.dumps({"data": [{"a": 1}]}).encode())
    assert read_records(listed) == [("data.json[0]", {"a": 1})]


@pytest.mark.parametrize("trial", ["zero", -1, 1.5, True, None])
def test_bad_trial_is_an_input_error(trial: object) -> None:
    with pytest.raises(InputError, match="field 'trial'"):
        Prediction.from_dict({"id": "x", "trial": trial, "text": "t"})
    assert Prediction.from_dict({"id": "x", "trial": "2", "text": "t"}).trial == 2


def test_bench_score_bad_trial_exits_2_with_a_message(tmp_path: Path) -> None:
    preds = tmp_path / "predictions.jsonl"
    preds.write_text(json.dumps({"id": "x", "trial": "zero", "text": "t"}) + "\n")
    data = tmp_path / "data.jsonl"
    data.write_text("")
    argv = sys.argv
    sys.argv = ["flexjudge", "bench", "score", "judgelm", "--predictions", str(preds)]
    try:
        with pytest.raises(SystemExit) as stop:
            main()
    finally:
        sys.argv = argv
    assert stop.value.code == 2


def test_train_rows_latin1_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "train.jsonl"
    path.write_bytes(_line({"prompt": "p", "text": "t"}) + b'{"prompt": "\xe9", "text": "t"}\n')
    with pytest.raises(InputError, match=r"train.jsonl:2: line 2 is not UTF-8"):
        read_rows(path)


def test_position_labels_stay_printable_ascii() -> None:
    labels = [position_label(i) for i in range(800)]
    assert labels[:3] == ["A", "B", "C"] and labels[25:28] == ["Z", "AA", "AB"]
    assert labels[701:703] == ["ZZ", "AAA"]
    assert len(set(labels)) == 800 and all(x.isascii() and x.isalpha() for x in labels)
    assert ranking_key([1, 0, 2]) == "BAC"
    assert ranking_key([26, 0]) == "AA>A"


def test_rank_with_many_responses_writes_printable_vote_keys(tmp_path: Path) -> None:
    n = 70
    answers = "".join(f"<answer>{1 + (i * 7) % 10}</answer>" for i in range(n))
    judge = Judge(MockBackend(outputs=[f"<think>\nx\n</think>\n{answers}"]), votes=2)
    result = judge.rank("q", [f"r{i}" for i in range(n)])
    assert result.ok, result.error
    line = json.dumps(result.to_dict(), ensure_ascii=False)
    assert len(line.splitlines()) == 1 and "\x85" not in line
    for key in result.votes or {}:
        assert key.isascii() and key.isprintable()


def test_curate_reader_keeps_a_bom_first_record(tmp_path: Path) -> None:
    from flexjudge.curate import iter_json_objects

    path = tmp_path / "teacher.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + _line({"a": 1}) + _line({"a": 2}))
    assert [v for _, _, v in iter_json_objects(path)] == [{"a": 1}, {"a": 2}]
    listed = tmp_path / "teacher.json"
    listed.write_bytes(b"\xef\xbb\xbf" + json.dumps([{"a": 1}]).encode())
    assert [v for _, _, v in iter_json_objects(listed)] == [{"a": 1}]
    bad = tmp_path / "nan.jsonl"
    bad.write_bytes(b'{"score": NaN}\n')
    [(_, _, value)] = list(iter_json_objects(bad))
    assert isinstance(value, json.JSONDecodeError)


def test_bench_csv_and_text_lists_name_a_latin1_line(tmp_path: Path) -> None:
    from flexjudge.bench._io import read_csv_rows, read_lines

    path = tmp_path / "systems.csv"
    path.write_bytes(b"\xef\xbb\xbfa,b\n1,2\n3,\xe9\n")
    with pytest.raises(InputError, match=r"systems.csv: line 3 is not UTF-8"):
        read_csv_rows(path)
    path.write_bytes(b"\xef\xbb\xbfa,b\n1,2\n")
    assert read_csv_rows(path) == [("systems.csv:2", {"a": "1", "b": "2"})]
    listed = tmp_path / "list.txt"
    listed.write_bytes(b"one\n\xff\n")
    with pytest.raises(InputError, match="line 2 is not UTF-8"):
        list(read_lines(listed))
