"""The built-in reducers (rules documented in docs/judging.md)."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence

from flexjudge.judge.reduce._registry import reducer
from flexjudge.judge.reduce._views import CallerView, mean_scores


@reducer("mean", kind="score")
def mean_score(values: Sequence[float]) -> float:
    return statistics.fmean(values)


@reducer("median", kind="score")
def median_score(values: Sequence[float]) -> float:
    return statistics.median(values)


def pair_labels(views: Sequence[CallerView]) -> list[str]:
    """Each vote's preference; a vote without one counts as ``tie``."""
    return [v.preference or "tie" for v in views]


@reducer("majority", kind="pair")
def majority_preference(views: Sequence[CallerView]) -> str:
    """The most frequent preference; a shared top count is ``tie``."""
    c = Counter(pair_labels(views))
    best = max(c.values())
    winners = [k for k in ("A", "B", "tie") if c.get(k, 0) == best]
    return winners[0] if len(winners) == 1 else "tie"


@reducer("signed", kind="pair")
def signed_preference(views: Sequence[CallerView]) -> str:
    """MLLM-as-a-Judge: A→−1, B→+1, tie→0, summed."""
    total = sum({"A": -1, "B": 1}.get(label, 0) for label in pair_labels(views))
    return "A" if total < 0 else "B" if total > 0 else "tie"


@reducer("mean", kind="pair", pooled=True)
def mean_preference(views: Sequence[CallerView]) -> str | None:
    """The preference of the mean scores; None when the votes carry no score pair."""
    s = mean_scores(views)
    if s is None or len(s) != 2:
        return None
    return "A" if s[0] > s[1] else "B" if s[0] < s[1] else "tie"


@reducer("borda", kind="rank")
def borda_ranking(views: Sequence[CallerView], n: int) -> list[int]:
    """Position p of k earns k-1-p points per vote; equal totals keep the caller's order."""
    points = [0.0] * n
    for v in views:
        if v.ranking is None:
            continue
        for pos, idx in enumerate(v.ranking):
            points[idx] += len(v.ranking) - 1 - pos
    return sorted(range(n), key=lambda i: (-points[i], i))


@reducer("mean", kind="rank")
def mean_ranking(views: Sequence[CallerView], n: int) -> list[int] | None:
    """Order of the mean scores (equal means keep the caller's order); None without scores."""
    s = mean_scores(views)
    if s is None:
        return None
    return sorted(range(len(s)), key=lambda i: (-s[i], i))


def first_most_common(labels: Sequence[str]) -> str:
    """The most frequent label; equal counts go to the one seen first (``Counter`` order)."""
    return Counter(labels).most_common(1)[0][0]
