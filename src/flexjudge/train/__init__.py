"""Train a Flex-Judge: SFT of a Qwen2.5-VL, Qwen2.5-Omni thinker or plain causal LM on text
rows, optionally mixed with image-text rows (the Table 5 ablation).

>>> from flexjudge.train import TrainConfig, train
>>> result = train(TrainConfig(base="Qwen/Qwen2.5-VL-7B-Instruct", data="train.jsonl",
...                            output="ckpts/flex-vl-7b", preset="flex-vl-7b"))  # doctest: +SKIP

Heavy dependencies (torch, transformers, trl, peft) are imported only when training starts.
"""

from __future__ import annotations

from flexjudge.errors import InputError
from flexjudge.train._config import PRESETS, Preset, TrainConfig, TrainMode, TrainResult
from flexjudge.train._data import (
    CHATML,
    IGNORE_INDEX,
    LLAMA3,
    ChatMarkers,
    CompletionCollator,
    TokenizedExample,
    detect_markers,
    read_rows,
    reference_labels,
    row_to_text,
    tokenize_example,
    tokenize_rows,
)
from flexjudge.train._images import (
    ImageExample,
    ImageTextCollator,
    ImageTokens,
    tokenize_image_rows,
)
from flexjudge.train._launch import ACCELERATE_CONFIGS, accelerate_config_path, launch
from flexjudge.train._model import (
    TOWER_NAMES,
    apply_lora,
    detect_family,
    freeze_towers,
    load_backbone,
    lora_target_regex,
    merge_lora,
    tower_modules,
)
from flexjudge.train._save import (
    GraftReport,
    copy_support_files,
    graft_judge_weights,
    graft_thinker,
)


def train(config: TrainConfig) -> TrainResult:
    """Train a judge as ``config`` says and save it to ``config.output``.

    With ``config.launch > 1`` (and not already inside a distributed job) the recipe runs in
    that many processes (torchrun, or accelerate with ``config.accelerate_config``) and rank
    0's result is returned.  Raises :class:`~flexjudge.errors.InputError` for bad data or
    options (naming the row and field) and :class:`~flexjudge.errors.FlexJudgeError` when a
    launched job fails.
    """
    import os

    if config.launch > 1 and "WORLD_SIZE" not in os.environ:
        _check_before_launch(config)  # one clear error here, not one traceback per process
        return launch(config)
    from flexjudge.train._recipe import run_training

    return run_training(config)


def _check_before_launch(config: TrainConfig) -> None:
    """What every launched process would fail on: the base checkpoint's config and the data."""
    from flexjudge.train._data import read_rows

    try:
        from transformers import AutoConfig

        AutoConfig.from_pretrained(config.base)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot load base checkpoint {config.base!r}: {exc}", field="base"
        ) from exc
    read_rows(config.data)


__all__ = [
    "ACCELERATE_CONFIGS",
    "CHATML",
    "IGNORE_INDEX",
    "LLAMA3",
    "PRESETS",
    "TOWER_NAMES",
    "ChatMarkers",
    "CompletionCollator",
    "GraftReport",
    "ImageExample",
    "ImageTextCollator",
    "ImageTokens",
    "Preset",
    "TokenizedExample",
    "TrainConfig",
    "TrainMode",
    "TrainResult",
    "accelerate_config_path",
    "apply_lora",
    "copy_support_files",
    "detect_family",
    "detect_markers",
    "freeze_towers",
    "graft_judge_weights",
    "graft_thinker",
    "launch",
    "load_backbone",
    "lora_target_regex",
    "merge_lora",
    "read_rows",
    "reference_labels",
    "row_to_text",
    "tokenize_example",
    "tokenize_image_rows",
    "tokenize_rows",
    "tower_modules",
    "train",
]
