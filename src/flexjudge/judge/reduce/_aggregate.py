"""One item's samples → one :class:`Aggregate`, through the selected reducers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from flexjudge._util.labels import ranking_key
from flexjudge.judge.reduce._builtin import first_most_common, pair_labels
from flexjudge.judge.reduce._registry import get_reducer
from flexjudge.judge.reduce._views import CallerView, mean_scores, to_caller
from flexjudge.judge.types import Sample, Task
from flexjudge.protocol import Format, ParseStatus

#: names of registered reducers (built-in: mean, median / majority, signed, mean / borda, mean)
ScoreAggregate = str
PairAggregate = str
RankAggregate = str
SwapPolicy = Literal["tie", "mean"]

T = TypeVar("T")


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
    """Aggregate the parsed samples of one item; failed samples are counted, never vote."""
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
            finals = {first_most_common(g) for g in by_order.values()}
            agg.option = finals.pop() if len(finals) == 1 else None
        else:
            agg.option = first_most_common(labels)
        agg.preference = {"A>B": "A", "B>A": "B"}.get(agg.option or "", "tie")
        agg.votes = dict(Counter(labels))
        agg.agreement = labels.count(agg.option or "") / len(labels) if agg.option else 0.0
        return agg
    agg.scores = mean_scores(views)
    if task == "score" or fmt is Format.SCORE:
        values = [v.scores[0] for v in views if v.scores]
        agg.scores = [get_reducer("score", score_agg).fn(values)]
        agg.votes = dict(Counter(f"{x:g}" for x in values))
        modal = Counter(values).most_common(1)[0][1]
        agg.agreement = modal / len(values)
        return agg
    if fmt is Format.PAIR and n_responses == 2:
        labels = pair_labels(views)
        agg.preference = _pair_preference(ok, views, pair_agg, swap_policy)
        agg.ranking = [0, 1] if agg.preference != "B" else [1, 0]
        agg.votes = dict(Counter(labels))
        agg.agreement = labels.count(agg.preference) / len(labels)
        return agg
    agg.ranking = get_reducer("rank", rank_agg).fn(views, n_responses)
    if agg.ranking is None:
        agg.ranking = get_reducer("rank", "borda").fn(views, n_responses)
    assert agg.ranking is not None
    keys = [ranking_key(v.ranking) for v in views if v.ranking is not None]
    agg.votes = dict(Counter(keys))
    final_key = ranking_key(agg.ranking)
    agg.agreement = keys.count(final_key) / len(keys) if keys else None
    if n_responses == 2 and agg.scores:
        agg.preference = "A" if agg.ranking[0] == 0 else "B"
    return agg


def _pair_preference(
    ok: Sequence[Sample], views: Sequence[CallerView], name: str, swap_policy: SwapPolicy
) -> str:
    """The pair reducer ``name`` under ``swap_policy`` (module doc of ``_registry``)."""
    chosen = get_reducer("pair", name)
    by_order = _group(ok, views)
    swapped = len(by_order) > 1
    preference: str | None = None
    if swapped and swap_policy == "mean":
        preference = get_reducer("pair", "mean").fn(views)
    if preference is None and chosen.pooled:
        preference = chosen.fn(views)
    if preference is not None:
        return preference
    vote = get_reducer("pair", "majority") if chosen.pooled else chosen
    if swapped and swap_policy == "tie":
        finals = {vote.fn(group) for group in by_order.values()}
        return str(finals.pop()) if len(finals) == 1 else "tie"
    return str(vote.fn(views))


def _group(samples: Sequence[Sample], values: Sequence[T]) -> dict[tuple[int, ...], list[T]]:
    groups: dict[tuple[int, ...], list[T]] = {}
    for s, value in zip(samples, values, strict=True):
        groups.setdefault(s.order, []).append(value)
    return groups
