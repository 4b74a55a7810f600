"""An append-only SQLite (WAL) store of judge results, safe across processes and crashes.

Layout (two tables):

* ``results(seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE, created REAL,
  record TEXT, head TEXT)`` — one JSON :class:`~flexjudge.JudgeResult` record per item key
  (see :func:`flexjudge.judge.keys.item_key`); ``INSERT OR IGNORE`` so the first writer of a
  key wins and a key is never stored twice.  Iteration follows ``seq``, i.e. insertion order.
  ``head`` repeats the record without its ``samples`` (a fifth of its size) so a resumed
  run decodes only heads (:meth:`ResultStore.get_many_stored`); stores written before the
  column existed get it added on open, with ``NULL`` heads that are derived on read.
* ``manifest(run TEXT, position INTEGER, key TEXT, record TEXT, PRIMARY KEY(run, position))``
  — for each batch run (``flexjudge judge run``), which key (or which input-error row) belongs
  at each input position, so the ``--output`` file can be rebuilt in input order from the
  store alone after a crash (:meth:`ResultStore.export`).  It holds the latest entry: a
  rerun whose keys changed (e.g. a retrained model under the same name) replaces that
  position's entry.  Results themselves are never replaced.

Every write is one transaction; SQLite's WAL journal makes a committed transaction durable
and a killed process (``kill -9``) leaves the file consistent, losing only uncommitted
writes.  Concurrent writers (several processes or Ray workers) serialize on SQLite's write
lock: each connection waits up to ``busy_timeout`` ms and the store retries a locked
transaction a few more times with backoff before raising :class:`StoreError`.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from flexjudge._util.json import loads as _json_loads
from flexjudge._util.jsonl import dumps_row, write_jsonl
from flexjudge.errors import FlexJudgeError

_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    record TEXT NOT NULL,
    head TEXT
);
CREATE TABLE IF NOT EXISTS manifest (
    run TEXT NOT NULL,
    position INTEGER NOT NULL,
    key TEXT,
    record TEXT,
    created REAL NOT NULL,
    PRIMARY KEY (run, position)
);
"""


class StoredRecord(NamedTuple):
    """A stored record as :meth:`ResultStore.get_many_stored` returns it."""

    head: dict[str, Any]  # the record without ``samples``
    text: str  # the whole record, as stored


class StoreError(FlexJudgeError):
    """The result store could not be opened, read or written (names the file)."""


