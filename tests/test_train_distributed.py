"""A real 2-process gloo data-parallel run through ``torchrun`` (flexjudge train --launch 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flexjudge.train import TrainConfig, train

PROMPT = (
    "<|im_start|>system\nYou are a judge.<|im_end|>\n<|im_start|>user\nRate {i}."
    "<|im_end|>\n<|im_start|>assistant\n<think>\n"
)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_process_gloo_run_trains_and_saves(tiny_vl: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    data = tmp_path / "train.jsonl"
    data.write_text(
        "".join(
            json.dumps({"prompt": PROMPT.format(i=i), "text": "fine\n</think>\n<answer>5</answer>"})
            + "\n"
            for i in range(16)
        )
    )
    out = tmp_path / "out"
    result = train(
        TrainConfig(
            base=str(tiny_vl),
            data=str(data),
            output=str(out),
            launch=2,
            device="cpu",
            global_batch_size=8,
            per_device_batch_size=2,
            learning_rate=3e-3,
            max_steps=3,
            warmup_ratio=0.0,
            plot=False,
        )
    )
    assert result.world_size == 2
    assert result.steps == 3 and len(result.losses) == 3
    # 2 per device x 2 accumulation x 2 processes = the global batch of 8
    assert json.loads((out / "launch_config.json").read_text())["launch"] == 2
    before, after = (
        load_file(str(tiny_vl / "model.safetensors")),
        load_file(str(out / "model.safetensors")),
    )
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("visual."))
    assert any(not torch.equal(before[k], after[k]) for k in before if "layers" in k)
    assert (out / "processor_config.json").is_file()
