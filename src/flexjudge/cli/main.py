"""The ``flexjudge`` command line.  It mirrors the Python API; every command prints JSON.

Sub-command groups of other layers (``curate``, ``train``, ``bench``, ``bon``, ``pairs``,
``serve``) are registered from their packages' ``cli`` modules, which import heavy
dependencies only inside the commands.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from flexjudge.cli._remote import ApiKeyEnvOpt, FamilyOpt, ServerOpt, remote_kwargs
from flexjudge.errors import FlexJudgeError

app = typer.Typer(
    help="Flex-Judge: reasoning judges for any modality.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
judge_app = typer.Typer(
    help="Judge responses (score, compare, rank, batch run).", no_args_is_help=True
)
protocols_app = typer.Typer(help="List and export judging protocols.", no_args_is_help=True)
testing_app = typer.Typer(help="Offline test helpers.", no_args_is_help=True)
app.add_typer(judge_app, name="judge")
app.add_typer(protocols_app, name="protocols")
app.add_typer(testing_app, name="testing")

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Checkpoint path or model id.")]
ProtocolOpt = Annotated[str | None, typer.Option(help="Protocol name (flexjudge protocols list).")]
ModeOpt = Annotated[str, typer.Option(help="reference (byte-exact, quirks) or clean.")]
BackendOpt = Annotated[str, typer.Option(help="transformers | vllm | openai | mol-llm | mock.")]


def _fail(message: str, code: int = 2) -> None:
    typer.echo(json.dumps({"error": message}), err=True)
    raise typer.Exit(code)


def _judge_options(
    *,
    protocol: str | None,
    mode: str,
    votes: int,
    budget_forcing: int,
    budget_tokens: int | None = None,
    swap: bool,
    order: str,
    seed: int,
    temperature: float | None,
    top_p: float | None,
    max_tokens: int | None,
    criteria: str | None,
) -> dict[str, Any]:
    return dict(
        protocol=protocol,
        mode=mode,
        votes=votes,
        budget_forcing=budget_forcing,
        budget_tokens=budget_tokens,
        swap=swap,
        order=order,
        seed=seed,
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        criteria=criteria,
    )


def _make_judge(
    model: str,
    backend: str,
    base_url: str | None,
    options: dict[str, Any],
    remote: dict[str, Any] | None = None,
) -> Any:
    from flexjudge.judge import Judge

    kwargs: dict[str, Any] = dict(remote or {})
    if base_url is not None:
        kwargs["base_url"] = base_url
    return Judge.from_pretrained(model, backend=backend, backend_kwargs=kwargs, **options)


def _single(
    kind: str,
    model: str,
    question: str | None,
    responses: list[str],
    images: list[Path],
    videos: list[Path],
    audios: list[Path],
    backend: str,
    base_url: str | None,
    options: dict[str, Any],
    molecules: list[str] | None = None,
    remote: dict[str, Any] | None = None,
) -> None:
    from flexjudge.judge.types import JudgeItem

    try:
        judge = _make_judge(model, backend, base_url, options, remote)
        item = JudgeItem(
            question,
            responses,
            task=kind,  # type: ignore[arg-type]
            images=[str(p) for p in images],
            videos=[str(p) for p in videos],
            audios=[str(p) for p in audios],
            molecules=list(molecules or []),
            protocol=options["protocol"],
        )
        result = judge.run([item])[0]
    except (FlexJudgeError, ValueError) as exc:
        _fail(str(exc))
        return
    typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))
    if result.status == "error":
        raise typer.Exit(1)


def _make_command(kind: str) -> None:
    def command(
        model: ModelOpt,
        question: Annotated[str | None, typer.Option(help="The question/instruction.")] = None,
        response: Annotated[list[str] | None, typer.Option(help="A response; repeat.")] = None,
        image: Annotated[list[Path] | None, typer.Option(help="Image file; repeat.")] = None,
        video: Annotated[list[Path] | None, typer.Option(help="Video file; repeat.")] = None,
        audio: Annotated[list[Path] | None, typer.Option(help="Audio file; repeat.")] = None,
        molecule: Annotated[
            list[str] | None,
            typer.Option(help="Molecule: SMILES or a .smi/.mol/.sdf file; repeat."),
        ] = None,
        molecule_view: Annotated[
            str, typer.Option(help="How molecules are shown: auto | image | text | graph.")
        ] = "auto",
        protocol: ProtocolOpt = None,
        mode: ModeOpt = "clean",
        backend: BackendOpt = "transformers",
        base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible URL.")] = None,
        server: ServerOpt = "auto",
        api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
        family: FamilyOpt = None,
        votes: Annotated[int, typer.Option(help="Samples per item (majority vote).")] = 1,
        budget_forcing: Annotated[int, typer.Option(help="'Wait' rounds.")] = 0,
        budget_tokens: Annotated[
            int | None, typer.Option(help="Stop forcing past N tokens.")
        ] = None,
        swap: Annotated[bool, typer.Option(help="Judge both orders.")] = False,
        order: Annotated[str, typer.Option(help="fixed | random.")] = "fixed",
        seed: Annotated[int, typer.Option(help="Sampling/order seed.")] = 0,
        temperature: Annotated[float | None, typer.Option()] = None,
        top_p: Annotated[float | None, typer.Option()] = None,
        max_tokens: Annotated[int | None, typer.Option()] = None,
        criteria: Annotated[str | None, typer.Option(help="Criteria (general protocols).")] = None,
    ) -> None:
        options = _judge_options(
            protocol=protocol,
            mode=mode,
            votes=votes,
            budget_forcing=budget_forcing,
            budget_tokens=budget_tokens,
            swap=swap,
            order=order,
            seed=seed,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            criteria=criteria,
        )
        options["molecule_view"] = molecule_view
        _single(
            kind,
            model,
            question,
            list(response or []),
            list(image or []),
            list(video or []),
            list(audio or []),
            backend,
            base_url,
            options,
            list(molecule or []),
            remote_kwargs(backend, None, server, api_key_env, family),
        )

    command.__doc__ = {
        "score": "Score one response.",
        "compare": "Compare two responses.",
        "rank": "Rank N responses.",
    }[kind]
    judge_app.command(kind)(command)


for _kind in ("score", "compare", "rank"):
    _make_command(_kind)


@judge_app.command("run")
def judge_run(
    model: ModelOpt,
    input: Annotated[Path, typer.Option("--input", "-i", help="items.jsonl")],
    output: Annotated[Path, typer.Option("--output", "-o", help="results.jsonl")],
    protocol: ProtocolOpt = None,
    mode: ModeOpt = "clean",
    backend: BackendOpt = "transformers",
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible URL.")] = None,
    server: ServerOpt = "auto",
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    family: FamilyOpt = None,
    votes: Annotated[int, typer.Option()] = 1,
    budget_forcing: Annotated[int, typer.Option()] = 0,
    budget_tokens: Annotated[int | None, typer.Option(help="Stop forcing past N tokens.")] = None,
    swap: Annotated[bool, typer.Option()] = False,
    order: Annotated[str, typer.Option()] = "fixed",
    seed: Annotated[int, typer.Option()] = 0,
    temperature: Annotated[float | None, typer.Option()] = None,
    top_p: Annotated[float | None, typer.Option()] = None,
    max_tokens: Annotated[int | None, typer.Option()] = None,
    criteria: Annotated[str | None, typer.Option()] = None,
    batch_size: Annotated[int, typer.Option(help="Items per backend call.")] = 16,
    molecule_view: Annotated[
        str, typer.Option(help="How molecules are shown: auto | image | text | graph.")
    ] = "auto",
    store: Annotated[Path | None, typer.Option(help="SQLite result store (resume).")] = None,
    ray: Annotated[bool, typer.Option("--ray", help="Shard items over Ray workers.")] = False,
    num_workers: Annotated[int, typer.Option(help="Ray workers.")] = 2,
) -> None:
    """Judge every line of an items JSONL; bad items become error rows and the run goes on."""
    from flexjudge.runner.files import run_items_file

    options = _judge_options(
        protocol=protocol,
        mode=mode,
        votes=votes,
        budget_forcing=budget_forcing,
        budget_tokens=budget_tokens,
        swap=swap,
        order=order,
        seed=seed,
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        criteria=criteria,
    )
    options["batch_size"] = batch_size
    options["molecule_view"] = molecule_view
    try:
        summary = run_items_file(
            model=model,
            backend=backend,
            base_url=base_url,
            input_path=input,
            output_path=output,
            options=options,
            store_path=store,
            ray=ray,
            num_workers=num_workers,
            backend_kwargs=remote_kwargs(backend, None, server, api_key_env, family),
        )
    except (FlexJudgeError, OSError, ValueError) as exc:
        _fail(str(exc))
        return
    typer.echo(json.dumps(summary))


@protocols_app.command("list")
def protocols_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
) -> None:
    """List the built-in protocols."""
    from flexjudge.protocol import list_protocols

    rows = [
        {
            "name": p.name,
            "format": p.format.value,
            "responses": p.n_responses,
            "media": list(p.media) if p.media is not None else "any",
            "spec": list(p.spec_ids),
            "description": p.description,
        }
        for p in list_protocols()
    ]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['name']:<24} {r['format']:<7} {r['description']}")


@protocols_app.command("export")
def protocols_export(
    as_json: Annotated[bool, typer.Option("--json", help="JSON output (the default).")] = True,
    mode: ModeOpt = "reference",
) -> None:
    """Print every spec prompt, {"P-01": "<exact string>", ...}."""
    from flexjudge.protocol import export_prompts

    if mode not in ("reference", "clean"):
        _fail("mode must be reference or clean")
    typer.echo(json.dumps(export_prompts(mode), ensure_ascii=False, indent=2 if as_json else None))  # type: ignore[arg-type]


@testing_app.command("tiny-model")
def testing_tiny_model(
    directory: Annotated[Path, typer.Argument(help="Output folder.")],
    kind: Annotated[
        str, typer.Option(help="qwen2_5_vl | qwen2_5_omni | qwen2 | mol_llm")
    ] = "qwen2_5_vl",
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Build a tiny random-weight checkpoint offline (loads with --model DIR)."""
    from flexjudge.testing import build_tiny_model

    path = build_tiny_model(directory, kind=kind, seed=seed)  # type: ignore[arg-type]
    typer.echo(json.dumps({"path": str(path), "kind": kind}))


_SUBCOMMAND_MODULES = (
    "flexjudge.cli.curate",
    "flexjudge.cli.train",
    "flexjudge.cli.bench",
    "flexjudge.cli.apps",
    "flexjudge.cli.view",
    "flexjudge.cli.sample",
    "flexjudge.cli.dpo",
    "flexjudge.cli.store",
)


def _register_subcommands() -> None:
    for name in _SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that layer ships no CLI (yet)
                continue
            raise
        module.register(app)


_register_subcommands()


def main() -> None:
    """Console entry point."""
    try:
        app()
    except FlexJudgeError as exc:
        typer.echo(json.dumps({"error": str(exc)}), err=True)
        sys.exit(2)
