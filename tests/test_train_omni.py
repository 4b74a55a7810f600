"""Qwen2.5-Omni thinker graft (fixes Q6) and the plain-LM judge graft (spec §11.2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flexjudge.train import TrainConfig, graft_judge_weights, graft_thinker, train


def build_tiny_full_omni(thinker_dir: Path, out: Path) -> Path:
    """A tiny full Qwen2.5-Omni (thinker + talker + token2wav) around a tiny thinker."""
    import torch
    from transformers import AutoConfig, Qwen2_5OmniConfig, Qwen2_5OmniForConditionalGeneration

    tc = AutoConfig.from_pretrained(thinker_dir)
    talker = dict(
        vocab_size=64,
        embedding_size=tc.text_config.hidden_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        rope_parameters={"rope_type": "default", "mrope_section": [2, 3, 3], "rope_theta": 1e6},
        tts_text_start_token_id=1,
        tts_text_end_token_id=2,
        tts_text_pad_token_id=3,
        tts_codec_start_token_id=4,
        tts_codec_end_token_id=5,
        tts_codec_pad_token_id=6,
        tts_codec_mask_token_id=7,
        audio_token_index=tc.audio_token_index,
        image_token_index=tc.image_token_index,
        video_token_index=tc.video_token_index,
        vision_start_token_id=tc.vision_start_token_id,
        vision_end_token_id=tc.vision_end_token_id,
        audio_start_token_id=tc.audio_start_token_id,
        audio_end_token_id=tc.audio_end_token_id,
    )
    token2wav = dict(
        dit_config=dict(
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            head_dim=16,
            emb_dim=16,
            num_embeds=64,
            mel_dim=8,
            enc_emb_dim=8,
            enc_dim=8,
            enc_channels=[8, 8, 8, 8, 24],
            enc_attention_channels=8,
            enc_se_channels=8,
            look_ahead_layers=[1],
            look_backward_layers=[0],
        ),
        bigvgan_config=dict(
            mel_dim=8,
            upsample_initial_channel=16,
            resblock_kernel_sizes=[3],
            resblock_dilation_sizes=[[1, 3, 5]],
            upsample_rates=[2, 2],
            upsample_kernel_sizes=[4, 4],
        ),
    )
    config = Qwen2_5OmniConfig(
        thinker_config=tc.to_dict(), talker_config=talker, token2wav_config=token2wav
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        full = Qwen2_5OmniForConditionalGeneration(config)
    thinker = type(full.thinker).from_pretrained(thinker_dir)
    full.thinker.load_state_dict(thinker.state_dict())
    full.save_pretrained(out)
    torch.save({}, out / "spk_dict.pt")  # real checkpoints ship speaker embeddings
    for name in (
        "tokenizer.json",
        "tokenizer_config.json",
        "processor_config.json",
        "chat_template.jinja",
    ):
        (out / name).write_bytes((thinker_dir / name).read_bytes())
    return out


@pytest.fixture(scope="module")
def full_omni(tiny_omni: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_full_omni(tiny_omni, tmp_path_factory.mktemp("full_omni"))


def _load_full(path: Path) -> Any:
    from transformers import Qwen2_5OmniForConditionalGeneration

    return Qwen2_5OmniForConditionalGeneration.from_pretrained(path)


@pytest.mark.slow
def test_graft_thinker_round_trips_every_tensor(full_omni: Path, tmp_path: Path) -> None:
    import torch

    base = _load_full(full_omni)
    trained = {
        k: v + 0.01 * torch.randn_like(v) if v.is_floating_point() else v
        for k, v in base.thinker.state_dict().items()
    }
    graft_thinker(full_omni, trained, tmp_path / "out")
    saved = _load_full(tmp_path / "out")
    saved_thinker = saved.thinker.state_dict()
    assert saved_thinker.keys() == trained.keys()
    assert all(torch.equal(saved_thinker[k], trained[k]) for k in trained)
    base_sd, saved_sd = base.state_dict(), saved.state_dict()
    rest = [k for k in base_sd if not k.startswith("thinker.")]
    assert rest and all(torch.equal(base_sd[k], saved_sd[k]) for k in rest)
    # a partial thinker state dict (what an ungathered ZeRO-3 rank holds) is refused
    partial = dict(list(trained.items())[:5])
    with pytest.raises(RuntimeError):
        graft_thinker(full_omni, partial, tmp_path / "bad")


@pytest.mark.slow
def test_train_omni_thinker_grafts_into_full_model(
    tiny_omni: Path, full_omni: Path, tmp_path: Path
) -> None:
    import torch

    prompt = (
        "<|im_start|>system\nYou are a judge.<|im_end|>\n<|im_start|>user\n"
        "Rate it.<|im_end|>\n<|im_start|>assistant\n<think>\n"
    )
    data = tmp_path / "train.jsonl"
    data.write_text(
        "".join(
            json.dumps({"prompt": prompt, "text": f"ok {i}\n</think>\n<answer>4</answer>"}) + "\n"
            for i in range(8)
        )
    )
    result = train(
        TrainConfig(
            base=str(full_omni),
            data=str(data),
            output=str(tmp_path / "out"),
            preset="flex-omni-7b",
            global_batch_size=4,
            per_device_batch_size=4,
            learning_rate=3e-3,
            max_steps=3,
            warmup_ratio=0.0,
            device="cpu",
            plot=False,
        )
    )
    assert result.family == "qwen2_5_omni" and result.grafted_into == str(full_omni)
    assert sorted(result.frozen_modules) == ["model.audio_tower", "model.visual"]
    base, saved = _load_full(full_omni).state_dict(), _load_full(tmp_path / "out").state_dict()
    assert base.keys() == saved.keys()
    same = [k for k in base if torch.equal(base[k], saved[k])]
    towers = [k for k in base if k.startswith(("thinker.model.visual", "thinker.model.audio"))]
    others = [k for k in base if k.startswith(("talker.", "token2wav."))]
    assert set(towers) <= set(same) and set(others) <= set(same)
    assert not torch.equal(base["thinker.lm_head.weight"], saved["thinker.lm_head.weight"])
    for name in ("spk_dict.pt", "processor_config.json", "chat_template.jinja"):
        assert (tmp_path / "out" / name).is_file(), name


def test_graft_plain_lm_judge_into_host_with_extra_tokens(tmp_path: Path) -> None:
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig, AutoModelForCausalLM

    from flexjudge.testing import build_tiny_model

    judge_dir = build_tiny_model(tmp_path / "judge", kind="qwen2", seed=3)
    judge = AutoModelForCausalLM.from_pretrained(judge_dir)
    config = AutoConfig.from_pretrained(judge_dir)
    config.vocab_size += 2  # the host added [PAD] and <mol>
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        host = AutoModelForCausalLM.from_config(config)
    host = get_peft_model(host, LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    for n, p in host.named_parameters():
        if "lora_B" in n:
            p.data.fill_(0.5)  # the host's "trained" adapters
    host_before = {k: v.clone() for k, v in host.state_dict().items()}
    judge_sd = judge.state_dict()
    report = graft_judge_weights(judge_sd, host)
    after = host.state_dict()
    emb = "base_model.model.model.embed_tokens.weight"
    n = judge_sd["model.embed_tokens.weight"].shape[0]
    assert emb in report.row_merged
    assert torch.equal(after[emb][:n], judge_sd["model.embed_tokens.weight"])
    assert torch.equal(after[emb][n:], host_before[emb][n:])
    lora = [k for k in after if "lora_" in k]
    assert lora and all(torch.equal(after[k], host_before[k]) for k in lora)
    q = "base_model.model.model.layers.0.self_attn.q_proj.base_layer.weight"
    assert q in report.copied
    assert torch.equal(after[q], judge_sd["model.layers.0.self_attn.q_proj.weight"])
    assert not report.missing
