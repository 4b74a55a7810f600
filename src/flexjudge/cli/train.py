"""``flexjudge train``: the command-line face of :func:`flexjudge.train.train`.

Prints the :class:`~flexjudge.train.TrainResult` as JSON on stdout; progress goes to
stderr.  Heavy imports happen only inside the command.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer


def train_command(
    base: Annotated[str, typer.Option(help="Base checkpoint (folder or hub id).")],
    data: Annotated[str, typer.Option(help="Curated JSONL: prompt/text or messages rows.")],
    output: Annotated[str, typer.Option(help="Output folder (loads in flexjudge judge).")],
    preset: Annotated[
        str | None,
        typer.Option(
            help="flex-vl-7b | flex-omni-7b | llama-8b, each also as NAME-paper (global batch "
            "2, paper B.2) and NAME-scripts (= NAME: 2 x 4 x 4 GPUs = 32, train/*.sh)."
        ),
    ] = None,
    mode: Annotated[str, typer.Option(help="clean (trains <|im_end|>) or reference.")] = "clean",
    lora: Annotated[bool, typer.Option(help="LoRA on the language model, merged at save.")] = False,
    lora_r: Annotated[int, typer.Option(help="LoRA rank.")] = 16,
    freeze_towers: Annotated[
        bool | None,
        typer.Option(
            "--freeze-towers/--no-freeze-towers",
            help="Freeze vision/audio (default: frozen in clean mode, trained in reference).",
        ),
    ] = None,
    learning_rate: Annotated[float | None, typer.Option(help="Default: the preset's.")] = None,
    epochs: Annotated[float, typer.Option(help="Training epochs.")] = 1.0,
    max_steps: Annotated[int, typer.Option(help="Stop after N optimizer steps (-1: epochs).")] = -1,
    global_batch_size: Annotated[
        int | None,
        typer.Option(help="Sequences per optimizer step (default: the preset's, else 32)."),
    ] = None,
    per_device_batch_size: Annotated[int, typer.Option(help="Micro-batch per process.")] = 2,
    block_size: Annotated[int, typer.Option(help="Maximum tokens per example.")] = 4096,
    precision: Annotated[str, typer.Option(help="auto | bf16 | fp16 | fp32.")] = "auto",
    activation_checkpointing: Annotated[
        bool,
        typer.Option(
            "--activation-checkpointing/--no-activation-checkpointing",
            help="Recompute activations in the backward pass (less memory, ~30% slower).",
        ),
    ] = True,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda.")] = "auto",
    launch: Annotated[int, typer.Option(help="Processes (torchrun) for data parallelism.")] = 1,
    accelerate_config: Annotated[
        str | None,
        typer.Option(help="single_gpu | ddp | deepspeed_zero2 | deepspeed_zero3_offload | FILE."),
    ] = None,
    omni_full_base: Annotated[
        str | None, typer.Option(help="Full Qwen2.5-Omni checkpoint to graft the thinker into.")
    ] = None,
    mol_host: Annotated[
        str | None,
        typer.Option(
            help="Flex-Mol recipe: re-attach the trained LM to this mol-llm host "
            "(LoRA adapter/ and mol_encoder/ kept bit-identical); written to OUTPUT/flex_mol."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Training seed.")] = 42,
) -> None:
    """Fine-tune a judge on text-only reasoning traces (spec §6), fixing the reference's bugs."""
    from flexjudge.errors import FlexJudgeError
    from flexjudge.train import TrainConfig, train

    try:
        config = TrainConfig(
            base=base,
            data=data,
            output=output,
            preset=preset,
            mode=mode,  # type: ignore[arg-type]
            lora=lora,
            lora_r=lora_r,
            freeze_towers=freeze_towers,
            learning_rate=learning_rate,
            epochs=epochs,
            max_steps=max_steps,
            global_batch_size=global_batch_size,
            per_device_batch_size=per_device_batch_size,
            block_size=block_size,
            precision=precision,  # type: ignore[arg-type]
            activation_checkpointing=activation_checkpointing,
            device=device,  # type: ignore[arg-type]
            launch=launch,
            accelerate_config=accelerate_config,
            omni_full_base=omni_full_base,
            mol_host=mol_host,
            seed=seed,
        )
        result = train(config)
    except FlexJudgeError as exc:
        typer.echo(json.dumps({"error": str(exc)}), err=True)
        raise typer.Exit(2) from exc
    typer.echo(result.to_json())


def register(app: typer.Typer) -> None:
    """Add the top-level ``train`` command to the ``flexjudge`` app."""
    app.command("train")(train_command)
