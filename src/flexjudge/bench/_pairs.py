"""Scoring shared by the two-response preference benchmarks (VL-RewardBench, MJ-Bench,
JudgeLM, PandaLM): undo the presentation order, apply the reference tie fallback, and compute
accuracy with/without ties and macro precision/recall/F1 over {tie, A, B}."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence

from flexjudge.bench._core import (
    BenchRecord,
    BenchScore,
    Prediction,
    ScoredRow,
    accuracy_ci,
    accuracy_table,
    count_rows,
    group_predictions,
    reasoning_words,
    trials_of,
    word_len_diff,
)
from flexjudge.bench._metrics import precision_recall_f1
from flexjudge.bench._trials import error_row
from flexjudge.protocol import Mode, get_protocol

PREF_LABELS = ("tie", "A", "B")


_POSITION = {"A": "first", "B": "second", "tie": "tie"}


def positional(label: str | None) -> str | None:
    return _POSITION.get(label or "")


def unswap(label: str | None, order: Sequence[int]) -> str | None:
    """Map a positional preference back to the record's order (``order`` = shown indices)."""
    if label in ("A", "B") and tuple(order[:2]) == (1, 0):
        return "B" if label == "A" else "A"
    return label


def score_rows(
    records: Sequence[BenchRecord],
    preds: Sequence[Prediction],
    mode: Mode,
    protocol: str,
    *,
    flip_back: Callable[[int, Mode], bool] = lambda trial, mode: True,
) -> list[ScoredRow]:
    """One row per (record, trial).  A prediction's ``extra["label"]`` (a published verdict
    already in record order, or ``None`` for unparsable) overrides parsing ``text``."""
    proto = get_protocol(protocol)
    grouped = group_predictions(preds)
    trials = trials_of(grouped) or [0]
    rows: list[ScoredRow] = []
    none: dict[int, Prediction] = {}
    reference = mode == "reference"
    for rec in records:
        per = grouped.get(rec.id, none)
        len_diff = word_len_diff(rec) if rec.error is None else None
        for t in trials:
            p = per.get(t)
            err = error_row(rec, t, p)
            if err is not None:
                rows.append(err)
                continue
            assert p is not None and p.text is not None
            extra = p.extra
            label: str | None
            if "label" in extra:  # a published verdict, already in record order
                label = extra["label"]
                if label is not None and type(label) is not str:
                    label = str(label)
                pred = label
                failed = label is None
                first = _POSITION.get(label or "")
            else:
                v = p.parse(proto, mode, 2)
                label = v.preference if v.ok else None
                failed = label is None
                first = _POSITION.get(label or "") if p.order else None
                if failed and reference:
                    label = "tie"  # Q17 tie fallbacks ([0, 0], 2)
                pred = unswap(label, p.order) if flip_back(t, mode) else label
            text = p.text
            words = (reasoning_words(text) if "think>" in text else 0) if text else None
            rows.append(
                ScoredRow(
                    rec.id,
                    t,
                    rec.gold,
                    pred,
                    pred == rec.gold,
                    failed,
                    None,
                    rec.categories,
                    first or _POSITION.get(label or ""),
                    len_diff,
                    words,
                )
            )
    return rows


def preference_metrics(rows: Sequence[ScoredRow]) -> dict[str, float]:
    """Per trial: accuracy (ties and failures count wrong), accuracy without ties (rows whose
    prediction or gold is a tie are left out), macro P/R/F1 over {tie, A, B}; then the mean
    over trials."""
    per: dict[int, list[ScoredRow]] = defaultdict(list)
    for r in rows:
        if r.error is None:
            per[r.trial].append(r)
    if not per:
        return {
            "accuracy": math.nan,
            "accuracy_no_tie": math.nan,
            "precision": math.nan,
            "recall": math.nan,
            "f1": math.nan,
        }
    sums: dict[str, list[float]] = defaultdict(list)
    for rs in per.values():
        sums["accuracy"].append(sum(1 for r in rs if r.correct) / len(rs))
        nt = [r for r in rs if r.pred != "tie" and r.gold != "tie"]
        if nt:
            sums["accuracy_no_tie"].append(sum(1 for r in nt if r.correct) / len(nt))
        prf = precision_recall_f1([r.pred for r in rs], [r.gold for r in rs], PREF_LABELS)
        for k in ("precision", "recall", "f1"):
            sums[k].append(prf[k])
    out = {k: sum(v) / len(v) for k, v in sums.items()}
    out.setdefault("accuracy_no_tie", math.nan)
    return out


def preference_score(
    benchmark: str,
    split: str,
    mode: Mode,
    records: Sequence[BenchRecord],
    rows: list[ScoredRow],
    groups: Sequence[str],
    quirks: list[str],
    *,
    keep: Callable[[ScoredRow], bool] | None = None,
) -> BenchScore:
    """A :class:`BenchScore` with :func:`preference_metrics`, per-category accuracy for each
    of ``groups`` and a bootstrap CI of the accuracy.  ``keep`` filters the scored rows."""
    scored = [r for r in rows if keep is None or keep(r)]
    metrics = preference_metrics(scored)
    by_cat = {g: accuracy_table(scored, g) for g in groups}
    return BenchScore(
        benchmark,
        split,
        mode,
        metrics,
        {"accuracy": accuracy_ci(scored)},
        by_cat,
        count_rows(rows, len(records)),
        quirks,
        rows=list(rows),
        labels=list(PREF_LABELS),
    )
