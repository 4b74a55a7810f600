"""MLLM-as-a-Judge (spec §7.1): ``score`` (Pearson), ``pair`` (accuracy with/without tie),
``batch`` (normalised Levenshtein of rankings), per ``original_dataset``.

``reference`` mode reproduces ``test/evaluate.py``: pair = signed vote over trials and "Ave"
of per-category accuracies rounded to 3 decimals (Q8); score = −1 for unparsable outputs kept
in the correlation (Q17), Pearson ``nan`` → 0, and the median of r(trial 0), r(0+1 pooled),
r(0+1+2 pooled) (Q7); batch = all ``<answer>`` integers, reverse-letter tie order, maximum of
cumulative means (Q7, Q8).  ``clean`` mode: statistics per trial, then the mean over trials;
a parse failure is wrong for pair, the worst distance 1.0 for batch and the scale midpoint
3 in the score correlation; a category whose statistic is undefined (one row, a constant
series, only human ties for w.o.-tie) is reported as ``null`` with a note, where reference
mode raises as the authors' script does.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flexjudge.bench._core import (
    BenchRecord,
    BenchScore,
    Prediction,
    ScoredRow,
    accuracy_ci,
    count_rows,
    reasoning_words,
    scored_categories,
    word_len_diff,
)
from flexjudge.bench._io import LoadConfig, collect_records, need, read_records, resolve_media
from flexjudge.bench._metrics import (
    bootstrap_ci,
)
from flexjudge.bench._mllm_scoring import evaluate_batch, evaluate_score
from flexjudge.bench._pairs import positional, unswap
from flexjudge.bench._registry import Benchmark, register_benchmark
from flexjudge.bench._trials import scorable_trials
from flexjudge.errors import InputError
from flexjudge.protocol import Mode, get_protocol

SPLITS = ("pair", "score", "batch")
_PAIR_GOLD = {"A": "A", "B": "B", "C": "tie"}
_VOTE = {"A": -1, "B": 1, "tie": 0}


def _media_root(cfg: LoadConfig, data: Path) -> Path:
    if cfg.media_root is not None:
        return cfg.media_root
    for cand in (data.parent / "image", data.parent.parent / "image"):
        if cand.is_dir():
            return cand
    return data.parent


def load(cfg: LoadConfig) -> list[BenchRecord]:
    """Local ``score.jsonl``/``pair.jsonl``/``batch.jsonl`` (``--data``; a folder is searched
    for ``{split}.jsonl`` / ``{split}_sample.jsonl``).  Known drift is normalised:
    ``human_answer`` → ``human`` and ``image/``-prefixed ``image_path`` (Q19), ``human`` as int
    or str.  A malformed record becomes an error record naming the field."""
    if cfg.data is None:
        raise InputError(
            "MLLM-as-a-Judge has no loadable HF split here; pass --data "
            "(Benchmark/{pair,score,batch}.jsonl of the release)",
            field="data",
        )
    data = cfg.data
    if data.is_dir():
        for name in (
            f"{cfg.split}.jsonl",
            f"{cfg.split}_sample.jsonl",
            f"Benchmark/{cfg.split}.jsonl",
        ):
            if (data / name).is_file():
                data = data / name
                break
    root = _media_root(cfg, data)

    def build(row: tuple[int, tuple[str, Any]]) -> BenchRecord:
        i, (where, raw) = row
        if isinstance(raw, Exception):
            raise raw
        return _record(cfg.split, raw, where, root, i)

    def failed(row: tuple[int, tuple[str, Any]], exc: InputError) -> BenchRecord:
        _, (where, raw) = row
        rid = (
            str(raw.get("score_id", raw.get("pair_id", raw.get("id", where))))
            if isinstance(raw, dict)
            else where
        )
        return BenchRecord(id=rid, gold=None, error=str(exc))

    return collect_records(enumerate(read_records(data)), build, failed, cfg.limit)


def _record(split: str, raw: Any, where: str, root: Path, index: int) -> BenchRecord:
    if isinstance(raw, dict) and "human" not in raw and "human_answer" in raw:
        raw = {**raw, "human": raw["human_answer"]}  # Q19: public release field name
    instruction = need(raw, "instruction", where, str)
    image = need(raw, "image_path", where, str)
    cats = {"original_dataset": str(raw.get("original_dataset", "unknown"))}
    images = [resolve_media(root, image)]
    human = need(raw, "human", where, int, str, float)
    if split == "score":
        rid = str(raw.get("score_id", index))
        try:
            gold = float(str(human).strip())
        except ValueError:
            raise InputError(
                f"human score {human!r} is not a number", record=where, field="human"
            ) from None
        answer = need(raw, "answer", where, str, dict)
        text = answer["answer"] if isinstance(answer, dict) else answer
        return BenchRecord(
            rid, gold, cats, instruction, [str(text)], images=images, meta={"name": raw.get("name")}
        )
    if split == "pair":
        rid = str(raw.get("pair_id", index))
        pair_gold = _PAIR_GOLD.get(str(human).strip())
        if pair_gold is None:
            raise InputError(
                f"expected 'A', 'B' or 'C', got {human!r}", record=where, field="human"
            )
        answers = [need(raw, k, where, dict) for k in ("answer1", "answer2")]
        texts = [str(need(a, "answer", where, str)) for a in answers]
        return BenchRecord(rid, pair_gold, cats, instruction, texts, images=images)
    rid = str(raw.get("id", index))
    answers = need(raw, "answers", where, list)
    texts = []
    for a in answers:
        texts.append(str(a["answer"]) if isinstance(a, dict) and "answer" in a else str(a))
    gold_rank = str(human).strip().upper()
    if sorted(gold_rank) != [chr(65 + i) for i in range(len(texts))]:
        raise InputError(
            f"ranking {human!r} is not a permutation of A..{chr(64 + len(texts))}",
            record=where,
            field="human",
        )
    return BenchRecord(rid, gold_rank, cats, instruction, texts, images=images)


# ---------------------------------------------------------------------------------- scoring
def evaluate(
    split: str, records: Sequence[BenchRecord], preds: Sequence[Prediction], mode: Mode
) -> BenchScore:
    """Score predictions of one split (see the module docstring for the definitions)."""
    if split == "pair":
        return _evaluate_pair(records, preds, mode)
    if split == "score":
        return evaluate_score(records, preds, mode)
    return evaluate_batch(records, preds, mode)


def _evaluate_pair(
    records: Sequence[BenchRecord], preds: Sequence[Prediction], mode: Mode
) -> BenchScore:
    proto = get_protocol("mllm-judge/pair")
    rows: list[ScoredRow] = []
    for rec, t, p, text in scorable_trials(records, preds, rows):
        label = p.extra.get("label") if "label" in p.extra else None
        if label is None:
            v = p.parse(proto, mode, 2)
            label = v.preference if v.ok else None
        else:
            label = str(label)
        failed = label is None
        first = positional(label)
        if failed and mode == "reference" and "label" not in p.extra:
            label = "tie"  # Q17: unparsable → "C"
        pred = unswap(label, p.order)
        rows.append(
            ScoredRow(
                rec.id,
                t,
                rec.gold,
                pred,
                pred == rec.gold,  # a parse failure (pred None) is wrong in clean mode
                failed,
                None,
                rec.categories,
                first,
                word_len_diff(rec),
                reasoning_words(text),
            )
        )
    cats = scored_categories(rows, "original_dataset")
    quirks: list[str] = []
    by_tie: dict[str, dict[str, float]] = {}
    by_notie: dict[str, dict[str, float]] = {}
    if mode == "reference":
        quirks = [
            "Q17: unparsable or under-length outputs count as tie 'C'",
            "signed vote over trials (A=-1, B=+1, C=0)",
            "Q8: 'Ave' averages per-category accuracies rounded to 3 decimals",
        ]
        final: dict[str, str | None] = {}
        per_id: dict[str, list[ScoredRow]] = defaultdict(list)
        for r in rows:
            per_id[r.id].append(r)
        for rid, rs in per_id.items():
            if any(r.error is not None for r in rs):
                final[rid] = None
                continue
            s = sum(_VOTE[str(r.pred)] for r in rs)
            final[rid] = "A" if s < 0 else "B" if s > 0 else "tie"
        gold = {r.id: r.gold for r in rows}
        cat_of = {r.id: r.categories.get("original_dataset", "all") for r in rows}
        for c in cats:
            ids = [i for i in final if cat_of[i] == c and final[i] is not None]
            nt = [i for i in ids if gold[i] != "tie"]
            if ids and not nt:  # the reference divides by zero here
                raise InputError(
                    f"reference mode: every human label of category {c!r} is a tie 'C'; "
                    "the reference's w.o.-tie accuracy divides by zero here (clean mode "
                    "reports the category as undefined)",
                    field="original_dataset",
                )
            by_tie[c] = {"accuracy": _acc(ids, final, gold), "n": float(len(ids))}
            by_notie[c] = {"accuracy": _acc(nt, final, gold), "n": float(len(nt))}
        ave_t = [round(m["accuracy"], 3) for m in by_tie.values() if not math.isnan(m["accuracy"])]
        ave_n = [
            round(m["accuracy"], 3) for m in by_notie.values() if not math.isnan(m["accuracy"])
        ]
        metrics = {
            "accuracy_tie": round(sum(ave_t) / len(ave_t), 3) if ave_t else math.nan,
            "accuracy_no_tie": round(sum(ave_n) / len(ave_n), 3) if ave_n else math.nan,
        }
    else:
        from flexjudge.bench._core import accuracy_table

        by_tie = accuracy_table(rows, "original_dataset")
        by_notie = accuracy_table(rows, "original_dataset", keep=lambda r: r.gold != "tie")
        metrics = {"accuracy_tie": _macro(by_tie), "accuracy_no_tie": _macro(by_notie)}
    notes = [
        f"accuracy w.o. tie undefined for {c!r} (every human label is a tie); "
        "left out of the average"
        for c, m in by_notie.items()
        if math.isnan(m["accuracy"])
    ]
    metrics["accuracy"] = metrics["accuracy_tie"]
    ci = accuracy_ci(rows)
    if mode == "reference":  # the CI of the voted verdicts the headline is made of
        voted = [float(final[i] == gold[i]) for i in final if final[i] is not None]
        ci = bootstrap_ci(voted)
    return BenchScore(
        "mllm-judge",
        "pair",
        mode,
        metrics,
        {"accuracy": ci},
        {"original_dataset (w. tie)": by_tie, "original_dataset (w.o. tie)": by_notie},
        count_rows(rows, len(records)),
        quirks,
        notes,
        rows=rows,
        labels=["A", "B", "tie"],
    )


def _acc(ids: list[str], final: dict[str, str | None], gold: dict[str, Any]) -> float:
    return sum(1 for i in ids if final[i] == gold[i]) / len(ids) if ids else math.nan


def _macro(table: dict[str, dict[str, float]]) -> float:
    vals = [m["accuracy"] for m in table.values() if not math.isnan(m["accuracy"])]
    return sum(vals) / len(vals) if vals else math.nan


BENCHMARK = register_benchmark(
    Benchmark(
        name="mllm-judge",
        description="MLLM-as-a-Judge score/pair/batch (spec 7.1)",
        splits=SPLITS,
        protocols={s: f"mllm-judge/{s}" for s in SPLITS},
        load=load,
        evaluate=evaluate,
        default_trials=3,
        settings=(
            "Table 6: 3 samples per item in the dataset order; pair: signed vote over the "
            "samples, score: pooled Pearson, batch: normalised Levenshtein"
        ),
    )
)