class ResultStore:
    """Append-only result store in one SQLite file (created if missing).

    >>> store = ResultStore("results.sqlite")                  # doctest: +SKIP
    >>> judge.run(items, store=store)                          # doctest: +SKIP

    ``get``/``put`` are what :meth:`flexjudge.Judge.run` uses; ``put_many`` commits a whole
    batch in one transaction.  Thread-safe (one connection guarded by a lock); open one
    ``ResultStore`` per process.  Raises :class:`StoreError` naming the file when it is not
    a SQLite database or stays locked past the retries.
    """

    def __init__(
        self, path: str | Path, *, busy_timeout_ms: int = 30_000, retries: int = 8
    ) -> None:
        self.path = Path(path)
        self._retries = retries
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path,
                timeout=busy_timeout_ms / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            self._conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            self._retry(lambda: self._conn.execute("PRAGMA journal_mode=WAL"))
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._retry(lambda: self._conn.executescript(_SCHEMA))
            self._retry(self._add_head_column)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open result store {self.path}: {exc}") from exc

    def _add_head_column(self) -> None:
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(results)")}
        if "head" not in columns:
            try:
                self._conn.execute("ALTER TABLE results ADD COLUMN head TEXT")
            except sqlite3.OperationalError as exc:  # another process added it first
                if "duplicate column" not in str(exc):
                    raise

    # ------------------------------------------------------------------ results
    def get(self, key: str) -> dict[str, Any] | None:
        """The record stored under ``key``, or ``None``."""
        row = self._read("SELECT record FROM results WHERE key = ?", (key,))
        return None if not row else _loads(row[0][0], self.path, key)

    def get_many(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Records for those of ``keys`` that are stored (chunked ``IN`` queries)."""
        return {
            key: _loads(record, self.path, key)
            for key, record in self._rows_for_keys("record", keys)
        }

    def get_many_stored(self, keys: Sequence[str]) -> dict[str, StoredRecord]:
        """Like :meth:`get_many` but decodes only each record's head (all but ``samples``)
        and hands back the record text as stored (see :meth:`JudgeResult.from_stored`)."""
        out: dict[str, StoredRecord] = {}
        for key, record, head in self._rows_for_keys("record, head", keys):
            if head is None:  # written before the head column existed
                full = _loads(record, self.path, key)
                full.pop("samples", None)
                out[key] = StoredRecord(full, record)
            else:
                out[key] = StoredRecord(_loads(head, self.path, key), record)
        return out

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Store ``record`` under ``key`` unless the key exists (first writer wins)."""
        self.put_many([(key, record)])

    def put_many(self, items: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Store a batch in one committed transaction; existing keys are left untouched."""
        now = time.time()
        rows = [(key, now, *_record_and_head(record)) for key, record in items]
        if rows:
            self._write(
                "INSERT OR IGNORE INTO results (key, created, record, head) VALUES (?, ?, ?, ?)",
                rows,
            )

    def __contains__(self, key: object) -> bool:
        return bool(self._read("SELECT 1 FROM results WHERE key = ?", (str(key),)))

    def __len__(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM results", ())[0][0])

    def keys(self) -> list[str]:
        """Every stored key, in insertion order."""
        return [r[0] for r in self._read("SELECT key FROM results ORDER BY seq", ())]

    def __iter__(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(key, record)`` pairs in insertion order."""
        for key, record in self._read("SELECT key, record FROM results ORDER BY seq", ()):
            yield key, _loads(record, self.path, key)

    def heads(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(key, record without samples)`` in insertion order: a cheap scan of a big store
        (``flexjudge view``); rows written before heads existed fall back to the record."""
        rows = self._read("SELECT key, COALESCE(head, record) FROM results ORDER BY seq", ())
        for key, text in rows:
            head = _loads(text, self.path, key)
            head.pop("samples", None)
            yield key, head

    # ------------------------------------------------------------------ run manifests
    def record_manifest(
        self, run: str, entries: Iterable[tuple[int, str | None, dict[str, Any] | None]]
    ) -> None:
        """Note, for batch run ``run``, the key (or the error record) at each input position.

        A keyed entry may carry ``{"id": ...}``: the item's id, which :meth:`export` puts on
        the stored record (items with equal content share one key but keep their ids)."""
        now = time.time()
        known = dict(self._read("SELECT position, key FROM manifest WHERE run = ?", (run,)))
        rows = [  # a resumed run rewrites only new positions and keys that changed
            (run, pos, key, None if rec is None else dumps_row(rec), now)
            for pos, key, rec in entries
            if pos not in known or known[pos] != key
        ]
        if rows:
            self._write(
                "INSERT OR REPLACE INTO manifest (run, position, key, record, created) "
                "VALUES (?, ?, ?, ?, ?)",
                rows,
            )

    def runs(self) -> list[str]:
        """Run ids with a manifest, oldest first."""
        rows = self._read("SELECT run FROM manifest GROUP BY run ORDER BY MIN(created)", ())
        return [r[0] for r in rows]

    def manifest(self, run: str) -> list[tuple[int, str | None, dict[str, Any] | None]]:
        """``(position, key, error record)`` rows of ``run`` in input order."""
        rows = self._read(
            "SELECT position, key, record FROM manifest WHERE run = ? ORDER BY position", (run,)
        )
        return [
            (int(p), k, None if r is None else _loads(r, self.path, f"{run}:{p}"))
            for p, k, r in rows
        ]

    def count_done(self, run: str) -> int:
        """How many of ``run``'s keyed positions have a stored result."""
        rows = self._read(
            "SELECT COUNT(*) FROM manifest m JOIN results r ON r.key = m.key WHERE m.run = ?",
            (run,),
        )
        return int(rows[0][0])

    def export(self, output: str | Path, run: str | None = None) -> dict[str, int]:
        """Rebuild a run's ``--output`` JSONL from the store alone, in input order.

        ``run`` defaults to the latest run.  Positions whose result was never stored (the
        run was killed before their batch committed) are left out and counted as
        ``missing``; input-error rows come from the manifest.  Raises :class:`StoreError`
        when the store has no such run.
        """
        runs = self.runs()
        run = run or (runs[-1] if runs else None)
        if run is None or run not in runs:
            raise StoreError(f"result store {self.path} has no run {run!r} to export")
        entries = self.manifest(run)
        stored = self.get_many([k for _, k, _ in entries if k is not None])
        rows: list[dict[str, Any]] = []
        missing = 0
        for _, key, record in entries:
            row = stored.get(key) if key is not None else record
            if key is not None and row is not None and record and "id" in record:
                # same content under another id: the key is shared, the id is the item's
                row = {**row, "id": record["id"]}
            if row is None:
                missing += 1
            else:
                rows.append(row)
        write_jsonl(Path(output), rows)
        return {"rows": len(rows), "missing": missing}

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _rows_for_keys(self, columns: str, keys: Sequence[str]) -> Iterator[tuple[Any, ...]]:
        """``(key, *columns)`` of the stored ``keys`` (chunked ``IN`` queries)."""
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            yield from self._read(
                f"SELECT key, {columns} FROM results WHERE key IN ({marks})", tuple(chunk)
            )

    def _read(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        def go() -> list[tuple[Any, ...]]:
            with self._lock:
                return list(self._conn.execute(sql, params).fetchall())

        return self._retry(go)

    def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        def go() -> None:
            with self._lock:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    self._conn.executemany(sql, rows)
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")

        self._retry(go)

    def _retry(self, fn: Callable[[], _T]) -> _T:
        delay = 0.05
        for attempt in range(self._retries + 1):
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or attempt == self._retries:
                    raise StoreError(f"result store {self.path}: {exc}") from exc
                time.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 2.0)
            except sqlite3.DatabaseError as exc:
                raise StoreError(f"result store {self.path}: {exc}") from exc
        raise AssertionError("unreachable")


def _record_and_head(record: dict[str, Any]) -> tuple[str, str]:
    # the record is serialized as an output row is, so a resumed run can write it unchanged
    head = {k: v for k, v in record.items() if k != "samples"}
    return dumps_row(record), dumps_row(head)


def _loads(text: str, path: Path, key: str) -> dict[str, Any]:
    try:
        value = _json_loads(text)
    except json.JSONDecodeError as exc:
        raise StoreError(f"result store {path}: record {key} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise StoreError(f"result store {path}: record {key} is not a JSON object")
    return value
