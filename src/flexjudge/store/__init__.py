"""Crash-safe, append-only result store (SQLite in WAL mode) for resumable batch runs.

The store knows nothing of judging: it keeps JSON records by key.  It satisfies
:class:`flexjudge.judge.keys.ResultCache` structurally."""

from __future__ import annotations

from flexjudge.store._export import export_run
from flexjudge.store._integrity import StoreError
from flexjudge.store._namespaced import NamespacedStore
from flexjudge.store._repair import check_store, salvage_store, store_summary
from flexjudge.store._sqlite import ResultStore, StoredRecord

__all__ = [
    "NamespacedStore",
    "ResultStore",
    "StoreError",
    "StoredRecord",
    "check_store",
    "export_run",
    "salvage_store",
    "store_summary",
]
