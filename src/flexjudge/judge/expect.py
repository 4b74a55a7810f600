"""Expected scores of a result: the samples' score distributions in the caller's order.

Each parsed sample whose answers carried log-probabilities has one distribution per
presented response (``verdict.extra["distribution"]``, see
:func:`flexjudge.protocol.answer_distributions`).  A result's distribution for response
``i`` is the mixture (mean) of its samples' distributions for that response, its expected
score the mixture's mean, and for two responses ``p_first_better`` the mean over samples of
P(first > second) + ½ P(tie).  Samples without distributions do not count; a result none of
whose samples has one gets none (never an invented expectation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flexjudge.judge.types import Sample
from flexjudge.protocol import ParseStatus, expected_value, p_first_better


@dataclass
class Expectation:
    scores: list[float]
    distributions: list[dict[str, float]]
    p_first_better: float | None


def expectation(samples: Sequence[Sample], n_responses: int) -> Expectation | None:
    per_sample: list[list[dict[int, float]]] = []
    for s in samples:
        rows = s.verdict.extra.get("distribution") if s.verdict.status is ParseStatus.OK else None
        if not rows or len(rows) != len(s.order) or len(s.order) != n_responses:
            continue
        caller: list[dict[int, float]] = [{} for _ in range(n_responses)]
        for pos, row in enumerate(rows):
            caller[s.order[pos]] = {int(v): float(p) for v, p in row}
        per_sample.append(caller)
    if not per_sample:
        return None
    mixtures: list[dict[int, float]] = []
    for i in range(n_responses):
        mix: dict[int, float] = {}
        for caller in per_sample:
            for v, p in caller[i].items():
                mix[v] = mix.get(v, 0.0) + p / len(per_sample)
        mixtures.append(dict(sorted(mix.items())))
    first = None
    if n_responses == 2:
        first = sum(p_first_better(c[0], c[1]) for c in per_sample) / len(per_sample)
    return Expectation(
        scores=[expected_value(m) for m in mixtures],
        distributions=[{str(v): p for v, p in m.items()} for m in mixtures],
        p_first_better=first,
    )
