"""VL-RewardBench (spec §7.2): one image, two responses, order drawn per item with
``numpy.random.seed(k)`` (``u < 0.5`` keeps the dataset order).

Metrics (the benchmark authors' definitions; the reference has no evaluator): a judgment is
correct iff the predicted ranking equals ``human_ranking`` (a tie ``[0, 0]`` is always wrong);
``accuracy`` = overall accuracy, ``macro_accuracy`` = mean of the accuracies of the task groups
``general``, ``hallucination`` and ``reasoning`` (group from the item ``id`` prefix, or a
``category`` field).  Reference mode turns unparsable outputs into the tie ``[0, 0]`` (Q17).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flexjudge.bench._core import BenchRecord, BenchScore, Prediction
from flexjudge.bench._formats import media_cell
from flexjudge.bench._io import (
    LoadConfig,
    collect_records,
    hf_rows,
    need,
    read_records,
    resolve_media,
)
from flexjudge.bench._pairs import preference_score, score_rows
from flexjudge.bench._registry import Benchmark, register_benchmark
from flexjudge.errors import InputError
from flexjudge.protocol import Mode

HF_ID = "MMInstruction/VL-RewardBench"
_GROUPS = (
    ("reasoning", ("mathverse", "mmmu-pro", "mmmu_pro")),
    ("hallucination", ("povid", "rlaif", "rlhf", "hallucination", "amber")),
    ("general", ("wildvision", "vlfeedback", "wild")),
)


def task_group(item_id: str) -> str:
    """``general`` / ``hallucination`` / ``reasoning`` from the VL-RewardBench id prefix."""
    low = item_id.lower()
    for group, prefixes in _GROUPS:
        if low.startswith(prefixes):
            return group
    return "other"


def load(cfg: LoadConfig) -> list[BenchRecord]:
    """``--data``: the HF release (parquet file, parquet/arrow folder or ``save_to_disk``
    folder) or JSON/JSONL rows with ``id``, ``query``, ``response`` (2 strings),
    ``human_ranking`` and ``image`` (a ``{bytes, path}`` dict, PIL image, path or URL) or
    ``image_path`` (relative to ``--media-root`` or the file's folder); without ``--data``
    the HF ``test`` split."""
    if cfg.data is None:
        rows = hf_rows(HF_ID, "test")
        root = None
    else:
        rows = read_records(cfg.data, "test")
        root = cfg.media_root or (cfg.data if cfg.data.is_dir() else cfg.data.parent)

    def build(row: tuple[int, tuple[str, Any]]) -> BenchRecord:
        i, (where, raw) = row
        if isinstance(raw, Exception):
            raise raw
        return _record(raw, where, root, cfg.media_root, i)

    def failed(row: tuple[int, tuple[str, Any]], exc: InputError) -> BenchRecord:
        _, (where, raw) = row
        rid = str(raw.get("id", where)) if isinstance(raw, dict) else where
        return BenchRecord(rid, None, error=str(exc))

    return collect_records(enumerate(rows), build, failed, cfg.limit)


def _record(
    raw: Any, where: str, root: Path | None, media_root: Path | None, index: int
) -> BenchRecord:
    rid = str(raw.get("id", index)) if isinstance(raw, dict) else str(index)
    query = need(raw, "query", where, str)
    responses = need(raw, "response", where, list)
    if len(responses) != 2 or not all(isinstance(r, str) for r in responses):
        raise InputError("expected a list of two strings", record=where, field="response")
    ranking = need(raw, "human_ranking", where, list)
    key: tuple[int, ...] = tuple(int(x) for x in ranking)
    golds: dict[tuple[int, ...], str] = {(0, 1): "A", (1, 0): "B"}
    gold = golds.get(key)
    if gold is None:
        raise InputError(
            f"expected [0, 1] or [1, 0], got {ranking!r}", record=where, field="human_ranking"
        )
    image_key = "image_path" if raw.get("image_path") is not None else "image"
    if raw.get(image_key) is None:
        raise InputError("missing field", record=where, field="image")
    image = media_cell(
        raw[image_key],
        root=root,
        media_root=media_root,
        where=where,
        field=image_key,
        resolve=resolve_media,
    )
    group = str(raw.get("category") or task_group(rid))
    return BenchRecord(rid, gold, {"task": group}, query, list(responses), images=[image])


def orders(records: Sequence[BenchRecord], trial: int, mode: str) -> list[tuple[int, ...]]:
    """``numpy.random.seed(k)``, one ``uniform()`` per item in dataset order (error records
    included, so the draws stay aligned with the reference)."""
    rng = np.random.RandomState(trial)
    return [(0, 1) if rng.uniform() < 0.5 else (1, 0) for _ in records]


def evaluate(
    split: str, records: Sequence[BenchRecord], preds: Sequence[Prediction], mode: Mode
) -> BenchScore:
    rows = score_rows(records, preds, mode, "vl-rewardbench")
    quirks = (
        ["Q17: unparsable outputs become the tie [0, 0] (always wrong)"]
        if mode == "reference"
        else []
    )
    score = preference_score("vl-rewardbench", split, mode, records, rows, ["task"], quirks)
    groups = [
        m["accuracy"] for m in score.by_category["task"].values() if not math.isnan(m["accuracy"])
    ]
    score.metrics["macro_accuracy"] = sum(groups) / len(groups) if groups else math.nan
    return score


BENCHMARK = register_benchmark(
    Benchmark(
        name="vl-rewardbench",
        description="VL-RewardBench pairwise, random order seeded by trial (spec 7.2)",
        splits=("test",),
        protocols={"test": "vl-rewardbench"},
        load=load,
        evaluate=evaluate,
        default_trials=5,
        settings=(
            "Table 6: 5 samples per item, the answer order drawn at random per item and "
            "sample (numpy seed = sample index)"
        ),
        orders=orders,
        hf_id=HF_ID,
    )
)
