"""Map per-sample verdicts back to the caller's order and aggregate votes with named reducers.

Built-in rules (documented in docs/judging.md; register more with :func:`reducer`):

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

from flexjudge.judge.reduce import _builtin  # noqa: F401  (registers the built-in reducers)
from flexjudge.judge.reduce._aggregate import (
    Aggregate,
    PairAggregate,
    RankAggregate,
    ScoreAggregate,
    SwapPolicy,
    aggregate,
)
from flexjudge.judge.reduce._registry import (
    REDUCER_KINDS,
    Reducer,
    ReducerKind,
    get_reducer,
    list_reducers,
    reducer,
)
from flexjudge.judge.reduce._views import CallerView, mean_scores, to_caller

__all__ = [
    "REDUCER_KINDS",
    "Aggregate",
    "CallerView",
    "PairAggregate",
    "RankAggregate",
    "Reducer",
    "ReducerKind",
    "ScoreAggregate",
    "SwapPolicy",
    "aggregate",
    "get_reducer",
    "list_reducers",
    "mean_scores",
    "reducer",
    "to_caller",
]
