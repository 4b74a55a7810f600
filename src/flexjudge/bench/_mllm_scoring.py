"""MLLM-as-a-Judge scoring of the ``score`` (Pearson) and ``batch`` (normalised Levenshtein)
splits.  Definitions: see
:mod:`flexjudge.bench.tasks.mllm_judge` and docs/benchmarks.md."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from flexjudge.bench._core import (
    BenchRecord,
    BenchScore,
    Prediction,
    ScoredRow,
    clean_fallback,
    correlation_ci,
    count_rows,
    judged_value,
    reasoning_words,
    scored_categories,
)
from flexjudge.bench._metrics import (
    bootstrap_ci,
    median3,
    nan_to_zero,
    normalized_levenshtein,
    pearson,
)
from flexjudge.bench._trials import scorable_trials, value_row
from flexjudge.errors import InputError
from flexjudge.protocol import Mode, Verdict, get_protocol
from flexjudge.protocol._parse import REF_INT


def evaluate_score(
    records: Sequence[BenchRecord], preds: Sequence[Prediction], mode: Mode
) -> BenchScore:
    proto = get_protocol("mllm-judge/score")
    rows: list[ScoredRow] = []
    for rec, t, p, text in scorable_trials(records, preds, rows):
        value: float | None
        if mode == "reference" and p.verdict is None:
            m = REF_INT.search(text)
            value = int(m.group(1)) if m else -1  # Q17; int() as the script
            failed = m is None
        else:
            v = p.parse(proto, "clean", 1)
            value = v.scores[0] if v.ok and v.scores else None
            failed = value is None
            if failed and mode == "reference":
                value = -1.0  # Q17, for an aggregate of votes none of which parsed
        rows.append(value_row(rec, t, value, failed, text, float(rec.gold)))
    trials = sorted({r.trial for r in rows})
    by_cat: dict[str, dict[str, float]] = {}
    quirks: list[str] = []
    notes: list[str] = []
    impute = clean_fallback("mllm-judge/score") if mode == "clean" else None
    cats = scored_categories(rows, "original_dataset")
    for c in cats:
        crows = [
            (r, value)
            for r in rows
            if r.categories.get("original_dataset", "all") == c
            and (value := judged_value(r, impute)) is not None
        ]
        if mode == "reference":
            pooled_j: list[float] = []
            pooled_h: list[float] = []
            rs = []
            for t in trials:
                pooled_j += [v for r, v in crows if r.trial == t]
                pooled_h += [float(r.gold) for r, _ in crows if r.trial == t]
                if len(pooled_j) < 2:  # scipy's pearsonr raises on fewer than two rows
                    raise InputError(
                        f"reference mode: category {c!r} has {len(pooled_j)} scored row(s) in "
                        f"trial {t}; the reference's pearsonr raises here (clean mode reports "
                        "the category as undefined)",
                        field="original_dataset",
                    )
                rs.append(nan_to_zero(pearson(pooled_j, pooled_h)))
            by_cat[c] = {"pearson": median3(rs), "n": float(len(crows))}
        else:
            per = [
                pearson(
                    [v for r, v in crows if r.trial == t],
                    [float(r.gold) for r, _ in crows if r.trial == t],
                )
                for t in trials
            ]
            per = [x for x in per if not math.isnan(x)]
            by_cat[c] = {
                "pearson": sum(per) / len(per) if per else math.nan,
                "n": float(len(crows)),
            }
    undefined = [c for c, m in by_cat.items() if math.isnan(m["pearson"])]
    if undefined:
        notes.append(
            f"Pearson undefined (fewer than two rows or a constant series) for {undefined}; "
            "left out of the average"
        )
    if impute is not None and any(r.failed for r in rows):
        notes.append(f"parse failures score the scale midpoint {impute:g} (clean fallback)")
    vals = [m["pearson"] for m in by_cat.values() if not math.isnan(m["pearson"])]
    metrics = {"pearson": sum(vals) / len(vals) if vals else math.nan}
    if mode == "reference":
        quirks = [
            "Q17: unparsable outputs score -1 and stay in the correlation",
            "Q7: category r = median of r(trial 0), r(trials 0-1 pooled), "
            "r(trials 0-2 pooled); Pearson nan -> 0",
            "Q8: reference prints categories in set order; sorted here",
        ]
    ci = correlation_ci(rows, fallback=impute)
    return BenchScore(
        "mllm-judge",
        "score",
        mode,
        metrics,
        {"pearson": ci["pearson"]},
        {"original_dataset": by_cat},
        count_rows(rows, len(records)),
        quirks,
        notes,
        rows=rows,
        kind="correlation",
    )


def ranking_letters(scores: Sequence[float], *, reference: bool) -> str:
    """Letters A, B, ... sorted best first; reference: ``sorted(zip(v, letters), reverse=True)``
    (equal scores put the later letter first); clean: ties keep the letter order."""
    letters = [chr(65 + i) for i in range(len(scores))]
    if reference:
        pairs = sorted(zip(scores, letters, strict=True), reverse=True)
        return "".join(letter for _, letter in pairs)
    return "".join(letters[i] for i in sorted(range(len(scores)), key=lambda i: (-scores[i], i)))


def evaluate_batch(
    records: Sequence[BenchRecord], preds: Sequence[Prediction], mode: Mode
) -> BenchScore:
    proto = get_protocol("mllm-judge/batch")
    rows: list[ScoredRow] = []
    for rec, t, p, text in scorable_trials(records, preds, rows):
        if mode == "reference" and p.verdict is None:
            ints: list[float] = [int(x) for x in REF_INT.findall(text)]  # exact, as int()
            ranking = ranking_letters(ints, reference=True)
            failed = len(ints) != len(rec.responses)
        else:
            v = p.parse(proto, "clean", len(rec.responses))
            ranking = _ranking_of(v, mode) if v.ok else ""
            failed = not v.ok
        dist = normalized_levenshtein(ranking, str(rec.gold))
        rows.append(
            ScoredRow(
                rec.id,
                t,
                rec.gold,
                ranking,
                None,
                failed,
                None,
                rec.categories,
                reasoning_words=reasoning_words(text),
                judge=dist,
            )
        )
    trials = sorted({r.trial for r in rows})
    by_cat: dict[str, dict[str, float]] = {}
    for c in scored_categories(rows, "original_dataset"):
        crows = [
            r
            for r in rows
            if r.categories.get("original_dataset", "all") == c
            and r.error is None
            and r.judge is not None
        ]
        if mode == "reference":
            seen: list[float] = []
            cumulative = []
            for t in trials:
                seen += [r.judge for r in crows if r.trial == t and r.judge is not None]
                if seen:
                    cumulative.append(sum(seen) / len(seen))
            value = max(cumulative) if cumulative else math.nan
        else:
            per = []
            for t in trials:
                d = [r.judge for r in crows if r.trial == t and r.judge is not None]
                if d:
                    per.append(sum(d) / len(d))
            value = sum(per) / len(per) if per else math.nan
        by_cat[c] = {"levenshtein": value, "n": float(len(crows))}
    vals = [m["levenshtein"] for m in by_cat.values() if not math.isnan(m["levenshtein"])]
    metrics = {"levenshtein": sum(vals) / len(vals) if vals else math.nan}
    quirks = (
        [
            "Q7: cumulative (pooled) means over trials",
            "Q8: category value = max (worst) of the cumulative means",
            "all <answer> integers are used; equal scores rank the later letter first",
        ]
        if mode == "reference"
        else []
    )
    per_item = [sum(v) / len(v) for v in _by_id(rows).values() if v]
    return BenchScore(
        "mllm-judge",
        "batch",
        mode,
        metrics,
        {"levenshtein": bootstrap_ci(per_item)},
        {"original_dataset": by_cat},
        count_rows(rows, len(records)),
        quirks,
        rows=rows,
        kind="distance",
    )


def _ranking_of(v: Verdict, mode: Mode) -> str:
    """Letters best first from a verdict's scores (or, for an aggregate of votes without
    per-answer scores, its ranking)."""
    if v.scores:
        return ranking_letters(list(v.scores), reference=mode == "reference")
    return "".join(chr(65 + i) for i in v.ranking or ())


def _by_id(rows: Sequence[ScoredRow]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r.error is None and r.judge is not None:
            out[r.id].append(r.judge)
    return out
