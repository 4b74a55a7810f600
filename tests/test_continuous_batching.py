"""Continuous batching in the transformers backend: equal results to static batching."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest

from flexjudge.backends._base import GenerationRequest, SamplingParams
from flexjudge.backends._transformers import TransformersBackend
from flexjudge.testing import build_tiny_model, make_test_image

KINDS = ("qwen2_5_vl", "qwen2_5_omni", "qwen2")


def chat(user: str, assistant_prefix: str = "") -> str:
    return (
        "<|im_start|>system\nYou are a judge.<|im_end|>\n"
        f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n{assistant_prefix}"
    )


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cb")
    return {kind: build_tiny_model(root / kind, kind) for kind in KINDS}  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pairs(paths: dict[str, Path]) -> dict[str, tuple[TransformersBackend, TransformersBackend]]:
    """(continuous, static) backends per tiny checkpoint."""
    return {
        kind: (
            TransformersBackend(path, device="cpu", continuous_batching=True),
            TransformersBackend(path, device="cpu", continuous_batching=False),
        )
        for kind, path in paths.items()
    }


def mixed_requests(sampling: SamplingParams) -> list[GenerationRequest]:
    """Prompts of different lengths, budgets and a continued assistant turn."""
    lengths = (3, 9, 5, 14, 7, 11)
    return [
        GenerationRequest(
            chat(
                f"Item {i}: " + "which answer is better, and why? " * (1 + i % 4),
                "<think>"[: i % 2 * 7],
            ),
            sampling.replace(max_tokens=lengths[i % len(lengths)] + 4 * (i % 3)),
        )
        for i in range(9)
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_greedy_is_token_identical_to_static_batching(
    kind: str, pairs: dict[str, tuple[TransformersBackend, TransformersBackend]]
) -> None:
    continuous, static = pairs[kind]
    requests = mixed_requests(SamplingParams(temperature=0, max_tokens=1, n=2))
    got = continuous.generate(requests)
    assert continuous.continuous is not None
    assert continuous.continuous.last_run == {"requests": len(requests), "sessions": 1}
    want = static.generate(requests)
    assert got == want  # text, token ids, finish reasons and counts
    assert {c.finish_reason for row in got for c in row} <= {"stop", "length"}
    assert all(len(row) == 2 and row[0] == row[1] for row in got)  # greedy n: copies


def test_forced_lengths_and_stop_strings_match_static(
    pairs: dict[str, tuple[TransformersBackend, TransformersBackend]],
) -> None:
    continuous, static = pairs["qwen2"]
    forced = [
        GenerationRequest(r.prompt, r.sampling.replace(ignore_eos=True))
        for r in mixed_requests(SamplingParams(temperature=0, max_tokens=1))
    ]
    got = continuous.generate(forced)
    assert got == static.generate(forced)
    assert [row[0].num_tokens for row in got] == [r.sampling.max_tokens for r in forced]
    assert {row[0].finish_reason for row in got} == {"length"}
    # a stop string taken from the middle of a greedy output cuts both paths at one token
    free = GenerationRequest(chat("Tell me."), SamplingParams(temperature=0, max_tokens=24))
    [[full]] = continuous.generate([free])
    pieces = [continuous._decode([t]) for t in (full.token_ids or ())[3:-1]]
    stop = next(p for p in pieces if p.strip())
    for keep in (True, False):
        sp = free.sampling.replace(stop=(stop,), include_stop_str_in_output=keep)
        batch = [GenerationRequest(free.prompt, sp), GenerationRequest(chat("Other."), sp)]
        got = continuous.generate(batch)
        assert got == static.generate(batch)
        assert got[0][0].finish_reason == "stop" and got[0][0].num_tokens < full.num_tokens


def test_sampling_unseeded_on_the_engine_seeded_on_per_row_generators(
    pairs: dict[str, tuple[TransformersBackend, TransformersBackend]],
) -> None:
    continuous, static = pairs["qwen2_5_vl"]
    assert continuous.continuous is not None
    unseeded = mixed_requests(SamplingParams(temperature=1.0, top_p=0.95, max_tokens=12, n=3))
    drawn = continuous.generate(unseeded)
    assert continuous.continuous.last_run["requests"] == len(unseeded)
    assert all(len(row) == 3 for row in drawn)
    assert any(len({c.token_ids for c in row}) > 1 for row in drawn)  # n forked samples differ
    # seeded: static path, whose per-row generators make a sample independent of batching
    seeded = mixed_requests(SamplingParams(temperature=1.0, top_p=0.95, max_tokens=12, n=3, seed=7))
    first = continuous.generate(seeded)
    assert continuous.continuous.last_run["requests"] == 0
    assert continuous.generate(seeded) == first == static.generate(seeded)
    assert first[2] == continuous.generate([seeded[2]])[0]


def test_media_requests_take_the_static_path_with_one_logged_reason(
    pairs: dict[str, tuple[TransformersBackend, TransformersBackend]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    continuous, static = pairs["qwen2_5_vl"]
    greedy = SamplingParams(temperature=0, max_tokens=6)
    image = GenerationRequest(
        chat("<|vision_start|><|image_pad|><|vision_end|>Describe."),
        greedy,
        images=[make_test_image()],
    )
    text = GenerationRequest(chat("Describe nothing."), greedy)
    with caplog.at_level(logging.WARNING, logger="flexjudge.backends._continuous"):
        got = continuous.generate([image, text])
        continuous.generate([image])
    assert got == static.generate([image, text])
    assert continuous.continuous is not None and continuous.continuous.last_run["requests"] == 0
    reasons = [r.getMessage() for r in caplog.records if "media inputs" in r.getMessage()]
    assert len(reasons) <= 1  # once per backend (an earlier test may already have logged it)


def test_engine_failure_falls_back_to_static_and_says_why(
    paths: dict[str, Path], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = TransformersBackend(paths["qwen2"], device="cpu", continuous_batching=True)
    default = TransformersBackend(paths["qwen2"], device="cpu").continuous  # CPU default
    assert default is not None and default.only_when_queued  # (test_varlen_attention.py)

    def broken(**kwargs: Any) -> Any:
        raise RuntimeError("no paged attention here")

    monkeypatch.setattr(backend.model, "init_continuous_batching", broken)
    request = GenerationRequest(chat("Hi"), SamplingParams(temperature=0, max_tokens=5))
    with caplog.at_level(logging.WARNING, logger="flexjudge.backends._continuous"):
        [[completion]] = backend.generate([request])
        backend.generate([request])
    assert completion.finish_reason in ("stop", "length") and completion.num_tokens > 0
    assert backend.continuous is not None and backend.continuous.disabled is not None
    assert [r.getMessage() for r in caplog.records].count(
        "continuous batching off, static batching used: "
        "the continuous batching engine failed (RuntimeError: no paged attention here)"
    ) == 1


def test_judge_results_are_equal_on_both_paths(
    pairs: dict[str, tuple[TransformersBackend, TransformersBackend]],
) -> None:
    from flexjudge import Judge, JudgeItem

    items = [
        JudgeItem(f"Question {i}?", [f"Answer A {i} " * (1 + i), f"Answer B {i}"], id=str(i))
        for i in range(4)
    ]
    continuous, static = pairs["qwen2_5_vl"]
    options: dict[str, Any] = {"temperature": 0.0, "max_tokens": 16, "swap": True}
    a = Judge(continuous, **options).run(items)
    b = Judge(static, **options).run(items)

    def untimed(result: Any) -> dict[str, Any]:
        return {k: v for k, v in result.to_dict().items() if k != "seconds"}

    assert [untimed(r) for r in a] == [untimed(r) for r in b]
    assert sum(r.num_tokens for r in a) > 0
