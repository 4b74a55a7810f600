"""Crash-safe, append-only result store (SQLite in WAL mode) for resumable batch runs.

The store knows nothing of judging: it keeps JSON records by key.  It satisfies
:class:`flexjudge.judge.keys.ResultCache` structurally."""

from __future__ import annotations

from flexjudge.store._namespaced import NamespacedStore
from flexjudge.store._sqlite import ResultStore, StoredRecord, StoreError

__all__ = ["NamespacedStore", "ResultStore", "StoreError", "StoredRecord"]
