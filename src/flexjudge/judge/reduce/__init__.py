"""Map per-sample verdicts back to the caller's order and aggregate votes.

Rules (documented in docs/judging.md):

* **score** — ``mean`` (default) or ``median`` of the parsed scores.
* **compare** — ``majority`` (default): the most frequent preference among parsed samples;
  when the top count is shared (``A`` and ``B``, or a label and ``tie``) the result is ``tie``.
  ``signed``: the MLLM-as-a-Judge rule, A→−1, B→+1, tie→0 summed (``{A, tie, tie}`` → ``A``).
  ``mean``: the preference of the mean scores (falls back to ``majority`` when the protocol
  gives no per-response scores).  With ``swap`` and ``swap_policy="tie"`` each presentation order is
  aggregated on its own and a disagreement between the orders becomes ``tie``;
  ``swap_policy="mean"`` pools all samples and compares mean scores.
* **option** — the most frequent option; equal counts go to the option seen first
  (GenAI-Bench's ``Counter.most_common`` rule).  With swap, disagreeing orders give ``tie``.
* **rank** — ``borda`` (default): a response at position p of n earns n-1-p points per
  sample; ``mean``: order of the mean scores.  Equal totals keep the caller's order.

Samples that fail to parse are counted in ``n_failed`` and never vote.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from flexjudge._util.labels import ranking_key
from flexjudge.judge.types import Sample, Task
from flexjudge.protocol import Format, ParseStatus

ScoreAggregate = Literal["mean", "median"]
PairAggregate = Literal["majority", "signed", "mean"]
RankAggregate = Literal["borda", "mean"]
SwapPolicy = Literal["tie", "mean"]

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


@dataclass
class Aggregate:
    status: str
    scores: list[float] | None = None
    preference: str | None = None
    ranking: list[int] | None = None
    option: str | None = None
    votes: dict[str, int] | None = None
    agreement: float | None = None
    n_failed: int = 0


def _majority_preference(labels: Sequence[str]) -> str:
    c = Counter(labels)
    best = max(c.values())
    winners = [k for k in ("A", "B", "tie") if c.get(k, 0) == best]
    return winners[0] if len(winners) == 1 else "tie"


def _signed_preference(labels: Sequence[str]) -> str:
    total = sum({"A": -1, "B": 1}.get(label, 0) for label in labels)
    return "A" if total < 0 else "B" if total > 0 else "tie"


def _first_most_common(labels: Sequence[str]) -> str:
    return Counter(labels).most_common(1)[0][0]


def _mean_scores(views: Sequence[CallerView]) -> list[float] | None:
    rows = [v.scores for v in views if v.scores is not None]
    if not rows or len({len(r) for r in rows}) != 1:
        return None
    return [statistics.fmean(col) for col in zip(*rows, strict=True)]


def aggregate(
    task: Task,
    fmt: Format,
    samples: Sequence[Sample],
    n_responses: int,
    *,
    score_agg: ScoreAggregate = "mean",
    pair_agg: PairAggregate = "majority",
    rank_agg: RankAggregate = "borda",
    swap_policy: SwapPolicy = "tie",
) -> Aggregate:
    ok = [s for s in samples if s.verdict.status is ParseStatus.OK]
    n_failed = len(samples) - len(ok)
    if not ok:
        # a parse failure says more than a backend error; all backend errors: "error"
        failed = [s.verdict.status for s in samples if s.verdict.status is not ParseStatus.ERROR]
        status = failed[0].value if failed else "error"
        return Aggregate(status=status, n_failed=n_failed)
    views = [to_caller(s, n_responses) for s in ok]
    agg = Aggregate(status=ParseStatus.OK.value, n_failed=n_failed)
    if fmt is Format.OPTION:
        labels = [v.option or "" for v in views]
        by_order = _group(ok, labels)
        if len(by_order) > 1 and swap_policy == "tie":
            finals = {_first_most_common(g) for g in by_order.values()}
            agg.option = finals.pop() if len(finals) == 1 else None
        else:
            agg.option = _first_most_common(labels)
        agg.preference = {"A>B": "A", "B>A": "B"}.get(agg.option or "", "tie")
        agg.votes = dict(Counter(labels))
        agg.agreement = labels.count(agg.option or "") / len(labels) if agg.option else 0.0
        return agg
    agg.scores = _mean_scores(views)
    if task == "score" or fmt is Format.SCORE:
        values = [v.scores[0] for v in views if v.scores]
        final = statistics.median(values) if score_agg == "median" else statistics.fmean(values)
        agg.scores = [final]
        agg.votes = dict(Counter(f"{x:g}" for x in values))
        modal = Counter(values).most_common(1)[0][1]
        agg.agreement = modal / len(values)
        return agg
    if fmt is Format.PAIR and n_responses == 2:
        labels = [v.preference or "tie" for v in views]
        by_order = _group(ok, labels)
        vote = _signed_preference if pair_agg == "signed" else _majority_preference
        by_mean = pair_agg == "mean" or (len(by_order) > 1 and swap_policy == "mean")
        if by_mean and agg.scores is not None and len(agg.scores) == 2:
            s = agg.scores
            agg.preference = "A" if s[0] > s[1] else "B" if s[0] < s[1] else "tie"
        elif len(by_order) > 1 and swap_policy == "tie":
            finals = {vote(g) for g in by_order.values()}
            agg.preference = finals.pop() if len(finals) == 1 else "tie"
        else:
            agg.preference = vote(labels)
        agg.ranking = [0, 1] if agg.preference != "B" else [1, 0]
        agg.votes = dict(Counter(labels))
        agg.agreement = labels.count(agg.preference) / len(labels)
        return agg
    rankings = [v.ranking for v in views if v.ranking is not None]
    if rank_agg == "mean" and agg.scores is not None:
        s = agg.scores
        agg.ranking = sorted(range(len(s)), key=lambda i: (-s[i], i))
    else:
        points = [0.0] * n_responses
        for r in rankings:
            for pos, idx in enumerate(r):
                points[idx] += len(r) - 1 - pos
        agg.ranking = sorted(range(n_responses), key=lambda i: (-points[i], i))
    keys = [ranking_key(r) for r in rankings]
    agg.votes = dict(Counter(keys))
    final_key = ranking_key(agg.ranking)
    agg.agreement = keys.count(final_key) / len(keys) if keys else None
    if n_responses == 2 and agg.scores:
        agg.preference = "A" if agg.ranking[0] == 0 else "B"
    return agg


def _group(samples: Sequence[Sample], labels: Sequence[str]) -> dict[tuple[int, ...], list[str]]:
    groups: dict[tuple[int, ...], list[str]] = {}
    for s, label in zip(samples, labels, strict=True):
        groups.setdefault(s.order, []).append(label)
    return groups
