"""The SQLite result store: append-only, resumable after kill -9, safe with concurrent writers."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from flexjudge import Judge, JudgeItem
from flexjudge.backends import MockBackend
from flexjudge.store import ResultStore, StoreError

# Runs the real `flexjudge judge run` CLI in a child process whose MockBackend blocks forever
# once it has answered BLOCK_AFTER generate calls, so the parent can kill -9 it at a known
# point (after polling the store) without any timing guesswork.
_CHILD = textwrap.dedent(
    """
    import sys, threading
    from flexjudge.backends import _mock
    block_after = int(sys.argv.pop(1))
    original = _mock.MockBackend.generate
    calls = [0]
    def generate(self, requests):
        if block_after >= 0 and calls[0] >= block_after:
            threading.Event().wait()
        calls[0] += 1
        return original(self, requests)
    _mock.MockBackend.generate = generate
    from flexjudge.cli import app
    app(prog_name="flexjudge")
    """
)


def _write_items(path: Path, n: int) -> None:
    rows = [
        json.dumps(
            {
                "id": f"item-{i}",
                "question": f"question {i}",
                "responses": [f"answer a{i}", f"answer b{i}"],
            }
        )
        for i in range(n)
    ]
    rows.insert(7, "{ not json")
    path.write_text("\n".join(rows) + "\n")


def _cli(block_after: int, items: Path, out: Path, store: Path) -> list[str]:
    return [
        sys.executable,
        "-c",
        _CHILD,
        str(block_after),
        "judge",
        "run",
        "--model",
        "mock",
        "--backend",
        "mock",
        "-i",
        str(items),
        "-o",
        str(out),
        "--store",
        str(store),
        "--votes",
        "2",
        "--swap",
        "--batch-size",
        "5",
    ]


def _rows(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for r in rows:
        r.pop("seconds", None)  # wall time differs between any two runs
    return rows


def _stored_rows(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(path, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM results").fetchone()[0])
    except sqlite3.OperationalError:  # schema not created yet
        return 0


def test_put_get_keys_and_insertion_order(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "s.sqlite") as store:
        store.put("b", {"v": 1})
        store.put_many([("a", {"v": 2}), ("c", {"v": 3})])
        store.put("b", {"v": 99})  # first writer wins: append-only
        assert store.get("b") == {"v": 1} and store.get("zzz") is None
        assert store.keys() == ["b", "a", "c"] and len(store) == 3 and "a" in store
        assert [k for k, _ in store] == ["b", "a", "c"]
        assert store.get_many(["c", "nope", "a"]) == {"c": {"v": 3}, "a": {"v": 2}}
    with sqlite3.connect(tmp_path / "s.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match=r"bad\.sqlite"):
        ResultStore(bad).keys()


def test_judge_run_skips_stored_items(tmp_path: Path) -> None:
    items = [JudgeItem("q", ["a", f"b{i}"], id=str(i)) for i in range(6)]
    backend = MockBackend()
    store = ResultStore(tmp_path / "s.sqlite")
    first = Judge(backend, batch_size=4).run(items[:3], store=store)
    calls = len(backend.calls)
    again = Judge(backend, batch_size=4).run(items, store=store)
    assert len(backend.calls) - calls == 3  # only the three new items reached the backend
    assert [r.to_dict() for r in again[:3]] == [r.to_dict() for r in first]
    assert len(store) == 6
    # a different votes count is a different key: nothing reused, nothing overwritten
    Judge(backend, votes=3).run(items[:1], store=store)
    assert len(store) == 7


@pytest.mark.slow
def test_kill_9_mid_run_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    items, store = tmp_path / "items.jsonl", tmp_path / "store.sqlite"
    _write_items(items, 40)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    reference = tmp_path / "reference.jsonl"
    subprocess.run(
        _cli(-1, items, reference, tmp_path / "ref.sqlite"),
        check=True,
        env=env,
        capture_output=True,
        timeout=300,
    )

    out = tmp_path / "out.jsonl"
    child = subprocess.Popen(
        _cli(3, items, out, store), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        while _stored_rows(store) < 15:  # 3 batches of 5 items committed, then it blocks
            try:
                child.wait(timeout=0.05)  # poll interval; the child must still be running
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(child.stderr.read().decode() if child.stderr else "exited")
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL and not out.exists()
    assert _stored_rows(store) == 15

    # the output can be rebuilt from the store alone: the 15 finished items + the bad line
    partial = tmp_path / "partial.jsonl"
    report = ResultStore(store).export(partial)
    assert report == {"rows": 16, "missing": 25}

    done = subprocess.run(
        _cli(-1, items, out, store),
        check=True,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["resumed"] == 15 and summary["items"] == 41
    assert _rows(out) == _rows(reference)
    ids = [r["id"] for r in _rows(out)]
    assert len(ids) == len(set(ids)) == 41
    with sqlite3.connect(store) as conn:
        keys = [k for (k,) in conn.execute("SELECT key FROM results")]
    assert len(keys) == len(set(keys)) == 40

    rebuilt = tmp_path / "rebuilt.jsonl"
    assert ResultStore(store).export(rebuilt) == {"rows": 41, "missing": 0}
    assert _rows(rebuilt) == _rows(reference)


_WRITER = textwrap.dedent(
    """
    import sys
    from flexjudge.store import ResultStore
    path, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = ResultStore(path)
    for i in range(n):
        store.put_many([(f"{tag}-{i}-{j}", {"tag": tag, "i": i, "j": j}) for j in range(5)])
        store.put(f"shared-{i}", {"tag": tag, "i": i})
    """
)


@pytest.mark.slow
def test_two_concurrent_writer_processes(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path), tag, "200"], stderr=subprocess.PIPE
        )
        for tag in ("w1", "w2")
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = ResultStore(path)
    keys = store.keys()
    assert len(keys) == len(set(keys)) == 2 * 200 * 5 + 200
    for tag in ("w1", "w2"):
        assert all(store.get(f"{tag}-{i}-4") == {"tag": tag, "i": i, "j": 4} for i in range(200))
    assert {store.get(f"shared-{i}")["tag"] for i in range(200)} <= {"w1", "w2"}  # type: ignore[index]


def test_resumed_results_decode_samples_only_when_read(tmp_path: Path) -> None:
    items = [JudgeItem("q", ["a", f"b{i}"], id=str(i)) for i in range(3)]
    store = ResultStore(tmp_path / "s.sqlite")
    first = Judge(MockBackend(), votes=2, swap=True).run(items, store=store)
    again = Judge(MockBackend(), votes=2, swap=True).run(items, store=store)
    assert "_pending_samples" in again[0].__dict__  # nothing decoded yet
    assert again[0].order_decisions == first[0].order_decisions
    assert again[0].stored_json() == json.dumps(first[0].to_dict(), ensure_ascii=False)
    assert again[0].samples == first[0].samples  # decoded on first read
    assert [r.to_dict() for r in again] == [r.to_dict() for r in first]
    again[1].samples = []
    assert again[1].stored_json() is None  # no longer what was stored


def test_equal_content_under_two_ids_keeps_each_id_on_resume(tmp_path: Path) -> None:
    items = [JudgeItem("q", ["a", "b"], id="first"), JudgeItem("q", ["a", "b"], id="second")]
    store = ResultStore(tmp_path / "s.sqlite")
    fresh = Judge(MockBackend()).run(items, store=store, run_id="r")
    assert len(store) == 1  # one key for both
    resumed = Judge(MockBackend()).run(items, store=store, run_id="r")
    assert [r.id for r in fresh] == [r.id for r in resumed] == ["first", "second"]
    assert resumed[1].stored_json() is None  # the stored text names "first"
    store.export(tmp_path / "out.jsonl", "r")
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["first", "second"]


def test_a_store_without_the_head_column_is_upgraded_and_still_read(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    items = [JudgeItem("q", ["a", "b"], id="0")]
    with ResultStore(path) as store:
        first = Judge(MockBackend()).run(items, store=store)
    con = sqlite3.connect(path)  # rebuild the table as the first store layout had it
    con.executescript(
        "CREATE TABLE old AS SELECT seq, key, created, record FROM results;"
        "DROP TABLE results; ALTER TABLE old RENAME TO results;"
    )
    con.close()
    with ResultStore(path) as store:
        backend = MockBackend()
        again = Judge(backend).run(items, store=store)
        assert not backend.calls and again[0].to_dict() == first[0].to_dict()


def test_resume_keys_media_items_without_decoding_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image as PILImage

    from flexjudge.media import Image

    path = tmp_path / "cat.png"
    PILImage.new("RGB", (32, 32), (200, 10, 10)).save(path)
    items = [JudgeItem("q", ["a"], id="0", images=[str(path)])]
    store = ResultStore(tmp_path / "s.sqlite")
    first = Judge(MockBackend()).run(items, store=store)

    def no_decoding(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a stored item's media were decoded")

    monkeypatch.setattr(Image, "prepare", no_decoding)
    again = Judge(MockBackend()).run(items, store=store)
    assert again[0].to_dict() == first[0].to_dict()


def test_a_rerun_whose_keys_changed_exports_its_own_results(tmp_path: Path) -> None:
    items = [JudgeItem("q", ["a", "b"], id="0")]
    store = ResultStore(tmp_path / "s.sqlite")
    old_model = MockBackend("old", outputs=["<answer>9</answer><answer>1</answer>"])
    new_model = MockBackend("new", outputs=["<answer>1</answer><answer>9</answer>"])
    Judge(old_model).run(items, store=store, run_id="r")
    new = Judge(new_model).run(items, store=store, run_id="r")
    store.export(tmp_path / "out.jsonl", "r")
    row = json.loads((tmp_path / "out.jsonl").read_text())
    assert len(store) == 2 and row["preference"] == "B" and row == new[0].to_dict()


def test_a_result_rebuilt_from_its_dict_sets_every_field() -> None:
    from dataclasses import fields

    from flexjudge import JudgeResult

    result = Judge(MockBackend(), swap=True).compare("q", "a", "b")
    again = JudgeResult.from_dict(result.to_dict())
    names = {f.name for f in fields(JudgeResult)}
    assert names - {"samples"} <= set(again.__dict__) and "_samples" in again.__dict__
    assert again.to_dict() == result.to_dict()
