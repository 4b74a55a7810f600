"""Named reducers: the built-ins are registered under their option names, users add their own."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from flexjudge import Judge, JudgeConfig
from flexjudge.backends import MockBackend
from flexjudge.judge.reduce import CallerView, get_reducer, list_reducers, reducer

_THINK = "<think>\nweighing\n</think>\n"


def test_built_in_names_are_the_option_values() -> None:
    assert {"mean", "median"} <= set(list_reducers("score"))
    assert {"majority", "signed", "mean"} <= set(list_reducers("pair"))
    assert {"borda", "mean"} <= set(list_reducers("rank"))
    assert get_reducer("pair", "mean").pooled and not get_reducer("pair", "signed").pooled


def test_a_user_score_reducer_is_selected_by_name() -> None:
    @reducer("test-max", kind="score")
    def best(values: Sequence[float]) -> float:
        return max(values)

    outputs = [f"{_THINK}<answer>{v}</answer>" for v in (3, 9, 4)]
    result = Judge(MockBackend(outputs=outputs), score_aggregate="test-max").score(
        "q", "a", votes=3
    )
    assert result.score == 9
    mean = Judge(MockBackend(outputs=outputs)).score("q", "a", votes=3)
    assert mean.score == pytest.approx(16 / 3)


def test_a_user_pair_reducer_applies_per_order_under_swap() -> None:
    seen: list[int] = []

    @reducer("test-always-b", kind="pair")
    def always_b(views: Sequence[CallerView]) -> str:
        seen.append(len(views))
        return "B"

    outputs = [f"{_THINK}<answer>{v}</answer><answer>{w}</answer>" for v, w in ((8, 2), (2, 8))]
    judge = Judge(MockBackend(outputs=outputs), pair_aggregate="test-always-b", swap=True)
    result = judge.compare("q", "first", "second")
    assert result.preference == "B"
    assert seen == [1, 1]  # one call per presentation order, each with its own votes


def test_a_user_rank_reducer_that_cannot_decide_falls_back_to_borda() -> None:
    @reducer("test-undecided", kind="rank")
    def undecided(views: Sequence[CallerView], n: int) -> list[int] | None:
        return None

    outputs = [f"{_THINK}<answer>2</answer><answer>9</answer><answer>5</answer>"]
    ranked = Judge(MockBackend(outputs=outputs), rank_aggregate="test-undecided").rank(
        "q", ["x", "y", "z"]
    )
    borda = Judge(MockBackend(outputs=outputs)).rank("q", ["x", "y", "z"])
    assert ranked.ranking == borda.ranking == [1, 2, 0]


def test_unknown_names_and_duplicates_are_refused_with_the_registered_names() -> None:
    with pytest.raises(ValueError, match=r"unknown score reducer 'nope'; registered: .*median"):
        JudgeConfig(score_aggregate="nope")
    with pytest.raises(ValueError, match="unknown pair reducer"):
        JudgeConfig(pair_aggregate="borda")
    with pytest.raises(ValueError, match="already registered"):
        reducer("mean", kind="score")(lambda values: 0.0)
    with pytest.raises(ValueError, match="unknown reducer kind"):
        reducer("x", kind="option")  # type: ignore[arg-type]
