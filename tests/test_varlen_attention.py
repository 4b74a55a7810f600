"""Per-sequence attention of the continuous path, and when the CPU default takes the engine."""

from __future__ import annotations

import math
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

from flexjudge.backends import _varlen_attention
from flexjudge.backends._base import GenerationRequest, SamplingParams
from flexjudge.backends._continuous import ContinuousConfig
from flexjudge.backends._transformers import TransformersBackend
from flexjudge.testing import build_tiny_model


def reference(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    spans: list[tuple[int, int]],
    causal: bool,
    scale: float,
) -> torch.Tensor:
    """Attention written out in float64, one sequence and one head at a time."""
    heads, kv_heads = query.shape[1], key.shape[1]
    out = torch.zeros(1, query.shape[2], heads, value.shape[-1], dtype=torch.float64)
    q_at = k_at = 0
    for q_len, k_len in spans:
        for h in range(heads):
            g = h // (heads // kv_heads)
            q = query[0, h, q_at : q_at + q_len].double()
            k = key[0, g, k_at : k_at + k_len].double()
            v = value[0, g, k_at : k_at + k_len].double()
            scores = q @ k.T * scale
            if causal:  # query i is the (k_len - q_len + i)-th token of its sequence
                last = k_len - q_len + torch.arange(q_len)
                seen = torch.arange(k_len)[None, :] <= last[:, None]
                scores = scores.masked_fill(~seen, -math.inf)
            out[0, q_at : q_at + q_len, h] = torch.softmax(scores, dim=-1) @ v
        q_at, k_at = q_at + q_len, k_at + k_len
    return out


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize(
    "spans",
    [
        [(1, 7), (1, 1), (1, 30)],  # decode steps
        [(5, 5), (9, 9)],  # whole prompts
        [(4, 12), (1, 9), (6, 6), (0, 0), (3, 40)],  # chunks after a cache, decode, padding
    ],
)
def test_each_sequence_attends_over_its_own_keys_only(
    spans: list[tuple[int, int]], causal: bool
) -> None:
    torch.manual_seed(0)
    heads, kv_heads, dim = 4, 2, 16
    q_total, k_total = sum(q for q, _ in spans), sum(k for _, k in spans)
    query = torch.randn(1, heads, q_total, dim)
    key, value = torch.randn(2, 1, kv_heads, k_total, dim)
    cu_q = torch.tensor([0, *torch.tensor([q for q, _ in spans]).cumsum(0).tolist()])
    cu_k = torch.tensor([0, *torch.tensor([k for _, k in spans]).cumsum(0).tolist()])
    module = SimpleNamespace(num_key_value_groups=heads // kv_heads)
    got, weights = _varlen_attention.varlen_sdpa_attention(
        module,
        query,
        key,
        value,
        None,
        scaling=0.3,
        cu_seq_lens_q=cu_q,
        cu_seq_lens_k={"full_attention": cu_k},
        is_causal=causal,
    )
    assert weights is None and got.shape == (1, q_total, heads, dim)
    want = reference(query, key, value, spans, causal, 0.3)
    assert torch.allclose(got.double(), want, atol=1e-5)


def test_without_packing_it_is_plain_sdpa_and_refuses_what_it_cannot_do() -> None:
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    torch.manual_seed(1)
    module = SimpleNamespace(num_key_value_groups=1, is_causal=True)
    q, k, v = torch.randn(3, 2, 2, 5, 8)
    mask = torch.ones(2, 1, 5, 5, dtype=torch.bool).tril()
    got, _ = _varlen_attention.varlen_sdpa_attention(module, q, k, v, mask, scaling=0.5)
    want, _ = sdpa_attention_forward(module, q, k, v, mask, scaling=0.5)
    assert torch.equal(got, want)
    cu = torch.tensor([0, 5])
    with pytest.raises(NotImplementedError, match="sliding window"):
        _varlen_attention.varlen_sdpa_attention(
            module, q[:1], k[:1], v[:1], None, cu_seq_lens_q=cu, cu_seq_lens_k=cu, sliding_window=4
        )


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("varlen") / "m", "qwen2_5_vl")


def requests(n: int) -> list[GenerationRequest]:
    return [
        GenerationRequest(
            f"<|im_start|>user\nItem {i}: " + "is it right? " * (1 + i % 5) + "<|im_end|>\n",
            SamplingParams(temperature=0, max_tokens=3 + i % 7, ignore_eos=True),
        )
        for i in range(n)
    ]


def test_engine_sessions_run_on_it_and_the_model_gets_sdpa_back(
    tiny: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real = _varlen_attention.varlen_sdpa_attention

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(_varlen_attention, "_registered", False)
    monkeypatch.setattr(_varlen_attention, "varlen_sdpa_attention", spy)
    per_sequence = TransformersBackend(tiny, device="cpu", continuous_batching=True)
    library = TransformersBackend(
        tiny,
        device="cpu",
        continuous_batching=True,
        continuous_config=ContinuousConfig(attention="library"),
    )
    static = TransformersBackend(tiny, device="cpu", continuous_batching=False)
    batch = requests(20)
    got = per_sequence.generate(batch)
    assert calls, "the engine did not use the per-sequence attention"
    assert _varlen_attention._implementations(per_sequence.model.config) == ["sdpa"] * 3
    seen = len(calls)
    assert library.generate(batch) == got  # the library's own SDPA path: same tokens
    assert len(calls) == seen
    assert static.generate(batch) == got


def test_the_cpu_default_takes_the_engine_only_with_a_queue_behind_its_slots(
    tiny: Path,
) -> None:
    backend = TransformersBackend(tiny, device="cpu")  # continuous_batching=None
    assert backend.continuous is not None and backend.continuous.only_when_queued
    slots = 4
    backend.continuous.config = ContinuousConfig(max_requests=slots)
    few = requests(slots)
    backend.generate(few)
    assert backend.continuous.last_run["requests"] == 0  # static: no slot would be refilled
    voted = [
        GenerationRequest(r.prompt, SamplingParams(temperature=0.7, max_tokens=3, n=2))
        for r in few[:3]
    ]  # 3 requests, 6 sampled sequences: more than 4 slots
    backend.generate(voted)
    assert backend.continuous.last_run == {"requests": 3, "sessions": 1}
    backend.generate(requests(slots + 1))
    assert backend.continuous.last_run == {"requests": slots + 1, "sessions": 1}
    forced = TransformersBackend(tiny, device="cpu", continuous_batching=True)
    assert forced.continuous is not None and not forced.continuous.only_when_queued
    assert TransformersBackend(tiny, device="cpu", continuous_batching=False).continuous is None


def test_models_it_cannot_serve_keep_the_library_path(tiny: Path) -> None:
    eager = TransformersBackend(tiny, device="cpu", attn_implementation="eager")
    assert "not 'sdpa'" in str(_varlen_attention.supports(eager.model))
    sdpa = TransformersBackend(tiny, device="cpu")
    assert _varlen_attention.supports(sdpa.model) is None
    text = sdpa.model.config.text_config
    saved = text.layer_types
    try:
        text.layer_types = ["sliding_attention"] * len(saved)
        assert "sliding-window" in str(_varlen_attention.supports(sdpa.model))
    finally:
        text.layer_types = saved
