"""Image-text training rows (paper Table 5): token expansion, masks, collation, a tiny run."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from flexjudge.errors import InputError
from flexjudge.testing import make_test_image
from flexjudge.train import (
    IGNORE_INDEX,
    ImageTextCollator,
    ImageTokens,
    TrainConfig,
    TrainResult,
    detect_markers,
    tokenize_image_rows,
    train,
)

VL_IMAGE = "<|vision_start|><|image_pad|><|vision_end|>"
PROMPT = (
    "<|im_start|>system\nYou are a judge.<|im_end|>\n"
    "<|im_start|>user\n{media}[Question]\nWhat is shown, case {i}?\n\n"
    "[Assistant 1]\nA red square.\n\n[Assistant 2]\nA cat.<|im_end|>\n"
    "<|im_start|>assistant\n<think>\n"
)
TEXT = "Assistant 1 matches the image.\n</think>\n<answer>8</answer><answer>3</answer>"


def write_image_data(folder: Path, n_image: int = 4, n_text: int = 4) -> Path:
    """RLHF-V-style preference rows in the curated layout, images relative to the file."""
    (folder / "img").mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for i in range(n_image):
        name = f"img/{i}.png"
        make_test_image(56 + 28 * (i % 2), 56, seed=i).save(folder / name)
        rows.append({"prompt": PROMPT.format(media=VL_IMAGE, i=i), "text": TEXT, "images": [name]})
    for i in range(n_text):  # interleaved text rows: batches mix both kinds
        rows.insert(2 * i + 1, {"prompt": PROMPT.format(media="", i=100 + i), "text": TEXT})
    data = folder / "train.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return data


def _image_tokens(base: Path) -> tuple[Any, ImageTokens]:
    from transformers import AutoProcessor, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(base)
    return tok, ImageTokens.from_processor(AutoProcessor.from_pretrained(base), tok, "qwen2_5_vl")


def _tokenize(base: Path, rows: list[dict[str, Any]], root: Path, mode: str = "clean") -> Any:
    tok, images = _image_tokens(base)
    return tokenize_image_rows(
        rows,
        tokenizer=tok,
        markers=detect_markers(tok),
        mode=mode,
        block_size=4096,
        images=images,
        root=root,
    )


@pytest.mark.parametrize("mode", ["clean", "reference"])
def test_image_tokens_expand_as_the_processor_does_and_stay_masked(
    tiny_vl: Path, tmp_path: Path, mode: str
) -> None:
    from transformers import AutoProcessor

    data = write_image_data(tmp_path, n_image=1, n_text=0)
    row = json.loads(data.read_text().splitlines()[0])
    [ex] = _tokenize(tiny_vl, [row], tmp_path, mode)
    processor = AutoProcessor.from_pretrained(tiny_vl)
    image = make_test_image(56, 56, seed=0)
    full = processor(text=[row["prompt"]], images=[image], return_tensors="pt")
    prompt_ids = full["input_ids"][0].tolist()
    assert ex.example.input_ids[: len(prompt_ids)] == prompt_ids  # same expansion
    pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    n_image = prompt_ids.count(pad)
    grid = full["image_grid_thw"][0].tolist()
    assert n_image == grid[0] * grid[1] * grid[2] // 4 > 0
    assert all(
        label == IGNORE_INDEX
        for tid, label in zip(ex.example.input_ids, ex.example.labels, strict=True)
        if tid == pad
    )
    trained = processor.tokenizer.decode([t for t in ex.example.labels if t != IGNORE_INDEX])
    assert trained.startswith("<think>") and "<|image_pad|>" not in trained
    assert ex.images == [str(tmp_path / "img/0.png")]


def test_placeholders_inserted_when_absent_and_bad_rows_named(
    tiny_vl: Path, tmp_path: Path
) -> None:
    write_image_data(tmp_path, n_image=1, n_text=0)
    bare = {"id": "r-bare", "prompt": PROMPT.format(media="", i=0), "text": TEXT}
    [ex] = _tokenize(tiny_vl, [{**bare, "images": ["img/0.png"]}], tmp_path)
    tok, images = _image_tokens(tiny_vl)
    assert images.token_id in ex.example.input_ids
    assert tok.decode(ex.example.input_ids).count("<|vision_start|>") == 1
    cases = [
        ({**bare, "images": ["img/none.png"]}, "images", "does not exist"),
        ({**bare, "images": "img/0.png"}, "images", "list of file paths"),
        (
            {**bare, "prompt": PROMPT.format(media=VL_IMAGE * 2, i=0), "images": ["img/0.png"]},
            "images",
            "2 image placeholder(s)",
        ),
        ({**bare, "prompt": PROMPT.format(media=VL_IMAGE, i=0)}, "images", "no 'images'"),
        ({**bare, "text": VL_IMAGE + TEXT, "images": ["img/0.png"]}, "text", "placeholder"),
    ]
    for row, field, message in cases:
        with pytest.raises(InputError) as err:
            _tokenize(tiny_vl, [row], tmp_path)
        assert err.value.record == "r-bare" and err.value.field == field, row
        assert message in str(err.value)
    cut = ex.example.input_ids.index(images.token_id) + 2  # inside the image's tokens
    with pytest.raises(InputError) as err:
        tokenize_image_rows(
            [{**bare, "images": ["img/0.png"]}],
            tokenizer=tok,
            markers=detect_markers(tok),
            mode="clean",
            block_size=cut,
            images=images,
            root=tmp_path,
        )
    assert err.value.field == "block_size"


def test_collator_mixes_text_and_image_rows(tiny_vl: Path, tmp_path: Path) -> None:
    data = write_image_data(tmp_path, n_image=2, n_text=1)
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    examples = _tokenize(tiny_vl, rows, tmp_path)
    _, images = _image_tokens(tiny_vl)
    collate = ImageTextCollator(0, images, token_types=True)
    feats = [
        {"input_ids": e.example.input_ids, "labels": e.example.labels, "image_files": e.images}
        for e in examples
    ]
    batch = collate(feats)
    grids = batch["image_grid_thw"]
    assert grids.shape == (2, 3)
    assert batch["pixel_values"].shape[0] == int(grids.prod(dim=1).sum())
    n_tokens = int((batch["input_ids"] == images.token_id).sum())
    assert n_tokens == int(grids.prod(dim=1).sum()) // 4
    assert int(batch["mm_token_type_ids"].sum()) == n_tokens
    text_only = collate([feats[1]])  # the interleaved text row
    assert set(text_only) == {"input_ids", "attention_mask", "labels"}


def test_text_only_base_rejects_image_rows(tmp_path: Path) -> None:
    from flexjudge.testing import build_tiny_model

    base = build_tiny_model(tmp_path / "qwen2", kind="qwen2")
    data = write_image_data(tmp_path / "d", n_image=1, n_text=0)
    with pytest.raises(InputError) as err:
        train(TrainConfig(base=str(base), data=str(data), output=str(tmp_path / "o")))
    assert err.value.field == "images"


@pytest.fixture(scope="module")
def trained_on_images(tiny_vl: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    tmp = tmp_path_factory.mktemp("train_images")
    data = write_image_data(tmp)
    config = TrainConfig(
        base=str(tiny_vl),
        data=str(data),
        output=str(tmp / "out"),
        global_batch_size=4,
        per_device_batch_size=4,
        learning_rate=3e-3,
        max_steps=2,
        lr_scheduler="constant",
        warmup_ratio=0.0,
        device="cpu",
        plot=False,
    )
    return train(config)


def test_two_steps_on_image_rows_keep_the_frozen_tower(
    tiny_vl: Path, trained_on_images: TrainResult
) -> None:
    import torch
    from safetensors.torch import load_file

    result = trained_on_images
    assert result.steps == 2 and len(result.losses) == 2
    assert all(math.isfinite(loss) for _, loss in result.losses)
    assert result.frozen_modules == ["model.visual"] and result.examples == 8
    before = load_file(str(tiny_vl / "model.safetensors"))
    after = load_file(str(Path(result.output_dir) / "model.safetensors"))
    vision = [k for k in before if k.startswith("visual.")]
    assert vision and all(torch.equal(before[k], after[k]) for k in vision)
    assert any(not torch.equal(before[k], after[k]) for k in before if not k.startswith("visual."))


def test_image_trained_checkpoint_judges_an_image(
    trained_on_images: TrainResult, tmp_path: Path
) -> None:
    from flexjudge.judge import Judge

    judge = Judge.from_pretrained(
        trained_on_images.output_dir, backend="transformers", max_tokens=16, temperature=0.0
    )
    result = judge.compare(
        "What is shown?", "A red square.", "A cat.", images=[make_test_image(56, 56, seed=3)]
    )
    assert result.status != "error", result.error
    assert result.samples and result.samples[0].text and result.num_tokens > 0


@pytest.mark.slow
def test_omni_thinker_trains_on_image_rows(tiny_omni: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file

    data = write_image_data(tmp_path, n_image=2, n_text=2)
    omni = "<|vision_bos|><|IMAGE|><|vision_eos|>"
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    for row in rows:
        row["prompt"] = row["prompt"].replace(VL_IMAGE, omni)
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = train(
        TrainConfig(
            base=str(tiny_omni),
            data=str(data),
            output=str(tmp_path / "out"),
            global_batch_size=4,
            per_device_batch_size=4,
            max_steps=1,
            device="cpu",
            plot=False,
        )
    )
    assert [math.isfinite(loss) for _, loss in result.losses] == [True]
    assert result.frozen_modules == ["model.audio_tower", "model.visual"]
    before = load_file(str(tiny_omni / "model.safetensors"))
    after = load_file(str(tmp_path / "out" / "model.safetensors"))
    vision = [k for k in before if k.startswith("visual.")]
    assert vision and all(torch.equal(before[k], after[k]) for k in vision)
