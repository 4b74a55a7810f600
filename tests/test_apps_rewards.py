"""RL reward hooks: TRL reward-function contract, media columns, group mode, async, verl,
and a real TRL GRPOTrainer run (2 CPU steps) with a tiny judge checkpoint."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from flexjudge import Judge
from flexjudge.apps import AsyncJudgeReward, JudgeReward, make_compute_score, rank_rewards
from flexjudge.backends import GenerationRequest, MockBackend


def scripted(request: GenerationRequest, index: int) -> str:
    user = request.prompt.split("<|im_end|>", 1)[1]
    values = re.findall(r"score=(\w+)", user)
    if "bad" in values:
        return "<think>\nno\n</think>\nnothing"
    return "<think>\nok\n</think>\n" + "".join(f"<answer>{v}</answer>" for v in values)


@pytest.fixture
def backend() -> MockBackend:
    return MockBackend(responder=scripted)


def test_standard_format_scores_are_normalized(backend: MockBackend) -> None:
    reward = JudgeReward(Judge(backend))
    out = reward(
        prompts=["What is 2+2?"] * 3,
        completions=["4 score=10", "5 score=1", "?? score=bad"],
        completion_ids=[[1], [2], [3]],
        trainer_state=None,
    )
    assert out == [1.0, 0.0, None]  # 1-10 scale → [0, 1]; unparseable → None (TRL skips it)
    assert reward.__name__ == "flexjudge"
    assert "What is 2+2?" in backend.calls[0].prompt and "4 score=10" in backend.calls[0].prompt
    raw = JudgeReward(Judge(backend), normalize=False, failure_reward=-1.0)
    assert raw(["q"], ["a score=7"]) == [7.0] and raw(["q"], ["score=bad"]) == [-1.0]


def test_conversational_prompts_completions_and_image_column(backend: MockBackend) -> None:
    from flexjudge.testing import make_test_image

    img = make_test_image(32, 32)
    prompts = [
        [
            {"role": "system", "content": "be nice"},
            {
                "role": "user",
                "content": [{"type": "image"}, {"type": "text", "text": "Describe it."}],
            },
        ]
    ] * 2
    completions = [
        [{"role": "assistant", "content": "a cat score=8"}],
        [{"role": "assistant", "content": "a dog score=3"}],
    ]
    out = JudgeReward(Judge(backend))(prompts, completions, images=[[img], [img]])
    assert out[0] is not None and out[1] is not None and out[0] > out[1]
    assert len(backend.calls[0].images) == 1 and "Describe it." in backend.calls[0].prompt
    assert "be nice" not in backend.calls[0].prompt


def test_group_mode_ranks_completions_of_one_prompt_together(backend: MockBackend) -> None:
    reward = JudgeReward(Judge(backend), mode="group")
    prompts = ["p1", "p1", "p1", "p2", "p2", "p3"]
    completions = ["x score=2", "y score=9", "z score=5", "u score=4", "v score=4", "w score=10"]
    out = reward(prompts, completions)
    assert out[:3] == [0.0, 1.0, 0.5] and out[3:5] == [0.5, 0.5] and out[5] == 1.0
    rank_prompts = [c.prompt for c in backend.calls if "x score=2" in c.prompt]
    assert len(rank_prompts) == 1 and "z score=5" in rank_prompts[0]  # judged together


def test_rank_rewards() -> None:
    assert rank_rewards([3.0, 1.0, 2.0]) == [1.0, 0.0, 0.5]
    assert rank_rewards([1.0, 1.0]) == [0.5, 0.5]
    assert rank_rewards([7.0]) == [1.0]


@pytest.mark.slow  # importing trl takes seconds
def test_async_variant_is_recognised_by_trl(backend: MockBackend) -> None:
    from trl.trainer.utils import is_async_callable

    reward = AsyncJudgeReward(Judge(backend))
    assert is_async_callable(reward) and not is_async_callable(JudgeReward(Judge(backend)))
    assert asyncio.run(reward(["q", "q"], ["a score=10", "b score=1"])) == [1.0, 0.0]


def test_mismatched_lengths_raise(backend: MockBackend) -> None:
    with pytest.raises(ValueError, match="2 prompts but 1 completions"):
        JudgeReward(Judge(backend))(["a", "b"], ["c"])


def test_verl_compute_score(backend: MockBackend) -> None:
    compute_score = make_compute_score(Judge(backend))
    out = compute_score("my_source", "answer score=10", "gt", {"question": "Why?"})
    assert out["score"] == 1.0 and out["judge_status"] == "ok"
    assert compute_score("s", "score=bad", None)["score"] == 0.0
    assert "Why?" in backend.calls[0].prompt


@pytest.mark.slow
def test_trl_grpo_trainer_two_steps_with_tiny_judge(tiny_vl: Path, tmp_path: Path) -> None:
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer  # type: ignore[attr-defined]

    from flexjudge.testing import build_tiny_model

    policy = build_tiny_model(tmp_path / "policy", kind="qwen2")
    judge = Judge.from_pretrained(
        str(tiny_vl), backend="transformers", max_tokens=8, temperature=0.0
    )
    reward = JudgeReward(judge, failure_reward=0.0)
    seen: list[tuple[list[Any], list[Any], list[float | None]]] = []
    compute = reward.compute

    def spy(prompts: Any, completions: Any, **kwargs: Any) -> list[float | None]:
        out = compute(prompts, completions, **kwargs)
        seen.append((list(prompts), list(completions), out))
        return out

    reward.compute = spy  # type: ignore[method-assign]
    ds = Dataset.from_list(
        [{"prompt": [{"role": "user", "content": f"Question {i}?"}]} for i in range(4)]
    )
    args = GRPOConfig(
        output_dir=str(tmp_path / "out"),
        use_cpu=True,
        max_steps=2,
        per_device_train_batch_size=2,
        num_generations=2,
        max_completion_length=4,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        learning_rate=1e-3,
    )
    trainer = GRPOTrainer(model=str(policy), reward_funcs=reward, args=args, train_dataset=ds)
    trainer.train()
    assert len(seen) == 2 and trainer.state.global_step == 2
    prompts, completions, rewards = seen[0]
    assert len(prompts) == len(completions) == len(rewards) == 2
    assert completions[0][0]["role"] == "assistant"
    assert all(isinstance(r, float) and 0.0 <= r <= 1.0 for r in rewards)
    # the judge model really generated for every completion
    assert len(reward.last_results) == 2
    assert all(res.samples and res.samples[0].num_tokens > 0 for res in reward.last_results)
    assert any("rewards/flexjudge/mean" in h for h in trainer.state.log_history)
