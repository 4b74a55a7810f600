"""``flexjudge dpo``: DPO on judge-built preference pairs (TRL ``DPOTrainer``)."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def dpo_command(
    policy: Annotated[str, typer.Option(help="Policy checkpoint (text or vision-language).")],
    pairs: Annotated[str, typer.Option(help="Pairs JSONL from `flexjudge pairs`.")],
    output: Annotated[str, typer.Option(help="Output folder for the trained policy.")],
    mode: Annotated[
        str, typer.Option(help="reference (authors' stage-3 settings) | clean (TRL's).")
    ] = "clean",
    beta: Annotated[float, typer.Option(help="DPO beta (the reference's 0.1).")] = 0.1,
    lora: Annotated[bool, typer.Option(help="Train LoRA adapters, merged at save.")] = False,
    lora_r: Annotated[int, typer.Option(help="LoRA rank.")] = 8,
    learning_rate: Annotated[float | None, typer.Option(help="Default: the mode's.")] = None,
    epochs: Annotated[float | None, typer.Option(help="Default: the mode's.")] = None,
    max_steps: Annotated[int, typer.Option(help="Stop after N steps (-1: epochs).")] = -1,
    per_device_batch_size: Annotated[int, typer.Option(help="Pairs per process step.")] = 2,
    gradient_accumulation_steps: Annotated[int, typer.Option(help="Micro-batches/step.")] = 1,
    max_length: Annotated[int, typer.Option(help="Maximum tokens per sequence.")] = 1024,
    seed: Annotated[int, typer.Option(help="Training seed.")] = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda.")] = "auto",
    launch: Annotated[int, typer.Option(help="Processes (torchrun) for data parallelism.")] = 1,
) -> None:
    """Train a policy on preference pairs with DPO and save it (loads back for sampling)."""
    from flexjudge.errors import FlexJudgeError
    from flexjudge.train._dpo import DPOSettings, dpo

    try:
        result = dpo(
            DPOSettings(
                policy=policy,
                pairs=pairs,
                output=output,
                mode=mode,  # type: ignore[arg-type]
                beta=beta,
                lora=lora,
                lora_r=lora_r,
                learning_rate=learning_rate,
                epochs=epochs,
                max_steps=max_steps,
                per_device_batch_size=per_device_batch_size,
                gradient_accumulation_steps=gradient_accumulation_steps,
                max_length=max_length,
                seed=seed,
                device=device,  # type: ignore[arg-type]
                launch=launch,
            )
        )
    except (FlexJudgeError, OSError, ValueError) as exc:
        typer.echo(json.dumps({"error": str(exc)}), err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(result))


def register(app: typer.Typer) -> None:
    app.command("dpo")(dpo_command)
