"""Issue 11 items 11-12: reference training trains every parameter (``train/sft.py``);
presets say whether they follow the paper's batch of 2 or the scripts' 2 × 4 × 4 GPUs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flexjudge.train import PRESETS, TrainConfig, train


def _config(**kw: object) -> TrainConfig:
    return TrainConfig(base="b", data="d", output="o", **kw)  # type: ignore[arg-type]


def test_freeze_towers_defaults_by_mode() -> None:
    assert _config(mode="reference").resolved_freeze_towers is False  # sft.py trains all
    assert _config(mode="clean").resolved_freeze_towers is True
    assert _config(mode="reference", freeze_towers=True).resolved_freeze_towers is True
    assert _config(mode="clean", freeze_towers=False).resolved_freeze_towers is False


@pytest.mark.parametrize("name", ["flex-vl-7b", "flex-omni-7b", "llama-8b"])
def test_paper_and_scripts_presets(name: str) -> None:
    paper, scripts, plain = PRESETS[f"{name}-paper"], PRESETS[f"{name}-scripts"], PRESETS[name]
    assert paper.learning_rate == scripts.learning_rate == plain.learning_rate
    assert paper.family == scripts.family == plain.family
    assert (paper.global_batch_size, scripts.global_batch_size, plain.global_batch_size) == (
        2,
        32,
        32,
    )
    assert "paper" in paper.description and "4 GPUs" in scripts.description
    # the scripts: 2 per device x 4 accumulation x 4 processes
    s = _config(preset=f"{name}-scripts")
    assert s.resolved_global_batch_size == 32 and s.grad_accumulation(4) == 4
    p = _config(preset=f"{name}-paper")
    assert p.resolved_global_batch_size == 2 and p.grad_accumulation(1) == 1
    assert p.epochs == 1.0 and p.block_size == 4096
    assert _config(preset=f"{name}-paper", global_batch_size=8).resolved_global_batch_size == 8
    assert PRESETS["flex-omni-7b-paper"].learning_rate == 7e-6


def test_train_help_lists_the_presets() -> None:
    from flexjudge.cli import app

    res = CliRunner().invoke(app, ["train", "--help"], terminal_width=200)
    assert res.exit_code == 0
    text = " ".join(res.output.split())
    assert "NAME-paper" in text and "NAME-scripts" in text


@pytest.mark.slow
def test_reference_mode_trains_every_parameter_by_default(tiny_vl: Path, tmp_path: Path) -> None:
    prompt = (
        "<|im_start|>system\nJudge.<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n"
        "<|im_start|>assistant\n<think>\n"
    )
    data = tmp_path / "train.jsonl"
    data.write_text(
        "".join(
            json.dumps({"prompt": prompt, "text": f"r{i}</think><answer>8</answer>"}) + "\n"
            for i in range(4)
        )
    )
    common = dict(
        base=str(tiny_vl),
        data=str(data),
        global_batch_size=4,
        per_device_batch_size=4,
        max_steps=1,
        device="cpu",
        plot=False,
    )
    ref = train(TrainConfig(output=str(tmp_path / "ref"), mode="reference", **common))  # type: ignore[arg-type]
    assert ref.frozen_modules == []
    clean = train(TrainConfig(output=str(tmp_path / "clean"), mode="clean", **common))  # type: ignore[arg-type]
    assert clean.frozen_modules  # the vision tower stays frozen in clean mode
