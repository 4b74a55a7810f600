"""A view of a result store with every key prefixed (a benchmark's split and trial)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from flexjudge.store._sqlite import ResultStore, StoredRecord


class NamespacedStore:
    """Forwards every store call to ``store`` with ``prefix`` added to each key, batch calls
    included, so a namespaced resume reads its heads in one query like the store itself."""

    def __init__(self, store: ResultStore | NamespacedStore, prefix: str):
        self.store = store
        self.prefix = prefix

    def get(self, key: str) -> dict[str, Any] | None:
        return self.store.get(self.prefix + key)

    def put(self, key: str, record: dict[str, Any]) -> None:
        self.store.put(self.prefix + key, record)

    def get_many_stored(self, keys: Sequence[str]) -> dict[str, StoredRecord]:
        found = self.store.get_many_stored([self.prefix + k for k in keys])
        n = len(self.prefix)
        return {key[n:]: hit for key, hit in found.items()}

    def put_many(self, items: Iterable[tuple[str, dict[str, Any]]]) -> None:
        self.store.put_many((self.prefix + k, v) for k, v in items)

    def record_manifest(
        self, run: str, entries: Iterable[tuple[int, str | None, dict[str, Any] | None]]
    ) -> None:
        self.store.record_manifest(
            self.prefix + run,
            ((pos, None if key is None else self.prefix + key, rec) for pos, key, rec in entries),
        )
