"""Votes, tie rules, swap, random order, budget forcing and the position-bias report."""

from __future__ import annotations

import numpy as np
import pytest

from flexjudge import Judge, JudgeItem
from flexjudge.backends import GenerationRequest, MockBackend
from flexjudge.judge.bias import order_draws, position_bias
from flexjudge.judge.reduce import aggregate
from flexjudge.judge.types import Sample
from flexjudge.protocol import Format, ParseStatus, Verdict


def _pair(pref: str | None, order: tuple[int, ...] = (0, 1), ok: bool = True) -> Sample:
    status = ParseStatus.OK if ok else ParseStatus.NO_ANSWER
    return Sample("", Verdict(status, "", preference=pref if ok else None), order)


def test_pair_majority_tie_rule_and_signed_vote() -> None:
    votes = [_pair("A"), _pair("tie"), _pair("tie")]
    assert aggregate("compare", Format.PAIR, votes, 2).preference == "tie"
    # MLLM-as-a-Judge signed vote: A=-1, B=+1, tie=0 summed
    assert aggregate("compare", Format.PAIR, votes, 2, pair_agg="signed").preference == "A"
    split = [_pair("A"), _pair("B")]
    agg = aggregate("compare", Format.PAIR, [*split, _pair(None, ok=False)], 2)
    assert agg.preference == "tie" and agg.n_failed == 1 and agg.votes == {"A": 1, "B": 1}


def test_mean_pair_aggregate_falls_back_to_majority_without_scores() -> None:
    votes = [_pair("B"), _pair("B"), _pair("A")]
    assert aggregate("compare", Format.PAIR, votes, 2, pair_agg="mean").preference == "B"


def test_votes_are_one_request_with_n_and_keep_the_distribution() -> None:
    backend = MockBackend()
    r = Judge(backend).compare("q", "a", "b", votes=5)
    assert len(backend.calls) == 1 and backend.calls[0].sampling.n == 5
    assert len(r.samples) == 5 and sum(r.votes.values()) == 5
    assert r.agreement == max(r.votes.values()) / 5 or r.preference == "tie"


def test_swap_is_one_batched_call_with_both_orders() -> None:
    backend = MockBackend()
    Judge(backend).compare("q", "a", "b", swap=True, votes=2)
    assert len(backend.calls) == 2 and all(c.sampling.n == 2 for c in backend.calls)
    assert backend.calls[0].prompt != backend.calls[1].prompt


def test_random_order_of_a_shard_matches_the_whole_run() -> None:
    items = [JudgeItem("q", ["a", f"b{i}"], id=str(i)) for i in range(12)]
    judge = Judge(MockBackend(), order="random", seed=5)
    whole = [r.samples[0].order for r in judge.run(items)]
    shard = [r.samples[0].order for r in judge.run(items[7:], positions=range(7, 12))]
    assert shard == whole[7:]
    rng = np.random.RandomState(5)
    assert order_draws(5, [0, 3]) == [rng.uniform(), *rng.uniform(size=3)[2:]]


def _bf_responder(req: GenerationRequest, index: int) -> str:
    n = req.prompt.count("Wait")
    return f"step {n} " * 5 + f"</think><answer>{n + 3}</answer>"


def test_budget_tokens_caps_continuations_and_stops_forcing() -> None:
    backend = MockBackend(responder=_bf_responder)
    r = Judge(backend, budget_forcing=5, budget_tokens=14).score("q", "a")
    s = r.samples[0]
    # the mock counts words: round 0 uses 11, round 1 gets the 3 left, then it stops
    assert [c.sampling.max_tokens for c in backend.calls] == [14, 3]
    assert len(s.rounds) == 2 and s.num_tokens <= 14
    assert r.sampling["budget_tokens"] == 14


def test_budget_final_vote_lets_every_round_vote() -> None:
    r = Judge(MockBackend(responder=_bf_responder), budget_forcing=2, budget_final="vote").score(
        "q", "a"
    )
    assert [v.scores for v in r.samples[0].rounds] == [(3.0,), (4.0,), (5.0,)]
    assert r.scores == [4.0] and sum(r.votes.values()) == 3
    last = Judge(MockBackend(responder=_bf_responder), budget_forcing=2).score("q", "a")
    assert last.scores == [5.0]


def test_budget_forcing_refuses_backends_that_cannot_continue() -> None:
    backend = MockBackend()
    backend.supports_continuation = False
    r = Judge(backend, budget_forcing=1).run([JudgeItem("q", ["a"])])[0]
    assert r.status == "error" and "continue" in (r.error or "")


def test_position_bias_report() -> None:
    # item 1: both orders prefer the first shown -> inconsistent, two first-position wins
    # item 2: consistent (caller's response 0 wins in both orders)
    # item 3: one order ties
    def result(prefs: list[tuple[tuple[int, ...], str]]) -> object:
        from flexjudge import JudgeResult

        return JudgeResult(
            id="x",
            task="compare",
            protocol="p",
            mode="clean",
            status="ok",
            samples=[_pair(p, o) for o, p in prefs],
        )

    report = position_bias(
        [
            result([((0, 1), "A"), ((1, 0), "A")]),
            result([((0, 1), "A"), ((1, 0), "B")]),
            result([((0, 1), "B"), ((1, 0), "tie")]),
        ]
    )  # type: ignore[list-item]
    assert report.swapped == 3 and report.consistent == 1
    assert report.consistency_rate == pytest.approx(1 / 3)
    assert report.decisions == 6 and report.ties == 1
    assert report.first_position_wins == 3 and report.first_position_rate == pytest.approx(3 / 5)


def test_position_bias_over_a_real_swapped_batch() -> None:
    items = [JudgeItem("q", ["a", f"b{i}"]) for i in range(40)]
    report = position_bias(Judge(MockBackend()).run(items, swap=True, votes=3))
    assert report.results == 40 and report.swapped + report.skipped == 40
    assert report.consistency_rate is not None and 0 <= report.consistency_rate <= 1
