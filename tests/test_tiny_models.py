"""flexjudge.testing: tiny offline checkpoints and test media."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest

from flexjudge.errors import InputError
from flexjudge.testing import (
    QWEN2_5_OMNI_CHAT_TEMPLATE,
    QWEN2_5_VL_CHAT_TEMPLATE,
    build_tiny_model,
    cli_tiny_model,
    make_test_audio,
    make_test_image,
    make_test_video,
    tiny_model,
    write_test_video,
    write_test_wav,
)

QWEN_VL_DIR = (
    Path(__file__).resolve().parents[1].parent / "shared/data/hf-configs/Qwen2.5-VL-7B-Instruct"
)
QWEN_OMNI_DIR = QWEN_VL_DIR.parent / "Qwen2.5-Omni-3B"

VL_TOKENS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|vision_start|>", "<|vision_end|>",
             "<|image_pad|>", "<|video_pad|>"]  # fmt: skip
OMNI_TOKENS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|IMAGE|>", "<|AUDIO|>", "<|VIDEO|>",
               "<|audio_bos|>", "<|audio_eos|>", "<|vision_bos|>", "<|vision_eos|>"]  # fmt: skip


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny")
    kinds = ("qwen2_5_vl", "qwen2_5_omni", "qwen2")
    return {kind: build_tiny_model(root / kind, kind) for kind in kinds}  # type: ignore[arg-type]


def test_vl_loads_with_auto_classes(built: dict[str, Path]) -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    proc = AutoProcessor.from_pretrained(built["qwen2_5_vl"])
    model = AutoModelForImageTextToText.from_pretrained(built["qwen2_5_vl"])
    assert type(proc).__name__ == "Qwen2_5_VLProcessor"
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert proc.video_processor is not None
    assert proc.chat_template == QWEN2_5_VL_CHAT_TEMPLATE
    assert sum(p.numel() for p in model.parameters()) < 1_000_000
    ids = proc.tokenizer.convert_tokens_to_ids(VL_TOKENS)
    assert len(set(ids)) == len(VL_TOKENS) and proc.tokenizer.unk_token_id not in ids
    assert model.config.image_token_id == proc.tokenizer.convert_tokens_to_ids("<|image_pad|>")


def test_omni_loads_with_auto_classes(built: dict[str, Path]) -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    proc = AutoProcessor.from_pretrained(built["qwen2_5_omni"])
    model = AutoModelForImageTextToText.from_pretrained(built["qwen2_5_omni"])
    assert type(proc).__name__ == "Qwen2_5OmniProcessor"
    assert type(model).__name__ == "Qwen2_5OmniThinkerForConditionalGeneration"
    assert proc.feature_extractor.chunk_length == 30
    assert proc.chat_template == QWEN2_5_OMNI_CHAT_TEMPLATE
    tok = proc.tokenizer
    assert tok.audio_token_id == tok.convert_tokens_to_ids("<|AUDIO|>")
    assert tok.image_token == "<|IMAGE|>"
    ids = tok.convert_tokens_to_ids(OMNI_TOKENS)
    assert len(set(ids)) == len(OMNI_TOKENS)


def test_text_model_loads_with_causal_lm(built: dict[str, Path]) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(built["qwen2"])
    tok = AutoTokenizer.from_pretrained(built["qwen2"])
    assert type(model).__name__ == "Qwen2ForCausalLM"
    assert tok.chat_template == QWEN2_5_VL_CHAT_TEMPLATE
    text = tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert text.endswith("<|im_start|>assistant\n")


@pytest.mark.slow
def test_chat_template_is_the_one_trl_knows() -> None:
    templates = pytest.importorskip("trl.chat_template_utils")
    assert templates.qwen2_5_vl_chat_template == QWEN2_5_VL_CHAT_TEMPLATE


@pytest.mark.shared
def test_chat_templates_match_real_checkpoints() -> None:
    if not QWEN_VL_DIR.is_dir():
        pytest.skip("shared Qwen configs absent")
    vl = json.loads((QWEN_VL_DIR / "chat_template.json").read_text())["chat_template"]
    omni = json.loads((QWEN_OMNI_DIR / "chat_template.json").read_text())["chat_template"]
    assert vl == QWEN2_5_VL_CHAT_TEMPLATE
    assert omni == QWEN2_5_OMNI_CHAT_TEMPLATE


def test_generation_config_is_near_greedy_like_qwen(built: dict[str, Path]) -> None:
    from transformers import GenerationConfig

    for path in built.values():
        gc = GenerationConfig.from_pretrained(path)
        assert (gc.top_k, gc.top_p, gc.repetition_penalty) == (1, 0.001, 1.05)
        tok = json.loads((path / "tokenizer_config.json").read_text())
        assert tok["eos_token"] == "<|im_end|>" and tok["pad_token"] == "<|endoftext|>"
        assert len(gc.eos_token_id) == 2


def test_judge_vocabulary_tokenizes_compactly(built: dict[str, Path]) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(built["qwen2_5_vl"])
    for word in ("<think>", "</think>", "<answer>", "</answer>", "[Question]"):
        assert len(tok(word, add_special_tokens=False)["input_ids"]) <= 3, word
    prompt = (
        "[Question]\nWhat is shown in the image?\n\n[Assistant 1's Answer]\nA cat.\n\n"
        "<think> The assistant gives a correct answer. </think><answer>8</answer>"
    )
    ids = tok(prompt, add_special_tokens=False)["input_ids"]
    assert len(ids) < len(prompt) / 3
    assert tok.decode(ids) == prompt
    assert len(tok("<|im_start|>user<|im_end|>", add_special_tokens=False)["input_ids"]) == 3


def test_same_seed_same_weights(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    a = load_file(build_tiny_model(tmp_path / "a", "qwen2", seed=3) / "model.safetensors")
    b = load_file(build_tiny_model(tmp_path / "b", "qwen2", seed=3) / "model.safetensors")
    c = load_file(build_tiny_model(tmp_path / "c", "qwen2", seed=4) / "model.safetensors")
    assert a.keys() == b.keys()
    assert all(bool((a[k] == b[k]).all()) for k in a)
    assert any(not bool((a[k] == c[k]).all()) for k in a)


def test_build_leaves_global_rng_alone(tmp_path: Path) -> None:
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_tiny_model(tmp_path / "m", "qwen2")
    assert torch.equal(torch.rand(3), expected)


def test_bad_arguments_raise_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="kind"):
        build_tiny_model(tmp_path, "llama")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="kind"):
        cli_tiny_model(tmp_path, "bert")
    with pytest.raises(InputError, match="qwen_files_dir"):
        build_tiny_model(tmp_path, "qwen2", vocab="qwen")
    with pytest.raises(InputError, match=r"vocab\.json"):
        build_tiny_model(tmp_path, "qwen2", vocab="qwen", qwen_files_dir=tmp_path)
    with pytest.raises(InputError, match="head_dim"):
        build_tiny_model(tmp_path, "qwen2", hidden_size=40, head_dim=16)


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["qwen2_5_vl", "qwen2_5_omni"])
def test_qwen_vocab_gives_real_ids(tmp_path: Path, kind: str) -> None:
    if not (QWEN_VL_DIR / "vocab.json").is_file():
        pytest.skip("shared Qwen tokenizer files absent")
    from transformers import AutoConfig, AutoProcessor

    path = build_tiny_model(tmp_path, kind, vocab="qwen", qwen_files_dir=QWEN_VL_DIR)  # type: ignore[arg-type]
    tok = AutoProcessor.from_pretrained(path).tokenizer
    real_dir = QWEN_VL_DIR if kind == "qwen2_5_vl" else QWEN_OMNI_DIR
    real = json.loads((real_dir / "tokenizer_config.json").read_text())["added_tokens_decoder"]
    assert {v["content"]: int(k) for k, v in real.items()} == {
        s: tok.convert_tokens_to_ids(s) for s in (v["content"] for v in real.values())
    }
    assert tok("Hello world", add_special_tokens=False)["input_ids"] == [9707, 1879]
    assert AutoConfig.from_pretrained(path).get_text_config().vocab_size == 151936


def test_cli_entry_and_tiny_model_cache(tmp_path: Path) -> None:
    out = cli_tiny_model(tmp_path / "cli", "qwen2")
    assert (out / "model.safetensors").is_file()
    assert tiny_model("qwen2") == tiny_model("qwen2")
    cached = tiny_model("qwen2", cache_dir=tmp_path / "cache")
    assert cached == tmp_path / "cache" / "qwen2"
    assert (cached / "config.json").is_file()
    mtime = (cached / "model.safetensors").stat().st_mtime_ns
    from flexjudge.testing import _tiny

    _tiny._cache.clear()  # a new process would find the folder and reuse it
    assert tiny_model("qwen2", cache_dir=tmp_path / "cache") == cached
    assert (cached / "model.safetensors").stat().st_mtime_ns == mtime


def test_media_helpers_are_deterministic() -> None:
    img = make_test_image(40, 30, seed=1)
    assert img.size == (40, 30) and img.mode == "RGB"
    assert np.array_equal(np.asarray(img), np.asarray(make_test_image(40, 30, seed=1)))
    assert not np.array_equal(np.asarray(img), np.asarray(make_test_image(40, 30, seed=2)))
    video = make_test_video(4, 56, 48, seed=0)
    assert video.shape == (4, 56, 48, 3) and video.dtype == np.uint8
    assert not np.array_equal(video[0], video[1])
    audio = make_test_audio(0.5, sr=16000, seed=0)
    assert audio.shape == (8000,) and audio.dtype == np.float32
    assert float(np.abs(audio).max()) <= 1.0
    assert np.array_equal(audio, make_test_audio(0.5, seed=0))


def test_write_test_video_and_wav(tmp_path: Path) -> None:
    av = pytest.importorskip("av")
    sf = pytest.importorskip("soundfile")
    mp4 = write_test_video(tmp_path / "v.mp4", frames=6, h=32, w=48, fps=3)
    with av.open(str(mp4)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 6 and frames[0].shape == (32, 48, 3)
    with pytest.raises(ValueError, match="even"):
        write_test_video(tmp_path / "odd.mp4", h=31)
    wav = write_test_wav(tmp_path / "a.wav", seconds=0.25)
    data, sr = sf.read(wav, dtype="float32")
    assert sr == 16000 and data.shape == (4000,)
    assert np.allclose(data, make_test_audio(0.25), atol=1e-4)
