"""The training recipe: curated JSONL → TRL ``SFTTrainer`` → a judge checkpoint folder."""

from __future__ import annotations

import inspect
import os
import time
from pathlib import Path
from typing import Any

from flexjudge._util.optional import require
from flexjudge.errors import InputError
from flexjudge.train._config import PRESETS, TrainConfig, TrainResult
from flexjudge.train._data import (
    CompletionCollator,
    detect_markers,
    pad_token_id,
    read_rows,
    tokenize_rows,
)
from flexjudge.train._images import (
    IMAGE_FILES_COLUMN,
    ImageTextCollator,
    ImageTokens,
    has_images,
    tokenize_image_rows,
)
from flexjudge.train._logging import make_jsonl_callback, plot_losses
from flexjudge.train._model import (
    LoadedBackbone,
    apply_lora,
    detect_family,
    freeze_towers,
    load_backbone,
    merge_lora,
)
from flexjudge.train._save import copy_support_files, graft_thinker, save_processor

LOG_FILE = "train_log.jsonl"
PLOT_FILE = "loss_curve.png"
RESULT_FILE = "train_result.json"
CONFIG_FILE = "train_config.json"


def _use_cpu(config: TrainConfig) -> bool:
    import torch

    if config.device == "cuda" and not torch.cuda.is_available():
        raise InputError("device='cuda' but no CUDA device is visible", field="device")
    return config.device == "cpu" or not torch.cuda.is_available()


def _precision(config: TrainConfig, use_cpu: bool) -> str:
    import torch

    if config.precision != "auto":
        return config.precision
    if not use_cpu and torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp32"


def build_sft_args(config: TrainConfig, *, world_size: int, use_cpu: bool, precision: str) -> Any:
    """The ``trl.SFTConfig`` of ``config`` (paper hyper-parameters unless overridden)."""
    trl = require("trl", "train")
    kwargs: dict[str, Any] = dict(
        output_dir=config.output,
        per_device_train_batch_size=config.per_device_batch_size,
        gradient_accumulation_steps=config.grad_accumulation(world_size),
        learning_rate=config.resolved_learning_rate,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,  # a float in [0, 1) is a ratio in transformers 5
        adam_beta1=config.adam_beta1,
        adam_beta2=config.adam_beta2,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        activation_checkpointing=config.activation_checkpointing,
        logging_steps=config.logging_steps,
        save_strategy="no",
        report_to=[],
        seed=config.seed,
        use_cpu=use_cpu,
        dataset_kwargs={"skip_prepare_dataset": True},
        remove_unused_columns=False,
        dataloader_num_workers=config.dataloader_workers,
        include_num_input_tokens_seen="non_padding",
        disable_tqdm=True,
    )
    kwargs.update(config.extra_args)
    return trl.SFTConfig(**kwargs)


def _tokenizer(config: TrainConfig) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(config.base)
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot load a tokenizer from {config.base!r}: {exc}", field="base"
        ) from exc


def _image_tokens(config: TrainConfig, tokenizer: Any) -> ImageTokens:
    """The base's image processor and tokens; raises :class:`InputError` for a text-only
    base (rows with images need a vision-language model)."""
    from transformers import AutoConfig, AutoProcessor

    try:
        processor = AutoProcessor.from_pretrained(config.base)
        model_type = str(AutoConfig.from_pretrained(config.base).model_type)
    except (OSError, ValueError, TypeError) as exc:
        raise InputError(
            f"rows with images need the base's processor, which does not load: {exc}",
            field="images",
        ) from exc
    return ImageTokens.from_processor(processor, tokenizer, detect_family(model_type))


def _collator(pad_id: int, image_tokens: ImageTokens | None, model: Any) -> CompletionCollator:
    if image_tokens is None:
        return CompletionCollator(pad_id)
    forward = getattr(model, "get_base_model", lambda: model)().forward
    token_types = "mm_token_type_ids" in inspect.signature(forward).parameters
    return ImageTextCollator(pad_id, image_tokens, token_types)


def _materialize(config: TrainConfig, state: dict[str, Any], dtype: Any) -> Any:
    """A fresh CPU copy of the trained model from a gathered state dict (ZeRO-3 path)."""
    loaded = load_backbone(config.base, dtype)
    model = loaded.model
    if config.lora:
        model = apply_lora(model, config.lora_r, config.lora_alpha, config.lora_dropout)
    model.load_state_dict(state, strict=True)
    return model


def _final_model(trainer: Any, config: TrainConfig, dtype: Any) -> Any | None:
    """Gather on every rank; on the main process return the full (LoRA-merged) model."""
    state = trainer.accelerator.get_state_dict(trainer.model)
    if not trainer.accelerator.is_main_process:
        return None
    ds_plugin = getattr(trainer.accelerator.state, "deepspeed_plugin", None)
    if ds_plugin is not None and getattr(ds_plugin, "zero_stage", 0) == 3:
        model = _materialize(config, state, dtype)
    else:
        model = trainer.accelerator.unwrap_model(trainer.model)
    if config.lora:
        model = merge_lora(model)
    return model


