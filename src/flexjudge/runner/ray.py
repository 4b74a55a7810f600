"""Data-parallel judging on Ray: items sharded over Ray Data actors, one backend each.

``ray.data.from_items`` holds one row per item (its input position and the pickled item);
``map_batches`` runs a pool of ``num_workers`` :class:`_JudgeWorker` actors, each of which
loads its own backend once and judges its batches with :meth:`flexjudge.Judge.run`.  Ray does
all scheduling.  Items keep their global positions, so ``order="random"`` flips exactly the
items a single-process run flips; with ``store_path`` every worker writes to the same SQLite
store (WAL, safe for concurrent writers) and finished items are skipped.
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flexjudge._util.optional import require
from flexjudge.judge.types import JudgeItem, JudgeResult


class _JudgeWorker:
    """A Ray Data actor: builds a backend once, then judges each batch of pickled items."""

    def __init__(
        self,
        model: str,
        backend: str,
        backend_kwargs: dict[str, Any],
        options: dict[str, Any],
        store_path: str | None,
        run_id: str | None,
    ) -> None:
        from flexjudge.judge import Judge

        self.judge = Judge.from_pretrained(
            model, backend=backend, backend_kwargs=backend_kwargs, **options
        )
        self.store = None
        if store_path is not None:
            from flexjudge.store import ResultStore

            self.store = ResultStore(store_path)
        self.run_id = run_id

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        positions = [int(p) for p in batch["position"]]
        items = [pickle.loads(bytes(b)) for b in batch["item"]]
        results = self.judge.run(items, positions=positions, store=self.store, run_id=self.run_id)
        records = [json.dumps(r.to_dict(), ensure_ascii=False) for r in results]
        return {
            "position": np.asarray(positions, dtype=np.int64),
            "result": np.asarray(records, dtype=object),
            "resumed": np.asarray([r.resumed for r in results], dtype=bool),
        }


def run_ray(
    items: Sequence[JudgeItem | dict[str, Any]],
    *,
    model: str,
    backend: str = "transformers",
    num_workers: int = 2,
    backend_kwargs: dict[str, Any] | None = None,
    store_path: str | Path | None = None,
    positions: Sequence[int] | None = None,
    run_id: str | None = None,
    num_gpus_per_worker: float = 0.0,
    num_cpus_per_worker: float = 1.0,
    **options: Any,
) -> list[JudgeResult]:
    """Judge ``items`` on ``num_workers`` Ray actors; results come back in input order.

    ``options`` are :class:`flexjudge.JudgeConfig` fields (``batch_size`` is also the Ray
    batch size).  Starts a local Ray (``num_cpus = num_workers * num_cpus_per_worker``, no
    dashboard) unless one is already initialised or ``RAY_ADDRESS`` points at a cluster.
    Raises :class:`flexjudge.errors.MissingDependencyError` naming the ``[dist]`` extra when
    Ray is not installed; a worker that fails to load its backend makes the whole call raise
    (Ray's error names the cause).  Per-item failures are ``status="error"`` results as in
    :meth:`flexjudge.Judge.run`.
    """
    ray = require("ray", "dist")
    require("ray.data", "dist")
    if num_workers < 1:
        raise ValueError("num_workers must be >= 1")
    if not items:
        return []
    pos = list(positions) if positions is not None else list(range(len(items)))
    if len(pos) != len(items):
        raise ValueError(f"{len(pos)} positions for {len(items)} items")
    if not ray.is_initialized():
        init: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if not os.environ.get("RAY_ADDRESS"):
            init["num_cpus"] = max(1, round(num_workers * num_cpus_per_worker))
        ray.init(**init)
    batch_size = int(options.get("batch_size", 16))
    rows = [{"position": p, "item": pickle.dumps(it)} for p, it in zip(pos, items, strict=True)]
    dataset = ray.data.from_items(rows, override_num_blocks=min(len(rows), num_workers * 4))
    judged = dataset.map_batches(
        _JudgeWorker,
        fn_constructor_kwargs={
            "model": model,
            "backend": backend,
            "backend_kwargs": dict(backend_kwargs or {}),
            "options": options,
            "store_path": None if store_path is None else str(store_path),
            "run_id": run_id,
        },
        batch_size=batch_size,
        batch_format="numpy",
        concurrency=num_workers,
        num_cpus=num_cpus_per_worker,
        num_gpus=num_gpus_per_worker,
    )
    by_position = {int(r["position"]): r for r in judged.take_all()}
    missing = [p for p in pos if p not in by_position]
    if missing:
        raise RuntimeError(f"Ray returned no result for input positions {missing[:10]}")
    out = []
    for p in pos:
        result = JudgeResult.from_dict(json.loads(by_position[p]["result"]))
        if bool(by_position[p]["resumed"]):
            result.mark_resumed()
        out.append(result)
    return out
