"""Records, predictions and scored results shared by every benchmark module."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flexjudge.bench._metrics import bootstrap_ci, mse, pearson, spearman
from flexjudge.errors import InputError
from flexjudge.protocol import (
    ANSWER_ORDERS,
    AnswerOrder,
    Mode,
    Protocol,
    Verdict,
    extract_reasoning,
    get_protocol,
)


@dataclass(slots=True)
class BenchRecord:
    """One benchmark item with its gold label, normalised from any source schema.

    ``gold`` is benchmark-specific (a float for score tasks, ``"A"``/``"B"``/``"tie"`` for
    pairs, a vote name for GenAI-Bench, a ranking string for MLLM batch).  ``error`` set means
    the source record was malformed: it becomes an error row and is never judged.
    """

    id: str
    gold: Any
    categories: dict[str, str] = field(default_factory=dict)
    question: str | None = None
    responses: list[str] = field(default_factory=list)
    images: Sequence[Any] = ()
    videos: Sequence[Any] = ()
    audios: Sequence[Any] = ()
    fields: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


@dataclass(slots=True)
class Prediction:
    """One judge output for one record and trial.  ``order[i]`` is the record's response
    index shown at position ``i`` (identity when empty).  ``status="error"``: no output (bad
    record, missing media, backend failure); ``error`` says why.

    ``verdict``: set when the prediction stands for several votes: their aggregate (in the
    presented order, like a parse of ``text``), which evaluators use instead of parsing
    ``text``.  ``extra["samples"]``: every vote's text after each budget-forcing round
    (``[{"order": [...], "rounds": [text, ...]}]``), from which the scaling sweep is scored.
    """

    id: str
    trial: int
    text: str | None
    order: tuple[int, ...] = ()
    status: str = "ok"
    error: str | None = None
    num_tokens: int = 0
    finish_reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    verdict: Verdict | None = None
    #: how ``text`` is parsed (``bench run --answer-order``); kept in the predictions file
    answer_order: AnswerOrder = "reasoning-first"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "trial": self.trial,
            "text": self.text,
            "order": list(self.order),
            "status": self.status,
            "error": self.error,
            "num_tokens": self.num_tokens,
            "finish_reason": self.finish_reason,
        }
        if self.extra:
            d["extra"] = self.extra
        if self.verdict is not None:
            d["verdict"] = self.verdict.to_dict()
        if self.answer_order != "reasoning-first":  # default files stay as they were
            d["answer_order"] = self.answer_order
        return d

    def parse(self, protocol: Protocol, mode: Mode, count: int | None = None) -> Verdict:
        """``verdict`` when set, else ``text`` parsed with ``protocol``."""
        if self.verdict is not None:
            return self.verdict
        return protocol.parse(
            self.text or "",
            mode=mode,
            count=count,
            finish_reason=self.finish_reason,
            answer_order=self.answer_order,
        )

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Prediction:
        return cls(
            id=str(d["id"]),
            trial=_count(d.get("trial", 0), str(d["id"]), "trial"),
            text=d.get("text"),
            order=tuple(_count(i, str(d["id"]), "order") for i in d.get("order") or ()),
            status=str(d.get("status", "ok")),
            error=d.get("error"),
            num_tokens=_count(d.get("num_tokens") or 0, str(d["id"]), "num_tokens"),
            finish_reason=d.get("finish_reason"),
            extra=dict(d.get("extra") or {}),
            verdict=Verdict.from_dict(d["verdict"]) if d.get("verdict") else None,
            answer_order=_answer_order(d.get("answer_order", "reasoning-first")),
        )


@dataclass(slots=True)
class ScoredRow:
    """One (record, trial) after parsing: what the plots and CIs are computed from."""

    id: str
    trial: int
    gold: Any
    pred: Any = None
    correct: bool | None = None
    failed: bool = False
    error: str | None = None
    categories: dict[str, str] = field(default_factory=dict)
    first_position: str | None = None  # "first" / "second" / "tie": positional preference
    len_diff: float | None = None  # words(response 0) - words(response 1)
    reasoning_words: int | None = None
    judge: float | None = None  # score tasks: judge score / distance
    human: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]


@dataclass
class BenchScore:
    """Scored benchmark split: headline metrics, CIs, per-category tables and counts.

    ``counts``: ``records``, ``scored`` (rows with a judge output), ``errors`` (bad record,
    missing media, backend failure — never judged), ``parse_failures`` (judged, no verdict),
    ``wrong`` and ``correct`` (classification tasks).  ``quirks`` lists every reference quirk
    that shaped the numbers.
    """

    benchmark: str
    split: str
    mode: str
    metrics: dict[str, float]
    ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    by_category: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    quirks: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rows: list[ScoredRow] = field(default_factory=list)
    kind: str = "classification"
    labels: list[str] = field(default_factory=list)
    #: reliability tables against the humans (``bench._reliability.analyses``)
    analyses: dict[str, Any] = field(default_factory=dict)

    @property
    def parse_failure_rate(self) -> float:
        judged = self.counts.get("scored", 0)
        return self.counts.get("parse_failures", 0) / judged if judged else math.nan

    def to_dict(self, *, include_rows: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "benchmark": self.benchmark,
            "split": self.split,
            "mode": self.mode,
            "kind": self.kind,
            **{k: _clean_float(v) for k, v in self.metrics.items()},
            "metrics": {k: _clean_float(v) for k, v in self.metrics.items()},
            "ci95": {k: [_clean_float(a), _clean_float(b)] for k, (a, b) in self.ci.items()},
            "by_category": {
                g: {c: {k: _clean_float(v) for k, v in m.items()} for c, m in cats.items()}
                for g, cats in self.by_category.items()
            },
            "counts": self.counts,
            "parse_failure_rate": _clean_float(self.parse_failure_rate),
            "quirks": self.quirks,
            "notes": self.notes,
        }
        if self.analyses:
            d["analyses"] = self.analyses
        if include_rows:
            d["rows"] = [r.to_dict() for r in self.rows]
        return d


def _clean_float(v: float) -> float | None:
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def group_predictions(preds: Iterable[Prediction]) -> dict[str, dict[int, Prediction]]:
    """``{record id: {trial: prediction}}``; a later duplicate replaces an earlier one."""
    out: dict[str, dict[int, Prediction]] = defaultdict(dict)
    for p in preds:
        out[p.id][p.trial] = p
    return out


def trials_of(grouped: dict[str, dict[int, Prediction]]) -> list[int]:
    return sorted({t for per in grouped.values() for t in per})


def reasoning_words(text: str | None) -> int | None:
    if not text:
        return None
    if "think>" not in text:
        return 0
    r = extract_reasoning(text)
    return len(r.split()) if r else 0


def word_len_diff(record: BenchRecord) -> float | None:
    """Word-count difference of the two responses (words = runs between spaces/newlines)."""
    if len(record.responses) != 2:
        return None
    a, b = record.responses
    return float(a.count(" ") + a.count("\n") - b.count(" ") - b.count("\n"))


def count_rows(rows: Sequence[ScoredRow], n_records: int) -> dict[str, int]:
    errors = failures = correct = wrong = 0
    for r in rows:
        if r.error is not None:
            errors += 1
            continue
        failures += r.failed
        if r.correct is True:
            correct += 1
        elif r.correct is False:
            wrong += 1
    return {
        "records": n_records,
        "rows": len(rows),
        "scored": len(rows) - errors,
        "errors": errors,
        "parse_failures": failures,
        "correct": correct,
        "wrong": wrong,
    }


def scored_categories(rows: Sequence[ScoredRow], group: str) -> list[str]:
    """The categories of ``group`` among rows that were judged: an error row (a bad record
    has no categories) never makes an empty ``all | – | 0`` table row."""
    return sorted({r.categories.get(group, "all") for r in rows if r.error is None})


def accuracy_table(
    rows: Sequence[ScoredRow], group: str, *, keep: Callable[[ScoredRow], bool] | None = None
) -> dict[str, dict[str, float]]:
    """Per-category accuracy (mean over trials of per-trial accuracy) for category ``group``.

    A category none of whose rows ``keep`` accepts is listed with accuracy ``nan`` (undefined,
    written as ``null``), never silently left out."""
    buckets: dict[str, list[ScoredRow]] = defaultdict(list)
    for r in rows:
        if r.error is None and r.correct is not None:
            bucket = buckets[r.categories.get(group, "all")]  # listed even if none is kept
            if keep is None or keep(r):
                bucket.append(r)
    return {
        c: {"accuracy": trial_mean_accuracy(b), "n": float(len(b))}
        for c, b in sorted(buckets.items())
    }


def trial_mean_accuracy(rows: Sequence[ScoredRow]) -> float:
    """Accuracy per trial, then the mean over trials (error rows excluded)."""
    per: dict[int, list[bool]] = defaultdict(list)
    for r in rows:
        if r.error is None and r.correct is not None:
            per[r.trial].append(bool(r.correct))
    if not per:
        return math.nan
    return sum(sum(v) / len(v) for v in per.values()) / len(per)


def item_means(
    rows: Sequence[ScoredRow], value: Callable[[ScoredRow], float | None]
) -> list[float]:
    """Per-record mean over trials of ``value`` (None skipped): the unit the bootstrap resamples."""
    if len({r.trial for r in rows}) <= 1:  # one trial: the rows are the items
        return [v for v in (value(r) for r in rows if r.error is None) if v is not None]
    per: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r.error is None:
            v = value(r)
            if v is not None:
                per[r.id].append(v)
    return [sum(v) / len(v) for v in per.values() if v]


def accuracy_ci(rows: Sequence[ScoredRow], seed: int = 0) -> tuple[float, float]:
    vals = item_means(rows, lambda r: None if r.correct is None else float(r.correct))
    return bootstrap_ci(vals, seed=seed)


def correlation_metrics(judge: Sequence[float], human: Sequence[float]) -> dict[str, float]:
    return {
        "pearson": pearson(judge, human),
        "spearman": spearman(judge, human),
        "mse": mse(judge, human),
        "n": float(len(judge)),
    }


def clean_fallback(protocol: str) -> float:
    """The value a clean-mode parse failure scores in a correlation: the midpoint of the
    protocol's scale (3.0 on 1-5), so a failure is never dropped from the statistic."""
    scale = get_protocol(protocol).scale
    if scale is None:
        raise ValueError(f"protocol {protocol!r} has no score scale")
    return (scale.low + scale.high) / 2


