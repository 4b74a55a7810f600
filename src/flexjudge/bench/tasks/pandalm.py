"""PandaLM human-annotated test set (spec §9.2): text pairs, gold = the majority of
``annotator1..3`` (0 tie, 1, 2).

Metrics (PandaLM's own; the reference has no evaluator and its saved ``pred`` is always
``"None"``, Q12): ``accuracy`` (agreement), macro ``precision``/``recall``/``f1`` over
{tie, 1, 2} (sklearn ``average="macro"``); an unparsable output counts against recall and is
in no class's precision.  Formats: ``flexjudge`` (our runs), ``judgelrm``
(``results_judgelrm*.json``: ``output`` with answer tags, annotators inline) and ``pandalm``
(``pandalm_result`` / ``gpt_result`` files, gold from ``--data testset-v1.json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flexjudge.bench._core import BenchRecord, BenchScore, Prediction
from flexjudge.bench._io import LoadConfig, need, read_records
from flexjudge.bench._registry import Benchmark, register_benchmark
from flexjudge.bench._text_pairs import (
    CODE_TO_PREF,
    evaluate_text_pairs,
    judgelrm_preference,
    majority,
    published_preference,
)
from flexjudge.errors import InputError
from flexjudge.protocol import Mode


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _record(raw: Any, where: str, pos: int) -> BenchRecord:
    rid = str(raw.get("idx", pos)) if isinstance(raw, dict) else str(pos)
    fast = _fast_record(raw, rid)
    if fast is not None:
        return fast
    try:
        if isinstance(raw, Exception):
            raise raw
        labels = []
        for k in ("annotator1", "annotator2", "annotator3"):
            v = need(raw, k, where, int, str)
            try:
                labels.append(int(v))
            except ValueError:
                raise InputError(f"expected 0, 1 or 2, got {v!r}", record=where, field=k) from None
        top = majority(labels)
        if top not in CODE_TO_PREF:
            raise InputError(
                f"annotators {labels} have no majority", record=where, field="annotator1"
            )
        # some upstream responses are JSON booleans/numbers ("True"): kept as their text
        responses = [
            _text(need(raw, k, where, str, bool, int, float)) for k in ("response1", "response2")
        ]
        instruction = str(need(raw, "instruction", where, str))
        return BenchRecord(
            rid,
            CODE_TO_PREF[top],
            {"cmp_key": str(raw.get("cmp_key", "all"))},
            instruction,
            responses,
            fields={"instruction": instruction, "input": str(raw.get("input", ""))},
        )
    except InputError as exc:
        return BenchRecord(rid, None, error=str(exc))


def _fast_record(raw: Any, rid: str) -> BenchRecord | None:
    """The well-formed case without per-field checks (``None``: take the checked path)."""
    try:
        a, b, c = raw["annotator1"], raw["annotator2"], raw["annotator3"]
        r1, r2, instruction = raw["response1"], raw["response2"], raw["instruction"]
    except (KeyError, TypeError):
        return None
    if not (
        type(a) is int
        and type(b) is int
        and type(c) is int
        and type(r1) is str
        and type(r2) is str
        and type(instruction) is str
    ):
        return None
    top = a if a in (b, c) else b if b == c else None
    if top not in CODE_TO_PREF:
        return None
    return BenchRecord(
        rid,
        CODE_TO_PREF[top],
        {"cmp_key": str(raw.get("cmp_key", "all"))},
        instruction,
        [r1, r2],
        fields={"instruction": instruction, "input": str(raw.get("input", ""))},
    )


def load(cfg: LoadConfig) -> list[BenchRecord]:
    """``--data testset-v1.json`` (or any file with the test-set fields and annotators)."""
    if cfg.data is None:
        raise InputError(
            "PandaLM is read from local files; pass --data testset-v1.json", field="data"
        )
    out = [_record(raw, where, i) for i, (where, raw) in enumerate(read_records(cfg.data))]
    return out[: cfg.limit] if cfg.limit is not None else out


def evaluate(
    split: str, records: Sequence[BenchRecord], preds: Sequence[Prediction], mode: Mode
) -> BenchScore:
    return evaluate_text_pairs("pandalm", split, records, preds, mode, ["cmp_key"])


def _convert(
    path: Path, cfg: LoadConfig, *, judgelrm: bool
) -> tuple[list[BenchRecord], list[Prediction]]:
    rows = read_records(path)
    gold_rows: dict[str, BenchRecord] = {}
    if cfg.data is not None:
        gold_rows = {r.id: r for r in load(LoadConfig(cfg.split, cfg.data))}
    records: list[BenchRecord] = []
    preds: list[Prediction] = []
    for pos, (where, raw) in enumerate(rows):
        is_dict = type(raw) is dict
        rid = str(raw.get("idx", pos)) if is_dict else str(pos)
        if is_dict and "annotator1" in raw:
            rec = _fast_record(raw, rid) or _record(raw, where, pos)
        elif rid in gold_rows:
            rec = gold_rows[rid]
        else:
            rec = BenchRecord(
                rid, None, error="no gold label: annotators missing and idx not in --data"
            )
        records.append(rec)
        if rec.error is not None or not is_dict:
            continue
        if judgelrm:
            text = raw.get("output")
            if type(text) is not str:
                rec.error = f"record {where!r}, field 'output': missing or not a string"
                continue
            pref = judgelrm_preference(text)
        else:
            pref, found = published_preference(raw)
            if not found:
                rec.error = f"record {where!r}, field 'pandalm_result': missing field"
                continue
            text = str(raw.get("pandalm_reason", raw.get("gpt_reason", "")))
        preds.append(Prediction(rid, 0, text, extra={"label": pref}))
    return records, preds


def convert_judgelrm(
    path: Path, split: str, cfg: LoadConfig
) -> tuple[list[BenchRecord], list[Prediction]]:
    """JudgeLRM ``results_*.json``: preference from the answer-tag scores of ``output``."""
    return _convert(path, cfg, judgelrm=True)


def convert_pandalm(
    path: Path, split: str, cfg: LoadConfig
) -> tuple[list[BenchRecord], list[Prediction]]:
    """PandaLM ``pandalm-7b-testset-v1.json`` / ``gpt-3.5-turbo-testset-v1.json``."""
    return _convert(path, cfg, judgelrm=False)


BENCHMARK = register_benchmark(
    Benchmark(
        name="pandalm",
        description="PandaLM test set, annotator majority (spec 9.2)",
        splits=("test",),
        protocols={"test": "pandalm"},
        load=load,
        evaluate=evaluate,
        default_trials=1,
        settings=(
            "1 sample per item, the dataset order; macro precision/recall/F1 over tie/A/B "
            "against the annotators' majority"
        ),
        formats={"judgelrm": convert_judgelrm, "pandalm": convert_pandalm},
    )
)
