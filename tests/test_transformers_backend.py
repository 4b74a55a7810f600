"""TransformersBackend on tiny random-weight Qwen checkpoints (CPU, offline)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest

from flexjudge.backends._base import Completion, GenerationRequest, SamplingParams
from flexjudge.backends._transformers import TransformersBackend
from flexjudge.errors import BackendError
from flexjudge.testing import build_tiny_model, make_test_audio, make_test_image, make_test_video

GREEDY = SamplingParams(temperature=0, max_tokens=12)
VL_IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"
VL_VIDEO = "<|vision_start|><|video_pad|><|vision_end|>"
OMNI_IMAGE = "<|vision_bos|><|IMAGE|><|vision_eos|>"
OMNI_VIDEO = "<|vision_bos|><|VIDEO|><|vision_eos|>"
OMNI_AUDIO = "<|audio_bos|><|AUDIO|><|audio_eos|>"


def chat(user: str, assistant_prefix: str = "") -> str:
    return (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n{assistant_prefix}"
    )


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("backend")
    kinds = ("qwen2_5_vl", "qwen2_5_omni", "qwen2")
    return {kind: build_tiny_model(root / kind, kind) for kind in kinds}  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def vl(paths: dict[str, Path]) -> TransformersBackend:
    return TransformersBackend(paths["qwen2_5_vl"], device="cpu")


@pytest.fixture(scope="module")
def vl_static(paths: dict[str, Path]) -> TransformersBackend:
    """The static-batching path only (tests that patch its internals)."""
    return TransformersBackend(paths["qwen2_5_vl"], device="cpu", continuous_batching=False)


@pytest.fixture(scope="module")
def text_static(paths: dict[str, Path]) -> TransformersBackend:
    return TransformersBackend(paths["qwen2"], dtype="float32", continuous_batching=False)


@pytest.fixture(scope="module")
def omni(paths: dict[str, Path]) -> TransformersBackend:
    return TransformersBackend(paths["qwen2_5_omni"])


@pytest.fixture(scope="module")
def text(paths: dict[str, Path]) -> TransformersBackend:
    return TransformersBackend(paths["qwen2"], dtype="float32")


def only(backend: TransformersBackend, request: GenerationRequest) -> Completion:
    [[completion]] = backend.generate([request])
    return completion


def test_load_sets_family_and_replaces_generation_config(
    vl: TransformersBackend, omni: TransformersBackend, text: TransformersBackend
) -> None:
    assert (vl.name, vl.family, omni.family, text.family) == (
        "transformers",
        "qwen2_5_vl",
        "qwen2_5_omni",
        "text",
    )
    im_end, eot = vl.tokenizer.convert_tokens_to_ids(["<|im_end|>", "<|endoftext|>"])
    assert set(vl.eos_token_ids) == {im_end, eot} and vl.pad_token_id == eot
    gc = vl.model.generation_config  # the checkpoint ships top_k=1, top_p=0.001, rep. 1.05
    assert gc.top_k is None and gc.top_p is None and gc.repetition_penalty is None
    assert not vl.model.training and vl.device == "cpu"


def test_bad_model_path_raises_backend_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(BackendError, match="no-such-model"):
        TransformersBackend(missing)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "config.json").write_text("{not json")
    with pytest.raises(BackendError, match="junk"):
        TransformersBackend(tmp_path / "junk")


def test_image_video_text_and_mixed_batch(vl: TransformersBackend) -> None:
    requests = [
        GenerationRequest(chat(VL_IMAGE + "What is shown?"), GREEDY, images=[make_test_image()]),
        GenerationRequest(
            chat(VL_VIDEO + "Describe the video."),
            GREEDY,
            videos=[make_test_video(4, 56, 56)],
            video_fps=[2.0],
        ),
        GenerationRequest(chat("[Question]\nHi there"), GREEDY),
        GenerationRequest(
            chat(VL_IMAGE + VL_IMAGE + "Which is better?"),
            GREEDY,
            images=[make_test_image(seed=1), make_test_image(56, 84, seed=2)],
        ),
    ]
    batch = vl.generate(requests)
    assert [len(c) for c in batch] == [1, 1, 1, 1]
    for (completion,) in batch:
        assert completion.finish_reason in ("stop", "length")
        assert 0 < completion.num_tokens <= 12
        assert (
            completion.token_ids is not None and len(completion.token_ids) == completion.num_tokens
        )
    # batching (left padding, sorting, mixed media) does not change greedy outputs
    alone = [only(vl, r) for r in requests]
    assert [c.token_ids for (c,) in batch] == [c.token_ids for c in alone]


def test_video_fps_is_passed_to_the_processor(vl: TransformersBackend) -> None:
    video = make_test_video(4, 56, 56)
    fast = GenerationRequest(chat(VL_VIDEO), GREEDY, videos=[video], video_fps=[2.0])
    enc = vl._encode([fast])
    slow = GenerationRequest(chat(VL_VIDEO), GREEDY, videos=[video], video_fps=[0.5])
    assert enc["second_per_grid_ts"].tolist() == [1.0]
    assert vl._encode([slow])["second_per_grid_ts"].tolist() == [4.0]


def test_omni_audio_image_video_text(omni: TransformersBackend) -> None:
    requests = [
        GenerationRequest(chat(OMNI_AUDIO + "How natural?"), GREEDY, audios=[make_test_audio(1.0)]),
        GenerationRequest(chat(OMNI_IMAGE + "What?"), GREEDY, images=[make_test_image()]),
        GenerationRequest(chat(OMNI_VIDEO + "Describe."), GREEDY, videos=[make_test_video()]),
        GenerationRequest(chat("Hello"), GREEDY),
    ]
    batch = omni.generate(requests)
    assert all(len(c) == 1 and c[0].finish_reason != "error" for c in batch)
    assert [c[0].token_ids for c in batch] == [only(omni, r).token_ids for r in requests]


def test_media_mismatch_is_a_per_request_error(
    vl: TransformersBackend, text: TransformersBackend
) -> None:
    two = SamplingParams(temperature=0, max_tokens=4, n=2)
    good = GenerationRequest(chat("hi"), two)
    missing = GenerationRequest(chat("no placeholder"), two, images=[make_test_image()])
    audio = GenerationRequest(chat("x"), two, audios=[make_test_audio(0.1)])
    out = vl.generate([missing, good, audio])
    assert [c.finish_reason for c in out[0]] == ["error", "error"]
    assert "placeholder" in out[0][0].text
    assert out[1][0].finish_reason != "error"
    assert "audio" in out[2][0].text
    [[err]] = text.generate([GenerationRequest(chat("x"), images=[make_test_image()])])
    assert err.finish_reason == "error" and "no media" in err.text


def test_one_failing_request_does_not_sink_the_batch(
    vl_static: TransformersBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    vl = vl_static
    original = vl._encode

    def flaky(batch: list[GenerationRequest]) -> Any:
        if any("poison" in r.prompt for r in batch):
            raise RuntimeError("bad input")
        return original(batch)

    monkeypatch.setattr(vl, "_encode", flaky)
    out = vl.generate(
        [GenerationRequest(chat("poison"), GREEDY), GenerationRequest(chat("ok"), GREEDY)]
    )
    assert out[0][0].finish_reason == "error" and "bad input" in out[0][0].text
    assert out[1][0].finish_reason != "error"
    with pytest.raises(BackendError, match="every request"):
        vl.generate([GenerationRequest(chat("poison"), GREEDY)])


def test_n_shares_one_prefill(
    text_static: TransformersBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = text_static
    calls: list[tuple[int, int]] = []
    original = text.model.generate

    def counting(**kwargs: Any) -> Any:
        calls.append((kwargs["input_ids"].shape[0], kwargs["num_return_sequences"]))
        return original(**kwargs)

    monkeypatch.setattr(text.model, "generate", counting)
    sampled = SamplingParams(temperature=1.0, top_p=1.0, max_tokens=10, n=3, seed=0)
    [three] = text.generate([GenerationRequest(chat("Judge this."), sampled)])
    assert len(three) == 3 and calls == [(1, 3)]
    assert len({c.token_ids for c in three}) > 1
    greedy = SamplingParams(temperature=0, max_tokens=6, n=3)
    [copies] = text.generate([GenerationRequest(chat("Judge this."), greedy)])
    assert len(copies) == 3 and len({c.token_ids for c in copies}) == 1
    assert calls[-1] == (1, 1)


def test_seed_and_greedy_are_reproducible(text: TransformersBackend) -> None:
    sampled = SamplingParams(temperature=0.8, top_p=0.95, max_tokens=10, seed=42)
    request = GenerationRequest(chat("Score the answer."), sampled)
    assert only(text, request) == only(text, request)
    greedy = GenerationRequest(chat("Score the answer."), GREEDY)
    assert only(text, greedy) == only(text, greedy)


def test_checkpoint_generation_config_is_overridden(text: TransformersBackend) -> None:
    # The saved config says top_k=1/top_p=0.001: left in force, every seed would agree.
    outputs = {
        only(
            text,
            GenerationRequest(
                chat("Score the answer."),
                SamplingParams(temperature=1.0, top_p=1.0, max_tokens=8, seed=seed),
            ),
        ).token_ids
        for seed in range(4)
    }
    assert len(outputs) > 1


def test_greedy_matches_plain_argmax_without_repetition_penalty(
    text: TransformersBackend,
) -> None:
    import torch

    prompt = chat("Which answer is better?")
    completion = only(text, GenerationRequest(prompt, SamplingParams(temperature=0, max_tokens=10)))
    ids = text.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
    expected: list[int] = []
    with torch.inference_mode():
        for _ in range(10):
            next_id = int(text.model(input_ids=ids).logits[0, -1].argmax())
            expected.append(next_id)
            if next_id in text.eos_token_ids:
                break
            ids = torch.cat([ids, torch.tensor([[next_id]])], dim=1)
    assert list(completion.token_ids or ()) == expected


def test_max_tokens_gives_length(text: TransformersBackend) -> None:
    completion = only(
        text, GenerationRequest(chat("Hi"), SamplingParams(temperature=0, max_tokens=3))
    )
    assert completion.finish_reason == "length" and completion.num_tokens == 3


def test_stop_strings(text: TransformersBackend) -> None:
    prompt = chat("Tell me.")
    full = only(text, GenerationRequest(prompt, SamplingParams(temperature=0, max_tokens=16)))
    raw = text._decode(list(full.token_ids or ()))
    pieces = [text._decode([t]) for t in (full.token_ids or ())[2:-1]]
    stop = next(p for p in pieces if p.strip())
    before = raw[: raw.find(stop)]
    kept = only(
        text, GenerationRequest(prompt, SamplingParams(temperature=0, max_tokens=16, stop=(stop,)))
    )
    assert kept.finish_reason == "stop" and kept.num_tokens < full.num_tokens
    assert kept.text == (before + stop).strip()
    # in a batch the stopped row is padded while the other runs on: same result
    other = GenerationRequest(
        chat("Something else entirely."),
        kept_params := SamplingParams(temperature=0, max_tokens=16, stop=(stop,)),
    )
    assert text.generate([GenerationRequest(prompt, kept_params), other])[0][0] == kept
    cut = only(
        text,
        GenerationRequest(
            prompt,
            SamplingParams(
                temperature=0, max_tokens=16, stop=(stop,), include_stop_str_in_output=False
            ),
        ),
    )
    assert cut.text == before.strip() and cut.finish_reason == "stop"
    assert cut.num_tokens <= full.num_tokens


def test_finish_bookkeeping(text: TransformersBackend) -> None:
    eos, pad = text.eos_token_ids[0], text.pad_token_id
    word = text.tokenizer("good", add_special_tokens=False)["input_ids"]
    sp = SamplingParams(temperature=0, max_tokens=len(word) + 3)
    done = text._finish([*word, eos, pad, pad], sp)
    assert done.finish_reason == "stop" and done.token_ids == (*word, eos)
    assert done.text == "good" and done.num_tokens == len(word) + 1
    cut = text._finish([*word, *word, *word][: sp.max_tokens], sp)
    assert cut.finish_reason == "length" and cut.num_tokens == sp.max_tokens


def test_assistant_prefix_is_continued(text: TransformersBackend) -> None:
    prefix = chat("Score it.", "<think>")
    completion = only(text, GenerationRequest(prefix, GREEDY))
    assert completion.finish_reason in ("stop", "length")


def test_fingerprint(paths: dict[str, Path], text: TransformersBackend, tmp_path: Path) -> None:
    again = TransformersBackend(paths["qwen2"])
    assert again.fingerprint() == text.fingerprint()
    copy = shutil.copytree(paths["qwen2"], tmp_path / "copy")
    other = TransformersBackend(build_tiny_model(copy, "qwen2", seed=1))
    assert other.fingerprint() != text.fingerprint()
    assert len(text.fingerprint()) == 16


def test_full_omni_checkpoint_loads_its_thinker(
    paths: dict[str, Path], omni: TransformersBackend, tmp_path: Path
) -> None:
    import torch
    from transformers import Qwen2_5OmniConfig, Qwen2_5OmniForConditionalGeneration

    config = Qwen2_5OmniConfig(
        thinker_config=omni.model.config.to_dict(), enable_audio_output=False
    )
    full = Qwen2_5OmniForConditionalGeneration(config)
    full.thinker.load_state_dict(omni.model.state_dict())
    full.save_pretrained(tmp_path)
    for name in ("processor_config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(paths["qwen2_5_omni"] / name, tmp_path / name)
    backend = TransformersBackend(tmp_path)
    assert backend.family == "qwen2_5_omni"
    assert type(backend.model).__name__ == "Qwen2_5OmniThinkerForConditionalGeneration"
    for a, b in zip(
        backend.model.state_dict().values(), omni.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    request = GenerationRequest(chat("Hi"), GREEDY)
    assert only(backend, request) == only(omni, request)


def test_large_weight_files_are_sampled(tmp_path: Path) -> None:
    from flexjudge.backends._fingerprint import _file_digest

    blob = bytearray(8 << 20)
    a = tmp_path / "a.safetensors"
    a.write_bytes(blob)
    first = _file_digest(a)
    assert _file_digest(a) == first
    blob[-1] = 1  # the last byte is always sampled
    a.write_bytes(blob)
    os.utime(a, ns=(0, 0))
    assert _file_digest(a) != first
    small = tmp_path / "config.json"
    small.write_text("{}")
    before = _file_digest(small)
    os.utime(small, ns=(0, 0))
    assert _file_digest(small) == before  # small files: content only
