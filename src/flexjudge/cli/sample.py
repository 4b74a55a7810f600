"""``flexjudge sample``: candidates from a policy model for best-of-N and DPO pairs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from flexjudge.backends import backend_help
from flexjudge.errors import FlexJudgeError


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise typer.BadParameter(f"expected comma-separated numbers, got {text!r}") from None


def sample_command(
    model: Annotated[str, typer.Option("--model", "-m", help="Policy checkpoint or model id.")],
    input_path: Annotated[
        Path, typer.Option("--input", "-i", help="Prompts JSONL (question, images, molecules).")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Candidates JSONL.")],
    n: Annotated[int, typer.Option(help="Candidates per prompt and temperature.")] = 1,
    temperatures: Annotated[
        str, typer.Option(help="Comma-separated temperatures, e.g. 0.8,1.2 (paper B.4.2).")
    ] = "0.8",
    seed: Annotated[int, typer.Option(help="Candidate k is seeded with seed + k.")] = 0,
    top_p: Annotated[float, typer.Option(help="Nucleus sampling.")] = 1.0,
    max_tokens: Annotated[int, typer.Option(help="New tokens per candidate.")] = 256,
    batch_size: Annotated[int, typer.Option(help="Prompts per backend call.")] = 16,
    molecule_view: Annotated[
        str, typer.Option(help="How molecules are shown: auto | image | text | graph.")
    ] = "auto",
    backend: Annotated[str, typer.Option(help=backend_help())] = "transformers",
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible URL.")] = None,
    store: Annotated[Path | None, typer.Option(help="Result store (resume).")] = None,
) -> None:
    """Draw N candidates per prompt at each temperature; feeds `bon` and `pairs`."""
    from flexjudge.backends import load_backend
    from flexjudge.curate._sample import SampleConfig, run_sample_file

    try:
        cfg = SampleConfig(
            n=n,
            temperatures=_floats(temperatures),
            seed=seed,
            top_p=top_p,
            max_tokens=max_tokens,
            batch_size=batch_size,
            molecule_view=molecule_view,
        )
        kwargs = {"base_url": base_url} if base_url is not None else {}
        policy = load_backend(backend, model, **kwargs)
        if store is not None:
            from flexjudge.store import ResultStore

            with ResultStore(store) as results:
                summary = run_sample_file(policy, input_path, output, cfg, store=results)
        else:
            summary = run_sample_file(policy, input_path, output, cfg)
    except (FlexJudgeError, OSError, ValueError) as exc:
        typer.echo(json.dumps({"error": str(exc)}), err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(summary))
    if summary["prompts"] and summary["errors"] == summary["prompts"]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("sample")(sample_command)