def _save(
    model: Any, loaded: LoadedBackbone, config: TrainConfig, tokenizer: Any, dtype: Any
) -> str | None:
    out = Path(config.output)
    full_base = config.omni_full_base or loaded.full_omni_base
    grafted: str | None = None
    if loaded.family == "qwen2_5_omni" and full_base is not None:
        graft_thinker(full_base, model.state_dict(), out, dtype=dtype)
        grafted = str(full_base)
    else:
        model.save_pretrained(str(out))
    if config.mode == "reference":  # the reference saved its custom pad and block size
        markers = detect_markers(tokenizer)
        if markers.reference_pad in tokenizer.get_vocab():
            tokenizer.pad_token = markers.reference_pad
        tokenizer.model_max_length = config.block_size
    save_processor(config.base, out, tokenizer)
    copy_support_files(config.base, out)
    if grafted is not None:
        copy_support_files(grafted, out)
    if config.mol_host is not None:
        from flexjudge.train._graft_mol import graft_into_mol_host

        graft_into_mol_host(model.state_dict(), config.mol_host, out / "flex_mol", dtype=dtype)
        grafted = config.mol_host
    return grafted


def run_training(config: TrainConfig) -> TrainResult:
    """Train in this process (one rank of a distributed job when ``WORLD_SIZE`` is set).

    Raises :class:`InputError` for bad data (naming the row and field) or a bad base model.
    """
    import torch

    trl = require("trl", "train")
    datasets = require("datasets", "train")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    is_main = int(os.environ.get("RANK", "0")) == 0
    use_cpu = _use_cpu(config)
    precision = _precision(config, use_cpu)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32

    tokenizer = _tokenizer(config)
    markers = detect_markers(tokenizer)
    rows = read_rows(config.data)
    image_tokens = _image_tokens(config, tokenizer) if has_images(rows) else None
    columns: dict[str, list[Any]]
    if image_tokens is None:
        examples = tokenize_rows(
            rows,
            tokenizer=tokenizer,
            markers=markers,
            mode=config.mode,
            block_size=config.block_size,
        )
        columns = {}
    else:
        with_images = tokenize_image_rows(
            rows,
            tokenizer=tokenizer,
            markers=markers,
            mode=config.mode,
            block_size=config.block_size,
            images=image_tokens,
            root=Path(config.data).parent,
        )
        examples = [e.example for e in with_images]
        columns = {IMAGE_FILES_COLUMN: [e.images for e in with_images]}
        columns["record"] = [e.record for e in with_images]
    loaded = load_backbone(config.base, dtype)
    if config.preset is not None and PRESETS[config.preset].family != loaded.family:
        print(
            f"[flexjudge train] warning: preset {config.preset} is for "
            f"{PRESETS[config.preset].family} but {config.base} is {loaded.family}"
        )
    frozen = freeze_towers(loaded.model) if config.resolved_freeze_towers else []
    model = loaded.model
    if config.lora:
        model = apply_lora(model, config.lora_r, config.lora_alpha, config.lora_dropout)

    dataset = datasets.Dataset.from_dict(
        {
            "input_ids": [e.input_ids for e in examples],
            "labels": [e.labels for e in examples],
            **columns,
        }
    )
    out = Path(config.output)
    out.mkdir(parents=True, exist_ok=True)
    progress = make_jsonl_callback(out / LOG_FILE, is_main)
    args = build_sft_args(config, world_size=world_size, use_cpu=use_cpu, precision=precision)
    trainer = trl.SFTTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        data_collator=_collator(pad_token_id(tokenizer, markers, config.mode), image_tokens, model),
        callbacks=[progress],
    )
    from transformers.trainer_callback import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # our callback prints one line per step
    started = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - started

    final = _final_model(trainer, config, dtype)
    grafted: str | None = None
    plot: str | None = None
    if final is not None:
        grafted = _save(final, loaded, config, tokenizer, dtype)
        if config.plot:
            written = plot_losses(progress.losses, out / PLOT_FILE)
            plot = None if written is None else str(written)
    tokens = int(trainer.state.num_input_tokens_seen)
    result = TrainResult(
        output_dir=str(out),
        family=loaded.family,
        mode=config.mode,
        world_size=world_size,
        steps=int(trainer.state.global_step),
        examples=len(examples),
        fully_masked_examples=sum(1 for e in examples if e.trained_tokens == 0),
        trained_tokens=sum(e.trained_tokens for e in examples),
        losses=progress.losses,
        train_seconds=seconds,
        tokens_per_second=tokens / seconds if seconds > 0 else 0.0,
        log_file=str(out / LOG_FILE),
        plot_file=plot,
        frozen_modules=frozen,
        lora_merged=config.lora,
        grafted_into=grafted,
    )
    if is_main:
        (out / RESULT_FILE).write_text(result.to_json())
        (out / CONFIG_FILE).write_text(config.to_json())
    trainer.accelerator.wait_for_everyone()
    return result
