"""Training recipe on tiny checkpoints: label masks, frozen towers, LoRA merge, saved judge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from flexjudge.errors import InputError
from flexjudge.train import (
    CHATML,
    IGNORE_INDEX,
    LLAMA3,
    TrainConfig,
    TrainResult,
    detect_markers,
    reference_labels,
    tokenize_example,
    train,
)

PROMPT = (
    "<|im_start|>system\nYou are a judge.<|im_end|>\n"
    "<|im_start|>user\n[Question]\nWhat is 2 plus 2?<|im_end|>\n"
    "<|im_start|>assistant\n<think>\n"
)
TEXT = "Assistant 1 is right.\n</think>\n<answer>9</answer><answer>2</answer>"


def write_rows(path: Path, n: int = 16) -> Path:
    rows = []
    for i in range(n):
        prompt = PROMPT.replace("2 plus 2", f"{i} plus {i}")
        rows.append({"prompt": prompt, "text": TEXT})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def tiny_config(base: Path, data: Path, out: Path, **kw: Any) -> TrainConfig:
    options: dict[str, Any] = dict(
        global_batch_size=4,
        per_device_batch_size=4,
        learning_rate=3e-3,
        max_steps=4,
        lr_scheduler="constant",
        warmup_ratio=0.0,
        device="cpu",
        plot=False,
    )
    options.update(kw)
    return TrainConfig(base=str(base), data=str(data), output=str(out), **options)


def _tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


# ----------------------------------------------------------------------------- label masks
def test_reference_labels_hand_computed() -> None:
    # ids: 1=<|im_start|>, 2="user", 3=<|im_start|>+"assistant\n" parts (5, 6), 0 = pad.
    response, instruction, pad = [1, 5, 6], [1, 2], 0
    ids = [1, 2, 7, 8, 1, 5, 6, 9, 10, 0, 11]
    assert reference_labels(ids, response, instruction, pad) == [
        -100,
        -100,
        -100,
        -100,
        -100,
        -100,
        -100,
        9,
        10,
        -100,
        11,
    ]
    # a second turn: the span from the instruction to the next response header is masked
    ids2 = [1, 2, 7, 1, 5, 6, 9, 1, 2, 8, 1, 5, 6, 10]
    assert reference_labels(ids2, response, instruction, pad) == [-100] * 6 + [9] + [-100] * 6 + [
        10
    ]
    # a missing response template (e.g. truncated away) masks the whole example
    assert reference_labels([1, 2, 7, 8], response, instruction, pad) == [-100] * 4
    # more instructions than responses: everything from the last instruction on is masked
    assert (
        reference_labels([1, 2, 1, 5, 6, 9, 1, 2, 8], response, instruction, pad)
        == [-100] * 5 + [9] + [-100] * 3
    )


@pytest.mark.parametrize("mode", ["clean", "reference"])
def test_label_mask_matches_hand_computed_split(tiny_vl: Path, mode: str) -> None:
    tok = _tokenizer(tiny_vl)
    ex = tokenize_example(
        PROMPT,
        TEXT,
        tokenizer=tok,
        markers=detect_markers(tok),
        mode=mode,
        block_size=4096,
        record="r0",
    )
    head = "".join(PROMPT.partition("<|im_start|>assistant\n")[:2])
    target = "<think>\n" + TEXT + ("<|im_end|>" if mode == "clean" else "")
    expected_prompt = tok(head, add_special_tokens=False)["input_ids"]
    expected_target = tok(target, add_special_tokens=False)["input_ids"]
    assert ex.input_ids == expected_prompt + expected_target
    assert ex.labels == [IGNORE_INDEX] * len(expected_prompt) + expected_target
    trained = tok.decode([t for t in ex.labels if t != IGNORE_INDEX])
    assert trained == target
    assert trained.startswith("<think>") and trained.endswith(
        "<|im_end|>" if mode == "clean" else "</answer>"
    )


def test_reference_mode_masks_example_without_header_and_clean_mode_rejects_it(
    tiny_vl: Path,
) -> None:
    tok = _tokenizer(tiny_vl)
    prompt = "<|im_start|>user\nhello<|im_end|>\n"
    ref = tokenize_example(
        prompt,
        "text",
        tokenizer=tok,
        markers=CHATML,
        mode="reference",
        block_size=4096,
        record="r1",
    )
    assert set(ref.labels) == {IGNORE_INDEX}
    with pytest.raises(InputError) as err:
        tokenize_example(
            prompt,
            "text",
            tokenizer=tok,
            markers=CHATML,
            mode="clean",
            block_size=4096,
            record="r1",
        )
    assert err.value.record == "r1" and err.value.field == "prompt"


def test_llama3_header_and_single_bos() -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = [
        "<|begin_of_text|>",
        "<|start_header_id|>",
        "<|end_header_id|>",
        "<|eot_id|>",
        "<|reserved_special_token_5|>",
    ]
    vocab = {s: i for i, s in enumerate(specials)}
    for ch in "abcdefghijklmnopqrstuvwxyz<>/\n 0123456789[]?":
        vocab.setdefault(ch, len(vocab))
    core = Tokenizer(models.WordLevel(vocab, unk_token="?"))
    core.pre_tokenizer = pre_tokenizers.Split("", "isolated")
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="<|begin_of_text|>", additional_special_tokens=specials[1:]
    )
    assert detect_markers(tok) is LLAMA3
    prompt = (
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n<think>"
    )
    ex = tokenize_example(
        prompt,
        "ok</think>",
        tokenizer=tok,
        markers=LLAMA3,
        mode="clean",
        block_size=4096,
        record="l0",
    )
    assert ex.input_ids.count(vocab["<|begin_of_text|>"]) == 1
    trained = [t for t in ex.labels if t != IGNORE_INDEX]
    assert str(tok.decode(trained)).replace(" ", "") == "<think>ok</think><|eot_id|>"


def test_messages_rows_and_bad_rows(tiny_vl: Path, tmp_path: Path) -> None:
    from flexjudge.train import read_rows, row_to_text

    tok = _tokenizer(tiny_vl)
    row = {
        "messages": [
            {"role": "user", "content": "Judge this."},
            {"role": "assistant", "content": "<think>\nfine\n</think>\n<answer>7</answer>"},
        ]
    }
    prompt, text = row_to_text(row, "m0", tok)
    assert prompt.endswith("<|im_start|>assistant\n") and text.startswith("<think>")
    with pytest.raises(InputError) as err:
        row_to_text({"prompt": "x"}, "row 3", tok)
    assert err.value.field == "text" and err.value.record == "row 3"
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "a", "text": "b"}\nnot json\n')
    with pytest.raises(InputError) as err:
        read_rows(bad)
    assert err.value.record == "line 2"


# ----------------------------------------------------------------------------- training
@pytest.fixture(scope="module")
def trained_vl(tiny_vl: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    tmp = tmp_path_factory.mktemp("train_vl")
    data = write_rows(tmp / "train.jsonl")
    return train(tiny_config(tiny_vl, data, tmp / "out", max_steps=6, plot=True))


def _state(path: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


@pytest.mark.slow
def test_training_lowers_loss_and_keeps_vision_tower(
    tiny_vl: Path, trained_vl: TrainResult
) -> None:
    import torch

    losses = [v for _, v in trained_vl.losses]
    assert len(losses) == 6 and losses[-1] < losses[0] - 0.5
    assert trained_vl.frozen_modules == ["model.visual"]
    out = Path(trained_vl.output_dir)
    before, after = _state(tiny_vl), _state(out)
    assert before.keys() == after.keys()
    vision = [k for k in before if k.startswith("visual.")]
    assert vision and all(torch.equal(before[k], after[k]) for k in vision)
    text = [k for k in before if not k.startswith("visual.")]
    assert any(not torch.equal(before[k], after[k]) for k in text)
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5, 6]
    assert (out / "loss_curve.png").stat().st_size > 1000
    for name in ("processor_config.json", "chat_template.jinja", "tokenizer.json"):
        assert (out / name).is_file(), name


@pytest.mark.slow
def test_saved_checkpoint_loads_in_judge_and_generates(trained_vl: TrainResult) -> None:
    from flexjudge.judge import Judge

    judge = Judge.from_pretrained(
        trained_vl.output_dir,
        backend="transformers",
        protocol="text/pair",
        max_tokens=24,
        temperature=0.0,
    )
    result = judge.compare("What is 3 plus 3?", "It is 6.", "It is 9.")
    assert result.samples and result.samples[0].text
    assert result.num_tokens > 0


@pytest.mark.slow
def test_no_freeze_option_and_reference_mode(tiny_vl: Path, tmp_path: Path) -> None:
    data = write_rows(tmp_path / "train.jsonl", n=4)
    result = train(
        tiny_config(
            tiny_vl, data, tmp_path / "out", mode="reference", freeze_towers=False, max_steps=1
        )
    )
    assert result.frozen_modules == [] and result.mode == "reference"
    tok = _tokenizer(tmp_path / "out")
    assert tok.pad_token == "<|fim_pad|>" and tok.model_max_length == 4096


def test_lora_merge_matches_unmerged_logits(tiny_vl: Path) -> None:
    import torch

    from flexjudge.train import apply_lora, load_backbone, merge_lora

    model = apply_lora(load_backbone(str(tiny_vl), torch.float32).model, 4, 8, 0.0)
    names = [n for n, _ in model.named_parameters() if "lora_B" in n]
    assert names and not any("visual" in n for n in names)
    torch.manual_seed(0)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_" in n:
                p.normal_(0, 0.2)
    model.eval()
    ids = torch.tensor([[5, 17, 42, 8, 99, 3]])
    with torch.no_grad():
        unmerged = model(input_ids=ids).logits
        merged_model = merge_lora(model)
        merged = merged_model(input_ids=ids).logits
    assert not any("lora_" in n for n, _ in merged_model.named_parameters())
    torch.testing.assert_close(merged, unmerged, atol=1e-4, rtol=1e-4)


@pytest.mark.slow
def test_lora_training_saves_merged_model(tiny_vl: Path, tmp_path: Path) -> None:
    import torch

    data = write_rows(tmp_path / "train.jsonl", n=8)
    result = train(
        tiny_config(
            tiny_vl, data, tmp_path / "out", lora=True, lora_r=4, max_steps=3, learning_rate=1e-2
        )
    )
    assert result.lora_merged
    before, after = _state(tiny_vl), _state(tmp_path / "out")
    assert before.keys() == after.keys()  # merged: no adapter tensors left
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("visual."))
    assert any(not torch.equal(before[k], after[k]) for k in before if "q_proj" in k)


def test_config_validation_and_presets() -> None:
    with pytest.raises(InputError):
        TrainConfig(base="b", data="d", output="o", mode="other")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        TrainConfig(base="b", data="d", output="o", preset="gpt-9")
    vl = TrainConfig(base="b", data="d", output="o", preset="flex-vl-7b")
    omni = TrainConfig(base="b", data="d", output="o", preset="flex-omni-7b")
    assert vl.resolved_learning_rate == 1e-5 and omni.resolved_learning_rate == 7e-6
    assert vl.grad_accumulation(4) == 4 and vl.grad_accumulation(8) == 2
    assert vl.grad_accumulation(1) == 16
    assert TrainConfig.from_json(vl.to_json()) == vl


def test_missing_data_file_is_an_input_error(tiny_vl: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError) as err:
        train(tiny_config(tiny_vl, tmp_path / "none.jsonl", tmp_path / "out"))
    assert err.value.field == "data"


def test_cli_train_command_reports_bad_input_as_json(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from flexjudge.cli import app

    runner = CliRunner()
    result = runner.invoke(
        app,
        ["train", "--base", "b", "--data", "d", "--output", str(tmp_path / "o"), "--mode", "weird"],
    )
    assert result.exit_code == 2
    assert "mode must be" in json.loads(result.stderr.strip().splitlines()[-1])["error"]


@pytest.mark.slow
def test_plain_causal_lm_recipe(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM

    from flexjudge.testing import build_tiny_model

    base = build_tiny_model(tmp_path / "qwen2", kind="qwen2")
    data = write_rows(tmp_path / "train.jsonl", n=4)
    result = train(tiny_config(base, data, tmp_path / "out", preset="llama-8b", max_steps=2))
    assert result.family == "causal_lm" and result.frozen_modules == []
    assert result.final_loss is not None and result.final_loss < result.losses[0][1]
    model = AutoModelForCausalLM.from_pretrained(tmp_path / "out")
    assert type(model).__name__ == "Qwen2ForCausalLM"
    assert (tmp_path / "out" / "tokenizer.json").is_file()


def test_zero3_rebuild_from_gathered_state_dict(tiny_vl: Path, tmp_path: Path) -> None:
    import torch

    from flexjudge.train import apply_lora, load_backbone
    from flexjudge.train._recipe import _materialize

    config = tiny_config(tiny_vl, tmp_path / "d.jsonl", tmp_path / "o", lora=True, lora_r=2)
    trained = apply_lora(load_backbone(str(tiny_vl), torch.float32).model, 2, 32, 0.05)
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(0.01)
    state = trained.state_dict()
    rebuilt = _materialize(config, state, torch.float32)
    again = rebuilt.state_dict()
    assert again.keys() == state.keys()
    assert all(torch.equal(again[k], state[k]) for k in state)
