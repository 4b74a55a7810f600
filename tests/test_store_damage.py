"""Damage is contained and recoverable (issue 14 items 7-10, issue 15 item 7): damaged
records are reported, skipped and judged again; ``store check|salvage|inspect|export``;
an export after a kill during planning says what it cannot account for; outputs are
written durably and a failed write names the path and leaves no ``.tmp``."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flexjudge import Judge
from flexjudge._util import jsonl
from flexjudge.cli import app
from flexjudge.runner.files import run_items_file
from flexjudge.store import ResultStore, StoreError, check_store, salvage_store, store_summary


def _items(path: Path, n: int) -> Path:
    path.write_text(
        "".join(
            json.dumps({"id": f"i{i}", "question": f"q{i} " * 40, "responses": [f"a{i}", "b"]})
            + "\n"
            for i in range(n)
        )
    )
    return path


def _run(tmp_path: Path, items: Path, out: Path, store: Path) -> dict[str, Any]:
    return run_items_file(
        model="mock",
        backend="mock",
        base_url=None,
        input_path=items,
        output_path=out,
        options={"batch_size": 8},
        store_path=store,
    )


def _verdicts(out: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]  # timing differs


def _truncate_record(store: Path, seq: int) -> str:
    with sqlite3.connect(store) as conn:
        (key,) = conn.execute("SELECT key FROM results WHERE seq = ?", (seq,)).fetchone()
        conn.execute("UPDATE results SET record = substr(record, 1, 40) WHERE seq = ?", (seq,))
    return str(key)


def test_truncated_record_is_reported_skipped_and_judged_again(tmp_path: Path) -> None:
    items, out, store = _items(tmp_path / "in.jsonl", 20), tmp_path / "out.jsonl", tmp_path / "s"
    first = _run(tmp_path, items, out, store)
    reference = _verdicts(out)
    key = _truncate_record(store, 5)

    # export writes every intact record and lists the damaged one
    report = ResultStore(store).export(tmp_path / "export.jsonl")
    assert report["rows"] == 19 and report["missing"] == 0
    assert [(d["key"], d["row"], d["position"]) for d in report["damaged"]] == [(key, 5, 4)]
    for line in (tmp_path / "export.jsonl").read_text().splitlines():
        json.loads(line)

    # the resumed run re-judges it: every output line is JSON and equal to the first run's
    again = _run(tmp_path, items, out, store)
    assert [d["key"] for d in again["damaged_rejudged"]] == [key]
    assert again["resumed"] == 19 and again["run"] == first["run"]
    assert _verdicts(out) == reference
    assert check_store(store)["ok"]
    assert "damaged_rejudged" not in _run(tmp_path, items, out, store)


def test_damaged_head_or_garbage_json_is_damage_too(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "s")
    store.put_many([("a", {"id": "a", "status": "ok"}), ("b", {"id": "b", "status": "ok"})])
    with sqlite3.connect(tmp_path / "s") as conn:
        conn.execute("UPDATE results SET head = '{\"id\":' WHERE key = 'b'")
    assert set(store.get_many_stored(["a", "b"])) == {"a"}
    assert "head" in store.damaged["b"][1]
    store.put("b", {"id": "b", "status": "ok", "new": True})  # the re-judged record replaces it
    assert store.get("b") == {"id": "b", "status": "ok", "new": True}
    store.put("a", {"id": "a", "changed": True})  # an intact record is never replaced
    assert store.get("a") == {"id": "a", "status": "ok"}


def test_records_written_before_the_checksum_column_are_checked_by_parsing(tmp_path: Path) -> None:
    store = ResultStore(tmp_path / "s")
    store.put_many([("a", {"id": "a"}), ("b", {"id": "b"})])
    with sqlite3.connect(tmp_path / "s") as conn:
        conn.execute("UPDATE results SET crc = NULL")
        conn.execute("UPDATE results SET record = '{\"id\": \"b' WHERE key = 'b'")
    assert set(store.get_many_stored(["a", "b"])) == {"a"}
    assert [k for k, _ in store] == ["a"]


def _big_store(tmp_path: Path, n: int = 300) -> Path:
    path = tmp_path / "big.sqlite"
    with ResultStore(path) as store:
        store.put_many(
            (f"k{i:04d}", {"id": str(i), "status": "ok", "text": f"{i} " * 200}) for i in range(n)
        )
        store.begin_run("r", n)
        store.record_manifest("r", [(i, f"k{i:04d}", None) for i in range(n)])
    with sqlite3.connect(path) as conn:  # fold the WAL into the main file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def test_check_and_salvage_a_truncated_file(tmp_path: Path) -> None:
    path = _big_store(tmp_path)
    assert check_store(path)["ok"]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    report = check_store(path)
    assert not report["ok"] and report["integrity"] != ["ok"]

    res = CliRunner().invoke(app, ["store", "check", str(path)])
    assert res.exit_code == 1 and json.loads(res.output)["ok"] is False

    new = tmp_path / "new.sqlite"
    res = CliRunner().invoke(app, ["store", "salvage", str(path), str(new)])
    assert res.exit_code == 0, res.output
    salvaged = json.loads(res.output)
    assert 50 < salvaged["results"] < 300
    assert check_store(new)["ok"]
    with ResultStore(new) as store:
        records = dict(iter(store))
    assert len(records) == salvaged["results"]
    assert all(r["text"] == f"{r['id']} " * 200 for r in records.values())


def test_salvage_around_garbage_in_the_middle(tmp_path: Path) -> None:
    path = _big_store(tmp_path)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2 // 4096 * 4096
    data[middle : middle + 65536] = os.urandom(65536)
    path.write_bytes(bytes(data))
    report = salvage_store(path, tmp_path / "new.sqlite")
    assert report["results"] > 100
    with ResultStore(tmp_path / "new.sqlite") as store:
        ids = {int(r["id"]) for _, r in store}
    assert min(ids) == 0 and max(ids) == 299  # rows on both sides of the damage survive
    with pytest.raises(StoreError, match="already exists"):
        salvage_store(path, tmp_path / "new.sqlite")


def test_garbage_header_is_a_clear_error(tmp_path: Path) -> None:
    path = _big_store(tmp_path)
    data = bytearray(path.read_bytes())
    data[:100] = os.urandom(100)
    path.write_bytes(bytes(data))
    assert not check_store(path)["ok"]
    with pytest.raises(StoreError, match="header is destroyed"):
        salvage_store(path, tmp_path / "a.sqlite")
    assert not (tmp_path / "a.sqlite").exists()


def test_export_after_a_kill_during_planning_says_what_is_unaccounted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items, out, store = _items(tmp_path / "in.jsonl", 40), tmp_path / "out.jsonl", tmp_path / "s"
    with items.open("a") as fh:
        fh.write("{broken\n")

    class Killed(BaseException):
        pass

    def killed(*args: object, **kwargs: object) -> None:
        raise Killed

    monkeypatch.setattr(Judge, "_plan_all", killed)
    with pytest.raises(Killed):
        _run(tmp_path, items, out, store)
    assert not out.exists()
    report = ResultStore(store).export(tmp_path / "partial.jsonl")
    assert report["rows"] == 1 and report["missing"] == 0
    assert report["unaccounted"] == 40 and "stopped while planning" in report["note"]


def test_store_inspect_and_export_cli(tmp_path: Path) -> None:
    items, out, store = _items(tmp_path / "in.jsonl", 12), tmp_path / "out.jsonl", tmp_path / "s"
    summary = _run(tmp_path, items, out, store)
    res = CliRunner().invoke(app, ["store", "inspect", str(store)])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["results"] == 12 and sum(info["by_status"].values()) == 12
    assert list(info["by_protocol"]) == [json.loads(out.read_text().splitlines()[0])["protocol"]]
    assert info["runs"] == [{"run": summary["run"], "positions": 12, "planned": 12, "done": 12}]
    assert store_summary(store)["damaged"] == []

    exported = tmp_path / "exported.jsonl"
    res = CliRunner().invoke(app, ["store", "export", str(store), "-o", str(exported)])
    assert res.exit_code == 0, res.output
    assert exported.read_text() == out.read_text()
    res = CliRunner().invoke(app, ["store", "export", str(store), "-o", str(exported), "--all"])
    assert json.loads(res.output)["rows"] == 12
    res = CliRunner().invoke(app, ["store", "inspect", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_output_is_fsynced_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, Path.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(
        Path, "replace", lambda self, t: (events.append("rename"), real_replace(self, t))[1]
    )
    jsonl.write_jsonl(tmp_path / "o.jsonl", [{"a": 1}])
    assert events[:2] == ["fsync", "rename"]
    assert (tmp_path / "o.jsonl").read_text() == '{"a": 1}\n'


def test_full_disk_names_the_path_and_removes_the_tmp(tmp_path: Path) -> None:
    def rows() -> Any:
        yield {"a": 1}
        raise OSError(errno.ENOSPC, "No space left on device")

    target = tmp_path / "out.jsonl"
    with pytest.raises(OSError, match=rf"cannot write {target}: No space left") as info:
        jsonl.write_jsonl(target, rows())
    assert info.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_judge_run_on_a_full_disk_exits_2_naming_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = _items(tmp_path / "in.jsonl", 3)
    real_open = open

    def full_disk_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if str(file).endswith(".tmp") and "w" in mode:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", full_disk_open)
    out = tmp_path / "o" / "out.jsonl"
    res = CliRunner().invoke(
        app,
        ["judge", "run", "-m", "mock", "--backend", "mock", "--input", str(items), "-o", str(out)],
    )
    assert res.exit_code == 2
    assert f"cannot write {out}" in res.output and "No space left" in res.output
    assert not list((tmp_path / "o").glob("*.tmp"))
