"""vLLM request building, tested without vLLM (pure functions), plus the missing-extra error."""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from flexjudge.backends import GenerationRequest, SamplingParams
from flexjudge.backends._vllm import (
    completions_from_output,
    make_sampling_params,
    vllm_engine_kwargs,
    vllm_prompt,
    vllm_sampling_kwargs,
)
from flexjudge.errors import MissingDependencyError
from flexjudge.testing import make_test_image


def test_multimodal_prompt_dict_keeps_media_order() -> None:
    a, b = make_test_image(32, 32, seed=1), make_test_image(32, 32, seed=2)
    video = np.zeros((4, 28, 28, 3), dtype=np.uint8)
    wave = np.zeros(1600, dtype=np.float32)
    req = GenerationRequest(
        "<|im_start|>user\n...", images=[a, b], videos=[video], audios=[wave], video_fps=[1.5]
    )
    p = vllm_prompt(req)
    assert p["prompt"] == req.prompt
    mm = p["multi_modal_data"]
    assert mm["image"][0] is a and mm["image"][1] is b
    assert mm["video"][0] is video and p["mm_processor_kwargs"] == {"fps": [1.5]}
    assert mm["audio"][0][0] is wave and mm["audio"][0][1] == 16000
    assert vllm_prompt(GenerationRequest("text only")) == {"prompt": "text only"}


def test_sampling_kwargs_are_vllm_semantics_without_topk_or_penalties() -> None:
    s = SamplingParams(
        temperature=0.6, top_p=0.95, max_tokens=4096, seed=3, stop=("</answer>",), n=5
    )
    kw = vllm_sampling_kwargs(s)
    assert kw["n"] == 5 and kw["seed"] == 3 and kw["top_k"] == -1
    assert kw["stop"] == ["</answer>"] and kw["include_stop_str_in_output"] is True
    assert kw["repetition_penalty"] == 1.0 and kw["presence_penalty"] == 0.0
    assert vllm_sampling_kwargs(SamplingParams())["stop"] is None
    assert vllm_sampling_kwargs(s, regex="<answer>\\d+</answer>")["structured_regex"]


class _Params:
    def __init__(self, **kw: Any) -> None:
        self.kw = kw


def test_structured_output_shim_picks_the_installed_field(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_vllm = SimpleNamespace(SamplingParams=_Params)
    new = SimpleNamespace(StructuredOutputsParams=lambda **kw: ("new", kw))
    monkeypatch.setitem(sys.modules, "vllm", fake_vllm)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", new)
    kw = vllm_sampling_kwargs(SamplingParams(), regex="x+")
    made = make_sampling_params(fake_vllm, kw)
    assert made.kw["structured_outputs"] == ("new", {"regex": "x+"})
    assert "structured_regex" not in made.kw
    old = SimpleNamespace(GuidedDecodingParams=lambda **kw: ("old", kw))
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", old)
    assert make_sampling_params(fake_vllm, kw).kw["guided_decoding"] == ("old", {"regex": "x+"})


def test_engine_kwargs() -> None:
    kw = vllm_engine_kwargs(
        "ckpt",
        tensor_parallel_size=4,
        pipeline_parallel_size=2,
        max_model_len=8192,
        limit_mm_per_prompt={"image": 2},
        extra={"enforce_eager": True},
    )
    assert kw["tensor_parallel_size"] == 4 and kw["pipeline_parallel_size"] == 2
    assert kw["enable_prefix_caching"] is True and kw["limit_mm_per_prompt"] == {"image": 2}
    assert kw["generation_config"] == "vllm" and kw["enforce_eager"] is True


def test_request_output_becomes_completions() -> None:
    out = SimpleNamespace(
        outputs=[
            SimpleNamespace(text=" <answer>7</answer> ", token_ids=[1, 2, 3], finish_reason="stop"),
            SimpleNamespace(text="<think>long", token_ids=[4] * 9, finish_reason="length"),
        ]
    )
    done = completions_from_output(out)
    assert [c.text for c in done] == ["<answer>7</answer>", "<think>long"]
    assert [c.finish_reason for c in done] == ["stop", "length"]
    assert [c.num_tokens for c in done] == [3, 9]


def test_missing_vllm_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)  # import vllm -> ImportError
    from flexjudge.backends import load_backend

    with pytest.raises(MissingDependencyError, match="vllm"):
        load_backend("vllm", "some/model")
