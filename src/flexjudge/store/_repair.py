"""Looking into and repairing a store file: ``flexjudge store inspect|check|salvage``.

:func:`check_store` runs SQLite's ``PRAGMA integrity_check`` and checks every record;
:func:`salvage_store` copies every row that can still be read (range by range, then row by
row around damaged pages) into a new store, falling back to the ``sqlite3`` command line
tool's ``.recover`` when the file cannot be opened as a database at all (a destroyed header).
Both open the damaged file read-only and never modify it.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from flexjudge.store._integrity import StoreError, damage_or_null, record_crc
from flexjudge.store._sqlite import ResultStore

_CHUNK = 256
_RESULT_COLUMNS = "seq, key, created, record, head, crc"


@contextmanager
def _read_only(path: Path) -> Iterator[sqlite3.Connection]:
    if not path.is_file():
        raise StoreError(f"result store {path} does not exist")
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    # a truncated file's schema names root pages past its end; SQLite then refuses every
    # query unless schema checks are relaxed, although most pages still read
    conn.execute("PRAGMA writable_schema=ON")
    try:
        yield conn
    finally:
        conn.close()


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def check_store(path: str | Path) -> dict[str, Any]:
    """``{"path", "ok", "integrity": [...], "results", "damaged": [{"key", "row",
    "reason"}]}``: ``integrity`` is ``PRAGMA integrity_check``'s output (``["ok"]`` when
    the file is sound) or the error that stopped it; ``ok`` is true only when the file and
    every record are intact."""
    p = Path(path)
    report: dict[str, Any] = {"path": str(p), "ok": False, "integrity": [], "results": 0}
    damaged: list[dict[str, Any]] = []
    with _read_only(p) as conn:
        try:
            report["integrity"] = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as exc:
            report["integrity"] = [str(exc)]
            report["damaged"] = damaged
            return report
        try:
            cols = _columns(conn, "results")
            head = "head" if "head" in cols else "NULL"
            crc = "crc" if "crc" in cols else "NULL"
            rows = conn.execute(f"SELECT seq, key, record, {head}, {crc} FROM results")
            for seq, key, record, head_text, crc_value in rows:
                report["results"] += 1
                reason = damage_or_null(record, head_text, crc_value)
                if reason is not None:
                    damaged.append({"key": key, "row": int(seq), "reason": reason})
        except sqlite3.DatabaseError as exc:
            report["integrity"].append(f"reading records stopped: {exc}")
    report["damaged"] = damaged
    report["ok"] = report["integrity"] == ["ok"] and not damaged
    return report


def salvage_store(path: str | Path, new: str | Path) -> dict[str, Any]:
    """Copy every readable, intact row of the store at ``path`` into a new store ``new``.

    Returns ``{"path", "new", "results", "damaged", "unreadable_ranges", "manifest",
    "runs"}``: ``results`` copied, ``damaged`` records that were read but fail their check
    (not copied; a resumed run judges them again), ``unreadable_ranges`` row ranges SQLite
    could not read.  Raises :class:`StoreError` when ``new`` exists or the file cannot be
    opened as a database at all (its 100-byte header is destroyed: SQLite's own
    ``.recover`` cannot read such a file either)."""
    src, dst = Path(path), Path(new)
    if dst.exists():
        raise StoreError(f"{dst} already exists: salvage writes a new store")
    try:
        with _read_only(src) as conn:
            conn.execute("SELECT 1 FROM sqlite_master").fetchall()
            return _copy(conn, src, dst)
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"result store {src} cannot be opened as a database ({exc}): its header is "
            "destroyed and no row can be read; restore it from a backup"
        ) from exc


def _copy(conn: sqlite3.Connection, src: Path, dst: Path) -> dict[str, Any]:
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "results" not in tables:
        raise StoreError(f"result store {src} has no readable results table")
    cols = _columns(conn, "results")
    select = ", ".join(c if c in cols else "NULL" for c in _RESULT_COLUMNS.split(", "))
    report: dict[str, Any] = {
        "path": str(src),
        "new": str(dst),
        "results": 0,
        "damaged": 0,
        "unreadable_ranges": [],
        "manifest": 0,
        "runs": 0,
    }
    bound = _max_rowid(conn, "results", "seq")
    ResultStore(dst).close()  # creates the schema
    with closing(sqlite3.connect(dst, isolation_level=None)) as out:
        out.execute("BEGIN")
        for row in _rows(conn, "results", select, "seq", bound, report["unreadable_ranges"]):
            seq, key, created, record, head, crc = row
            if not isinstance(key, str) or damage_or_null(record, head, crc) is not None:
                report["damaged"] += 1
                continue
            out.execute(
                "INSERT OR IGNORE INTO results (seq, key, created, record, head, crc) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (seq, key, created or 0.0, record, head, record_crc(record)),
            )
            report["results"] += 1
        if "manifest" in tables:
            bound = _max_rowid(conn, "manifest", "rowid")
            wanted = "rowid, run, position, key, record, created"
            for _, run, pos, key, rec, created in _rows(
                conn, "manifest", wanted, "rowid", bound, []
            ):
                out.execute(
                    "INSERT OR IGNORE INTO manifest (run, position, key, record, created) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (run, pos, key, rec, created or 0.0),
                )
                report["manifest"] += 1
        if "runs" in tables:
            bound = _max_rowid(conn, "runs", "rowid")
            wanted = "rowid, run, positions, source, created"
            for _, run, positions, source, created in _rows(
                conn, "runs", wanted, "rowid", bound, []
            ):
                out.execute(
                    "INSERT OR IGNORE INTO runs (run, positions, source, created) "
                    "VALUES (?, ?, ?, ?)",
                    (run, positions, source, created or 0.0),
                )
                report["runs"] += 1
        out.execute("COMMIT")
    return report


def _max_rowid(conn: sqlite3.Connection, table: str, column: str) -> int:
    """An upper bound on ``table``'s rowids, from whatever part of the file still reads."""
    guesses = [0]
    queries = [f"SELECT MAX({column}) FROM {table}"]
    if table == "results":
        queries.append("SELECT seq FROM sqlite_sequence WHERE name = 'results'")
    for sql in queries:
        try:
            value = conn.execute(sql).fetchone()
        except sqlite3.DatabaseError:
            continue
        if value and value[0] is not None:
            guesses.append(int(value[0]))
    if guesses == [0]:  # every index page is gone: bound by the file's size
        try:
            pages = int(conn.execute("PRAGMA page_count").fetchone()[0])
            size = int(conn.execute("PRAGMA page_size").fetchone()[0])
            guesses.append(pages * size // 32)
        except sqlite3.DatabaseError:
            pass
    return max(guesses)


def _rows(
    conn: sqlite3.Connection,
    table: str,
    columns: str,
    rowid: str,
    bound: int,
    unreadable: list[list[int]],
) -> Iterator[tuple[Any, ...]]:
    """Rows ``1..bound`` of ``table``, a range at a time; a range SQLite cannot read is read
    row by row, and the rows that still fail are noted in ``unreadable`` as ``[first, last]``."""
    for start in range(0, bound + 1, _CHUNK):
        stop = start + _CHUNK
        try:
            yield from conn.execute(
                f"SELECT {columns} FROM {table} WHERE {rowid} >= ? AND {rowid} < ?",
                (start, stop),
            ).fetchall()
            continue
        except sqlite3.DatabaseError:
            pass
        for one in range(start, stop):
            try:
                yield from conn.execute(
                    f"SELECT {columns} FROM {table} WHERE {rowid} = ?", (one,)
                ).fetchall()
            except sqlite3.DatabaseError:
                if unreadable and unreadable[-1][1] == one - 1:
                    unreadable[-1][1] = one
                else:
                    unreadable.append([one, one])


def store_summary(path: str | Path) -> dict[str, Any]:
    """Counts of a store: ``results`` by ``status`` and by ``protocol``, damaged records,
    and each run's positions (noted / planned / with a stored result)."""
    p = Path(path)
    if not p.is_file():
        raise StoreError(f"result store {p} does not exist")
    with ResultStore(p) as store:
        by_status: Counter[str] = Counter()
        by_protocol: Counter[str] = Counter()
        total = 0
        for _, record in store:
            total += 1
            by_status[str(record.get("status"))] += 1
            by_protocol[str(record.get("protocol"))] += 1
        runs = [
            {
                "run": run,
                "positions": store.run_positions(run),
                "planned": len(store.manifest(run)),
                "done": store.count_done(run),
            }
            for run in store.runs()
        ]
        damaged = [
            {"key": key, "row": seq, "reason": reason}
            for key, (seq, reason) in store.scan_damaged().items()
        ]
    return {
        "path": str(p),
        "results": total,
        "by_status": dict(by_status.most_common()),
        "by_protocol": dict(by_protocol.most_common()),
        "damaged": damaged,
        "runs": runs,
    }
