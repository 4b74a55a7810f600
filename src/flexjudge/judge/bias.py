"""Position-bias report over a batch of results (paper §5: Flex-Judge favours position one).

For every result and every presentation order among its samples, the samples of that order
are reduced to one *decision*: which presented position won (majority of the parsed samples'
verdicts; a shared top count is a tie).  Two rates follow:

* **first-position preference rate** — among decisions that are not ties, the share in which
  the response shown first won.  An unbiased judge sits near 0.5 when orders are balanced
  (``swap=True`` shows each response first once).
* **consistency rate** — among results judged in two or more orders (``swap=True``) whose
  every order reached a decision, the share whose decisions, mapped back to the caller's
  order, name the same winner (a tie counts as a winner, so tie/tie is consistent).

Failed samples never vote; results with ``status="error"`` are skipped and counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from flexjudge.judge.types import JudgeResult, Sample
from flexjudge.protocol import ParseStatus

_OPTION_WINNER = {"A>B": 0, "B>A": 1}


@dataclass(frozen=True)
class PositionBiasReport:
    """Batch-level position-bias numbers (rates are ``None`` when nothing was countable)."""

    results: int
    skipped: int
    decisions: int
    first_position_wins: int
    ties: int
    first_position_rate: float | None
    swapped: int
    consistent: int
    consistency_rate: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _presented_winner(sample: Sample) -> int | None:
    """The presented position that won (``-1`` for a tie), or ``None`` if not countable."""
    v = sample.verdict
    if v.status is not ParseStatus.OK:
        return None
    if v.option is not None:
        return _OPTION_WINNER.get(v.option, -1)
    if v.preference is not None:
        return {"A": 0, "B": 1}.get(v.preference, -1)
    if v.ranking:
        best = v.ranking[0]
        if (
            v.scores
            and len(v.scores) > 1
            and sorted(v.scores, reverse=True)[:2].count(v.scores[best]) > 1
        ):
            return -1
        return best
    return None


def _decide(winners: Sequence[int]) -> int:
    counts = Counter(winners).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return -1
    return counts[0][0]


def order_decisions(samples: Iterable[Sample]) -> list[tuple[tuple[int, ...], int]]:
    """Each presentation order's decision: the presented position that won the majority of
    that order's countable samples (``-1``: tie), in order of first appearance."""
    by_order: dict[tuple[int, ...], list[int]] = {}
    for s in samples:
        w = _presented_winner(s)
        if w is not None and len(s.order) >= 2:
            by_order.setdefault(tuple(s.order), []).append(w)
    return [(order, _decide(winners)) for order, winners in by_order.items()]


def position_bias(results: Iterable[JudgeResult]) -> PositionBiasReport:
    """Consistency and first-position preference rates over ``results`` (see module doc).

    Uses each result's recorded ``order_decisions`` and recomputes them from ``samples``
    only where they were not recorded.  Never raises on odd input: results without
    countable samples are only counted in ``skipped``.
    """
    n = skipped = decisions = first = ties = swapped = consistent = 0
    for result in results:
        n += 1
        if result.status == "error":
            skipped += 1
            continue
        per_order = result.order_decisions
        if per_order is None:
            per_order = order_decisions(result.samples)
        if not per_order:
            skipped += 1
            continue
        caller_winners = []
        for order, decision in per_order:
            decisions += 1
            if decision == -1:
                ties += 1
                caller_winners.append(-1)
            else:
                first += decision == 0
                caller_winners.append(order[decision])
        if len(per_order) >= 2:
            swapped += 1
            consistent += len(set(caller_winners)) == 1
    counted = decisions - ties
    return PositionBiasReport(
        results=n,
        skipped=skipped,
        decisions=decisions,
        first_position_wins=first,
        ties=ties,
        first_position_rate=first / counted if counted else None,
        swapped=swapped,
        consistent=consistent,
        consistency_rate=consistent / swapped if swapped else None,
    )


def order_draws(seed: int | None, positions: Sequence[int]) -> list[float]:
    """VL-RewardBench's ``u`` for each input position: the ``p``-th draw of
    ``numpy.random.RandomState(seed).uniform()`` (one draw per position, in input order);
    ``u < 0.5`` keeps the original order, otherwise the responses are reversed."""
    if not positions:
        return []
    rng = np.random.RandomState(seed if seed is not None else 0)
    u = rng.uniform(size=max(positions) + 1)
    return [float(u[p]) for p in positions]
