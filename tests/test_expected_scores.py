"""Expected scores from token probabilities (issue 12 §4), on a tiny checkpoint and the mock."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest

from flexjudge import Judge
from flexjudge.apps import JudgeReward
from flexjudge.backends import MockBackend, TokenLogprobs
from flexjudge.protocol import Scale, answer_distributions, expected_value, p_first_better

SCALE = Scale(1, 10)


@pytest.fixture(scope="module")
def vl(tiny_vl: Path) -> Iterator[Any]:
    from flexjudge.backends._transformers import TransformersBackend

    backend = TransformersBackend(tiny_vl, device="cpu")
    yield backend
    backend.close()


def force(backend: Any, text: str, spread: dict[str, float] | None = None) -> Any:
    """Make the tiny model generate ``text`` greedily: a hook on the LM head adds a large
    logit to the next token of ``text`` at each step (and ``spread``'s offsets at the
    step that writes the first digit), then the end of turn."""
    import torch

    tok = backend.tokenizer
    ids = tok(text, add_special_tokens=False)["input_ids"] + [backend.eos_token_ids[0]]
    digit = next(i for i, t in enumerate(ids) if tok.decode([t]).isdigit())
    state = {"step": 0}

    def hook(module: Any, inputs: Any, out: torch.Tensor) -> torch.Tensor:
        if out.shape[1] > 1:  # the prefill: generation starts
            state["step"] = 0
        step = min(state["step"], len(ids) - 1)
        bias = torch.zeros(out.shape[-1])
        bias[ids[step]] = 60.0
        if step == digit and spread:
            for token, offset in spread.items():
                bias[tok.convert_tokens_to_ids(token)] = 60.0 + offset
        state["step"] += 1
        return out + bias.to(out.dtype)

    return backend.model.lm_head.register_forward_hook(hook)


def test_tiny_checkpoint_peaked_distribution_gives_the_argmax(vl: Any) -> None:
    handle = force(vl, "<think>ok</think><answer>7</answer>")
    try:
        r = Judge(vl, temperature=0, max_tokens=40, score_logprobs=5).score("q", "an answer")
    finally:
        handle.remove()
    assert r.ok and r.scores == [7.0]
    dist = r.score_distribution
    assert dist is not None and math.isclose(sum(dist[0].values()), 1.0)
    assert r.expected_score == pytest.approx(7.0, abs=1e-6)


def test_tiny_checkpoint_spread_distribution_sums_to_one_and_weights_values(vl: Any) -> None:
    handle = force(vl, "<think>ok</think><answer>7</answer>", spread={"6": -1.0, "9": -2.0})
    try:
        r = Judge(vl, temperature=0, max_tokens=40, score_logprobs=5).score("q", "an answer")
    finally:
        handle.remove()
    assert r.ok and r.scores == [7.0]
    assert r.score_distribution is not None
    dist = {int(k): v for k, v in r.score_distribution[0].items()}
    assert math.isclose(sum(dist.values()), 1.0) and set(dist) == {6, 7, 9}
    assert dist[7] > dist[6] > dist[9] > 0.01  # the offsets, plus the random model's own
    assert r.expected_score == pytest.approx(sum(v * p for v, p in dist.items()))
    assert r.expected_score != 7.0
    assert r.to_dict()["expected_scores"] == [r.expected_score]


def test_tiny_checkpoint_absent_score_token_never_invents_an_expectation(vl: Any) -> None:
    handle = force(vl, "<think>ok</think><answer>seven</answer>0")
    try:
        r = Judge(vl, temperature=0, max_tokens=40, score_logprobs=5).score("q", "an answer")
    finally:
        handle.remove()
    assert r.status == "malformed" and r.expected_score is None and r.score_distribution is None
    # a plain random generation: no answer tag at all
    r = Judge(vl, temperature=0, max_tokens=6, score_logprobs=5).score("q", "an answer")
    assert r.status in ("no_answer", "truncated") and r.expected_scores is None


def test_backend_logprobs_are_the_models_top_k(vl: Any) -> None:
    from flexjudge.backends import GenerationRequest, SamplingParams

    [[c]] = vl.generate(
        [GenerationRequest("<|im_start|>user\nhi<|im_end|>\n", SamplingParams(0, 1, 4, logprobs=3))]
    )
    assert c.logprobs is not None and len(c.logprobs) == c.num_tokens
    for step in c.logprobs:
        values = [lp for _, lp in step.top]
        assert len(values) == 3 and values == sorted(values, reverse=True)
        assert sum(math.exp(v) for v in values) <= 1.0 + 1e-6
        assert step.top[0][0] == step.token  # greedy takes the most likely token


def test_pairs_get_p_first_better_in_the_callers_order() -> None:
    judge = Judge(MockBackend(outputs=["<answer>8</answer><answer>3</answer>"]), score_logprobs=10)
    r = judge.compare("q", "first", "second")
    assert r.ok and r.preference == "A" and r.expected_scores is not None
    assert r.p_first_better is not None and 0.5 < r.p_first_better <= 1.0
    swapped = Judge(
        MockBackend(outputs=["<answer>8</answer><answer>3</answer>"]), score_logprobs=10
    ).compare("q", "first", "second", swap=True)
    # the second order shows "second" first and it gets 8 there: the two orders disagree
    assert swapped.p_first_better is not None and 0.25 < swapped.p_first_better < 0.75
    assert swapped.expected_scores is not None and len(swapped.expected_scores) == 2


def test_expected_reward_and_distribution_helpers() -> None:
    judge = Judge(MockBackend(outputs=["<think>x</think><answer>10</answer>"]))
    reward = JudgeReward(judge, reward="expected")
    [value] = reward(["q"], ["a"])
    expected = reward.last_results[0].expected_score
    assert value is not None and expected is not None and expected < 10
    assert value == pytest.approx((expected - 1) / 9) and 0 <= value <= 1
    [plain] = JudgeReward(judge)(["q"], ["a"])
    assert plain == 1.0
    tokens = [TokenLogprobs("<answer>", (("<answer>", 0.0),))]
    tokens.append(TokenLogprobs("1", (("1", math.log(0.6)), ("2", math.log(0.4)))))
    tokens.append(TokenLogprobs("0", (("0", math.log(0.5)), ("<", math.log(0.5)))))
    [dist] = answer_distributions(tokens, count=1, scale=SCALE) or [{}]
    assert dist == pytest.approx({1: 0.3, 2: 0.4, 10: 0.3})
    assert expected_value(dist) == pytest.approx(0.3 + 0.8 + 3.0)
    assert p_first_better({5: 1.0}, {5: 1.0}) == 0.5
    assert answer_distributions(tokens[:1], count=1, scale=SCALE) is None


def test_vllm_and_openai_logprobs_are_read() -> None:
    from flexjudge.backends._openai import _logprobs as openai_logprobs
    from flexjudge.backends._vllm import completions_from_output

    lp = SimpleNamespace
    output = SimpleNamespace(
        outputs=[
            SimpleNamespace(
                text="7",
                token_ids=[55],
                finish_reason="stop",
                logprobs=[
                    {
                        55: lp(logprob=-0.1, decoded_token="7"),
                        54: lp(logprob=-2.5, decoded_token="6"),
                    }
                ],
            )
        ]
    )
    [c] = completions_from_output(output)
    assert c.logprobs == (TokenLogprobs("7", (("7", -0.1), ("6", -2.5))),)
    data = {
        "content": [
            {"token": "7", "logprob": -0.1, "top_logprobs": [{"token": "7", "logprob": -0.1}]}
        ]
    }
    assert openai_logprobs(data) == (TokenLogprobs("7", (("7", -0.1),)),)
    assert openai_logprobs(None) is None
