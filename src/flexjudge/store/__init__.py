"""Crash-safe, append-only result store (SQLite in WAL mode) for resumable batch runs."""

from __future__ import annotations

from flexjudge.store._sqlite import ResultStore, StoredRecord, StoreError

__all__ = ["ResultStore", "StoreError", "StoredRecord"]