def judged_value(row: ScoredRow, fallback: float | None) -> float | None:
    """``row.judge``, or ``fallback`` for a parse failure (``None``: error rows, or no
    fallback)."""
    if row.error is not None or row.human is None:
        return None
    return row.judge if row.judge is not None else fallback


def per_trial_correlation(
    rows: Sequence[ScoredRow], fallback: float | None = None
) -> dict[str, float]:
    """LCC/SRCC/MSE per trial over every judged row, then the mean over trials.

    A parse failure counts with its value: the reference fallback already stored in
    ``judge`` (reference mode), or ``fallback`` (clean mode: :func:`clean_fallback`).  An
    undefined correlation (a constant series) stays ``nan`` — ``null`` in reports — as
    scipy's ``pearsonr`` gives ``audio_eval``; trials where it is defined are averaged.
    """
    per: dict[int, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for r in rows:
        v = judged_value(r, fallback)
        if v is not None and r.human is not None:
            j, h = per[r.trial]
            j.append(v)
            h.append(r.human)
    if not per:
        return {"pearson": math.nan, "spearman": math.nan, "mse": math.nan, "n": 0.0}
    stats = [correlation_metrics(j, h) for j, h in per.values()]
    out = {}
    for k in ("pearson", "spearman", "mse", "n"):
        defined = [s[k] for s in stats if not math.isnan(s[k])]
        out[k] = sum(defined) / len(defined) if defined else math.nan
    return out


def correlation_ci(
    rows: Sequence[ScoredRow], seed: int = 0, fallback: float | None = None
) -> dict[str, tuple[float, float]]:
    pairs: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in rows:
        v = judged_value(r, fallback)
        if v is not None and r.human is not None:
            pairs[r.id].append((v, r.human))
    j = [sum(p[0] for p in v) / len(v) for v in pairs.values()]
    h = [v[0][1] for v in pairs.values()]
    return {
        "pearson": bootstrap_ci(j, paired=h, statistic="pearson", seed=seed),
        "spearman": bootstrap_ci(j, paired=h, statistic="spearman", seed=seed),
    }


def _answer_order(value: Any) -> AnswerOrder:
    if value not in ANSWER_ORDERS:
        raise InputError(
            f"answer_order must be one of {ANSWER_ORDERS}, got {value!r}", field="answer_order"
        )
    return value  # type: ignore[no-any-return]


def _count(value: Any, record: str, name: str) -> int:
    """A non-negative integer field of a predictions line (``1.0`` and ``"2"`` pass)."""
    try:
        number = int(value)
        exact = not isinstance(value, bool) and number == float(value)
    except (TypeError, ValueError, OverflowError):
        exact = False
    if not exact or number < 0:
        raise InputError(
            f"must be a non-negative integer, got {value!r}", record=record, field=name
        )
    return number
