"""One vote's verdict in the caller's response order."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from flexjudge.judge.types import Sample

_FLIP_OPTION = {"A>B": "B>A", "B>A": "A>B"}


@dataclass
class CallerView:
    scores: list[float] | None
    preference: str | None
    ranking: list[int] | None
    option: str | None


def to_caller(sample: Sample, n: int) -> CallerView:
    """Express one sample's verdict in the caller's response order."""
    v, order = sample.verdict, sample.order
    flipped = len(order) == 2 and order[0] == 1
    scores = None
    if v.scores and len(v.scores) == len(order):
        scores = [0.0] * len(order)
        for pos, caller in enumerate(order):
            scores[caller] = v.scores[pos]
    elif v.scores:
        scores = list(v.scores)
    pref = v.preference
    if pref in ("A", "B") and flipped:
        pref = "B" if pref == "A" else "A"
    option = v.option
    if option is not None and flipped:
        option = _FLIP_OPTION.get(option, option)
    ranking = [order[p] for p in v.ranking] if v.ranking is not None else None
    return CallerView(scores, pref, ranking, option)


def mean_scores(views: Sequence[CallerView]) -> list[float] | None:
    """Per-response mean of the votes' scores; None without scores or with ragged rows."""
    rows = [v.scores for v in views if v.scores is not None]
    if not rows or len({len(r) for r in rows}) != 1:
        return None
    return [statistics.fmean(col) for col in zip(*rows, strict=True)]
