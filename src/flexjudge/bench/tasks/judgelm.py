"""JudgeLM validation set (spec §9.1): text pairs judged against GPT-4's reference scores.

Gold = the preference implied by GPT-4's two scores (``score`` list in
``judgelm_val_5k_gpt4.jsonl``, or the first line of its ``text``).  Metrics as PandaLM:
agreement, macro precision/recall/F1 over {tie, 1 better, 2 better}.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flexjudge.bench._core import BenchRecord, BenchScore, Prediction
from flexjudge.bench._io import LoadConfig, collect_records, need, read_records
from flexjudge.bench._registry import Benchmark, register_benchmark
from flexjudge.bench._text_pairs import evaluate_text_pairs
from flexjudge.errors import InputError
from flexjudge.protocol import Mode

GOLD_NAME = "judgelm_val_5k_gpt4.jsonl"


def _gpt4_pref(raw: Any, where: str) -> str:
    scores = raw.get("score") if isinstance(raw, dict) else None
    if scores is None and isinstance(raw, dict) and isinstance(raw.get("text"), str):
        scores = raw["text"].strip().splitlines()[0].split() if raw["text"].strip() else None
    try:
        a, b = float(scores[0]), float(scores[1])  # type: ignore[index]
    except (TypeError, ValueError, IndexError):
        raise InputError("expected two GPT-4 scores", record=where, field="score") from None
    return "A" if a > b else "B" if b > a else "tie"


def load(cfg: LoadConfig) -> list[BenchRecord]:
    """``--data judgelm_val_5k.jsonl`` plus the GPT-4 judgments (``--gold``, default the
    sibling ``judgelm_val_5k_gpt4.jsonl``) aligned by ``question_id``; records that carry a
    ``score`` list themselves need no gold file."""
    if cfg.data is None:
        raise InputError("JudgeLM is read from local files; pass --data", field="data")
    gold_path: Path | None = cfg.gold or (cfg.data.parent / GOLD_NAME)
    gold: dict[str, tuple[str, Any]] = {}
    if gold_path is not None and gold_path.is_file():
        for where, raw in read_records(gold_path):
            if isinstance(raw, dict) and "question_id" in raw:
                gold[str(raw["question_id"])] = (where, raw)

    def record_id(i: int, raw: Any) -> str:
        return str(raw.get("question_id", i)) if isinstance(raw, dict) else str(i)

    def build(row: tuple[int, tuple[str, Any]]) -> BenchRecord:
        i, (where, raw) = row
        rid = record_id(i, raw)
        if isinstance(raw, Exception):
            raise raw
        question = need(raw, "question_body", where, str)
        answers = [str(need(raw, k, where, str)) for k in ("answer1_body", "answer2_body")]
        if "score" in raw:
            pref = _gpt4_pref(raw, where)
        elif rid in gold:
            pref = _gpt4_pref(gold[rid][1], gold[rid][0])
        else:
            raise InputError(
                "no GPT-4 judgment for this question_id", record=where, field="question_id"
            )
        return BenchRecord(
            rid, pref, {"category": str(raw.get("category", "all"))}, question, answers
        )

    def failed(row: tuple[int, tuple[str, Any]], exc: InputError) -> BenchRecord:
        i, (_, raw) = row
        return BenchRecord(record_id(i, raw), None, error=str(exc))

    return collect_records(enumerate(read_records(cfg.data)), build, failed, cfg.limit)


def evaluate(
    split: str, records: Sequence[BenchRecord], preds: Sequence[Prediction], mode: Mode
) -> BenchScore:
    return evaluate_text_pairs("judgelm", split, records, preds, mode, ["category"])


BENCHMARK = register_benchmark(
    Benchmark(
        name="judgelm",
        description="JudgeLM val 5K against GPT-4 judgments (spec 9.1)",
        settings="1 sample per item; agreement with the GPT-4 judgments",
        splits=("val",),
        protocols={"val": "judgelm"},
        load=load,
        evaluate=evaluate,
    )
)
