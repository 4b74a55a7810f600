"""Walking a benchmark's (record, trial) grid: the error row for a trial that cannot be
scored (bad record, missing or failed prediction), shared by every ``evaluate``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from flexjudge.bench._core import (
    BenchRecord,
    Prediction,
    ScoredRow,
    group_predictions,
    reasoning_words,
    trials_of,
)


def record_trials(
    records: Sequence[BenchRecord], preds: Sequence[Prediction]
) -> Iterator[tuple[BenchRecord, int, Prediction | None]]:
    grouped = group_predictions(preds)
    trials = trials_of(grouped) or [0]
    for rec in records:
        for t in trials:
            p = grouped.get(rec.id, {}).get(t)
            yield rec, t, p


def error_row(rec: BenchRecord, t: int, p: Prediction | None) -> ScoredRow | None:
    if rec.error is not None:
        return ScoredRow(rec.id, t, rec.gold, error=rec.error, categories=rec.categories)
    if p is None:
        return ScoredRow(
            rec.id, t, rec.gold, error="no prediction for this trial", categories=rec.categories
        )
    if p.status == "error" or p.text is None:
        return ScoredRow(
            rec.id, t, rec.gold, error=p.error or "no output", categories=rec.categories
        )
    return None


def scorable_trials(
    records: Sequence[BenchRecord], preds: Sequence[Prediction], rows: list[ScoredRow]
) -> Iterator[tuple[BenchRecord, int, Prediction, str]]:
    """Every (record, trial) with an output to score, as ``(record, trial, prediction, text)``.

    Trials that cannot be scored (bad record, missing or failed prediction) are appended to
    ``rows`` as error rows instead of being yielded.
    """
    for rec, t, p in record_trials(records, preds):
        err = error_row(rec, t, p)
        if err is not None:
            rows.append(err)
            continue
        assert p is not None and p.text is not None
        yield rec, t, p, p.text


def value_row(
    rec: BenchRecord, t: int, value: float | None, failed: bool, text: str, human: float
) -> ScoredRow:
    """The row of a trial judged on a numeric scale (``value`` against the human ``human``)."""
    return ScoredRow(
        rec.id,
        t,
        rec.gold,
        value,
        None,
        failed,
        None,
        rec.categories,
        reasoning_words=reasoning_words(text),
        judge=value,
        human=human,
    )
