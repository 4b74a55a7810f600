"""An append-only SQLite (WAL) store of judge results, safe across processes and crashes.

Layout (two tables):

* ``results(seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE, created REAL,
  record TEXT, head TEXT)`` — one JSON :class:`~flexjudge.JudgeResult` record per item key
  (see :func:`flexjudge.judge.keys.item_key`); ``INSERT OR IGNORE`` so the first writer of a
  key wins and a key is never stored twice.  Iteration follows ``seq``, i.e. insertion order.
  ``head`` repeats the record without its ``samples`` (a fifth of its size) so a resumed
  run decodes only heads (:meth:`ResultStore.get_many_stored`); stores written before the
  column existed get it added on open, with ``NULL`` heads that are derived on read.
  ``crc`` is the CRC-32 of ``record``'s UTF-8 bytes: a record whose text no longer matches
  it (or, for rows written before the column existed, is not a JSON object) is *damaged*.
  Every read skips a damaged record and reports it (:attr:`ResultStore.damaged`, a log
  warning); a resumed run judges that item again and the new record replaces it.
* ``runs(run TEXT PRIMARY KEY, positions INTEGER, source TEXT, created REAL)`` — how many
  input positions a batch run has, written before planning starts, so an export after a
  kill during planning can say how many positions it cannot account for.
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
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from flexjudge._util.json import loads as _json_loads
from flexjudge._util.jsonl import dumps_row
from flexjudge.store._integrity import StoreError, damage_or_null, record_crc, record_head_crc

_T = TypeVar("_T")
_log = logging.getLogger("flexjudge.store")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    record TEXT NOT NULL,
    head TEXT,
    crc INTEGER
);
CREATE TABLE IF NOT EXISTS runs (
    run TEXT PRIMARY KEY,
    positions INTEGER NOT NULL,
    source TEXT,
    created REAL NOT NULL
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
            self._retry(self._add_columns)
            self._conn.create_function("flexjudge_damaged", 3, damage_or_null, deterministic=True)
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open result store {self.path}: {exc}") from exc
        #: damaged records this connection met: key → (row ``seq``, reason).  They are never
        #: returned; one judged again and replaced stays listed (it was damaged)
        self.damaged: dict[str, tuple[int, str]] = {}

    def _add_columns(self) -> None:
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(results)")}
        for name, kind in (("head", "TEXT"), ("crc", "INTEGER")):
            if name not in columns:
                try:
                    self._conn.execute(f"ALTER TABLE results ADD COLUMN {name} {kind}")
                except sqlite3.OperationalError as exc:  # another process added it first
                    if "duplicate column" not in str(exc):
                        raise

    # ------------------------------------------------------------------ results
    def get(self, key: str) -> dict[str, Any] | None:
        """The record stored under ``key``, or ``None`` (also when it is damaged)."""
        return self.get_many([key]).get(key)

    def get_many(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Records for those of ``keys`` that are stored intact (chunked ``IN`` queries)."""
        out: dict[str, dict[str, Any]] = {}
        for key, seq, record, crc in self._rows_for_keys("seq, record, crc", keys):
            value = self._intact(key, seq, record, crc, decode=True)
            if value is not None:
                out[key] = value
        return out

    def get_many_stored(self, keys: Sequence[str]) -> dict[str, StoredRecord]:
        """Like :meth:`get_many` but decodes only each record's head (all but ``samples``)
        and hands back the record text as stored (see :meth:`JudgeResult.from_stored`).
        A damaged record is left out (and reported), so a resumed run judges it again."""
        out: dict[str, StoredRecord] = {}
        for key, seq, record, head, crc in self._rows_for_keys("seq, record, head, crc", keys):
            if head is None or crc is None:  # written before those columns existed
                full = self._intact(key, seq, record, crc, decode=True)
                if full is None:
                    continue
                full.pop("samples", None)
                out[key] = StoredRecord(full, record)
                continue
            if self._intact(key, seq, record, crc, decode=False) is None:
                continue
            try:
                out[key] = StoredRecord(_loads(head, self.path, key), record)
            except StoreError as exc:
                self._report(key, seq, f"head: {exc}")
        return out

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Store ``record`` under ``key`` unless the key exists (first writer wins)."""
        self.put_many([(key, record)])

    def put_many(self, items: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Store a batch in one committed transaction; existing keys are left untouched,
        except a damaged record, which the new one replaces."""
        now = time.time()
        rows = [(key, now, *record_head_crc(record)) for key, record in items]
        if rows:
            self._write(
                "INSERT INTO results (key, created, record, head, crc) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET created = excluded.created, "
                "record = excluded.record, head = excluded.head, crc = excluded.crc "
                "WHERE flexjudge_damaged(results.record, results.head, results.crc) "
                "IS NOT NULL",
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
        """``(key, record)`` pairs of the intact records, in insertion order."""
        rows = self._read("SELECT key, seq, record, crc FROM results ORDER BY seq", ())
        for key, seq, record, crc in rows:
            value = self._intact(key, seq, record, crc, decode=True)
            if value is not None:
                yield key, value

    def scan_damaged(self) -> dict[str, tuple[int, str]]:
        """Check every record; returns (and adds to :attr:`damaged`) key → (row, reason)."""
        found: dict[str, tuple[int, str]] = {}
        for key, seq, record, head, crc in self._read(
            "SELECT key, seq, record, head, crc FROM results ORDER BY seq", ()
        ):
            reason = damage_or_null(record, head, crc)
            if reason is not None:
                found[key] = (int(seq), reason)
        self.damaged.update(found)
        return found

    def heads(
        self, offset: int = 0, limit: int | None = None
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(key, record without samples)`` in insertion order, ``limit`` rows from
        ``offset``: a cheap scan of a big store (``flexjudge view``); rows written before
        heads existed fall back to the record."""
        rows = self._read(
            "SELECT key, COALESCE(head, record) FROM results ORDER BY seq LIMIT ? OFFSET ?",
            (-1 if limit is None else int(limit), int(offset)),
        )
        for key, text in rows:
            head = _loads(text, self.path, key)
            head.pop("samples", None)
            yield key, head

    # ------------------------------------------------------------------ run manifests
    def begin_run(self, run: str, positions: int, source: str | None = None) -> None:
        """Note that batch run ``run`` has ``positions`` input positions (before planning,
        so an export after a kill can tell how many it cannot account for)."""
        self._write(
            "INSERT OR REPLACE INTO runs (run, positions, source, created) VALUES (?, ?, ?, ?)",
            [(run, int(positions), source, time.time())],
        )

    def run_positions(self, run: str) -> int | None:
        """How many input positions ``run`` has, when :meth:`begin_run` noted it."""
        rows = self._read("SELECT positions FROM runs WHERE run = ?", (run,))
        return int(rows[0][0]) if rows else None

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
        """Run ids with a manifest (or at least a :meth:`begin_run` entry), oldest first."""
        rows = self._read(
            "SELECT run, MIN(created) AS t FROM (SELECT run, created FROM manifest "
            "UNION ALL SELECT run, created FROM runs) GROUP BY run ORDER BY t",
            (),
        )
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

    def export(self, output: str | Path, run: str | None = None) -> dict[str, Any]:
        """Rebuild a run's ``--output`` JSONL from the store alone, in input order; see
        :func:`flexjudge.store.export_run` for the report.  Raises :class:`StoreError` when
        the store has no such run."""
        from flexjudge.store._export import export_run

        return export_run(self, Path(output), run)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _intact(
        self, key: str, seq: int, record: str, crc: int | None, *, decode: bool
    ) -> dict[str, Any] | None:
        """The record (``{}`` when not ``decode``d) or ``None`` when it is damaged."""
        if crc is not None and record_crc(record) != crc:
            self._report(key, seq, "record text does not match its checksum (truncated?)")
            return None
        if not decode and crc is not None:
            return {}
        try:
            return _loads(record, self.path, key)
        except StoreError as exc:
            self._report(key, seq, str(exc))
            return None

    def _report(self, key: str, seq: int, reason: str) -> None:
        if key not in self.damaged:
            _log.warning(
                "result store %s: record %s (row %d) is damaged and skipped: %s",
                self.path,
                key,
                seq,
                reason,
            )
        self.damaged[key] = (int(seq), reason)

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


def _loads(text: str, path: Path, key: str) -> dict[str, Any]:
    try:
        value = _json_loads(text)
    except json.JSONDecodeError as exc:
        raise StoreError(f"result store {path}: record {key} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise StoreError(f"result store {path}: record {key} is not a JSON object")
    return value
