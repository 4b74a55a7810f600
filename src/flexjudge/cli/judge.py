"""``flexjudge judge score|compare|rank|run``.  Every :class:`~flexjudge.JudgeConfig` option
is generated onto each command from the config's fields (:mod:`flexjudge.cli._options`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from flexjudge.cli._common import (
    EXIT_CODES_HELP,
    BackendOpt,
    BaseUrlOpt,
    DeviceOpt,
    DtypeOpt,
    ExitCode,
    FormatOpt,
    ModelOpt,
    backend_kwargs,
    fail,
    print_results,
    resolve_format,
    run_exit_code,
    summary_text,
)
from flexjudge.cli._options import config_options
from flexjudge.cli._remote import ApiKeyEnvOpt, FamilyOpt, ServerOpt, remote_kwargs
from flexjudge.errors import FlexJudgeError
from flexjudge.judge.config import JudgeConfig

judge_app = typer.Typer(
    help=f"Judge responses (score, compare, rank, batch run).  {EXIT_CODES_HELP}",
    no_args_is_help=True,
)

MediaRootOpt = Annotated[
    Path | None,
    typer.Option(
        help="Resolve relative media paths against this folder (default: the input file's folder)."
    ),
]


def _single(
    kind: str,
    model: str,
    question: str | None,
    responses: list[str],
    media: dict[str, list[Any]],
    load: tuple[str, str | None, str | None, str | None, dict[str, Any]],
    options: dict[str, Any],
    fmt: Any,
) -> None:
    from flexjudge.judge import Judge
    from flexjudge.judge.types import JudgeItem

    try:
        kwargs = backend_kwargs(*load)
        judge = Judge.from_pretrained(model, backend=load[0], backend_kwargs=kwargs, **options)
        judge.preflight()
        item = JudgeItem(
            question,
            responses,
            task=kind,  # type: ignore[arg-type]
            images=[str(p) for p in media["images"]],
            videos=[str(p) for p in media["videos"]],
            audios=[str(p) for p in media["audios"]],
            molecules=list(media["molecules"]),
        )
        result = judge.run([item])[0]
    except (FlexJudgeError, ValueError) as exc:
        fail(str(exc))
    print_results([result], resolve_format(fmt))
    if result.status == "error":
        raise typer.Exit(int(ExitCode.ALL_FAILED))


_DOCS = {
    "score": "Score one response.",
    "compare": "Compare two responses (--response twice).",
    "rank": "Rank N responses (--response N times).",
}


def _make_command(kind: str) -> None:
    @config_options(JudgeConfig)
    def command(
        model: ModelOpt,
        options: dict[str, Any],
        question: Annotated[str | None, typer.Option(help="The question/instruction.")] = None,
        response: Annotated[
            list[str] | None, typer.Option(help="A response to judge; repeat for several.")
        ] = None,
        image: Annotated[list[Path] | None, typer.Option(help="Image file; repeat.")] = None,
        video: Annotated[list[Path] | None, typer.Option(help="Video file; repeat.")] = None,
        audio: Annotated[list[Path] | None, typer.Option(help="Audio file; repeat.")] = None,
        molecule: Annotated[
            list[str] | None,
            typer.Option(help="Molecule: SMILES or a .smi/.mol/.sdf file; repeat."),
        ] = None,
        backend: BackendOpt = "transformers",
        base_url: BaseUrlOpt = None,
        server: ServerOpt = "auto",
        api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
        family: FamilyOpt = None,
        device: DeviceOpt = None,
        dtype: DtypeOpt = None,
        format: FormatOpt = None,
    ) -> None:
        media: dict[str, list[Any]] = {
            "images": list(image or []),
            "videos": list(video or []),
            "audios": list(audio or []),
            "molecules": list(molecule or []),
        }
        remote = remote_kwargs(backend, None, server, api_key_env, family)
        load = (backend, base_url, device, dtype, remote)
        _single(kind, model, question, list(response or []), media, load, options, format)

    command.__doc__ = f"{_DOCS[kind]}  {EXIT_CODES_HELP}"
    command.__name__ = kind
    judge_app.command(kind)(command)


for _kind in ("score", "compare", "rank"):
    _make_command(_kind)


@judge_app.command("run")
@config_options(JudgeConfig)
def judge_run(
    model: ModelOpt,
    input: Annotated[Path, typer.Option("--input", "-i", help="Items JSONL, one item a line.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Results JSONL to write.")],
    options: dict[str, Any],
    backend: BackendOpt = "transformers",
    base_url: BaseUrlOpt = None,
    server: ServerOpt = "auto",
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    family: FamilyOpt = None,
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    media_root: MediaRootOpt = None,
    store: Annotated[
        Path | None, typer.Option(help="SQLite result store: reruns resume from it.")
    ] = None,
    ray: Annotated[bool, typer.Option("--ray", help="Shard items over Ray workers.")] = False,
    num_workers: Annotated[int, typer.Option(help="Ray workers (with --ray).")] = 2,
    format: FormatOpt = None,
) -> None:
    """Judge every line of an items JSONL into a results JSONL; bad items become error rows
    and the run goes on.  Prints the run summary (JSON, or a table with --format text)."""
    from flexjudge.runner.files import run_items_file

    try:
        summary = run_items_file(
            model=model,
            backend=backend,
            base_url=None,
            backend_kwargs=backend_kwargs(
                backend,
                base_url,
                device,
                dtype,
                remote_kwargs(backend, None, server, api_key_env, family),
            ),
            input_path=input,
            output_path=output,
            options=options,
            store_path=store,
            ray=ray,
            num_workers=num_workers,
            media_root=media_root,
        )
    except (FlexJudgeError, OSError, ValueError) as exc:
        fail(str(exc))
    if resolve_format(format) == "text":
        typer.echo(summary_text(summary))
    else:
        typer.echo(json.dumps(summary))
    judged = summary["items"] - summary["errors"]
    raise typer.Exit(int(run_exit_code(summary["items"], judged)))


judge_run.__doc__ = f"{judge_run.__doc__}\n\n{EXIT_CODES_HELP}"


def register(app: typer.Typer) -> None:
    """Add the ``judge`` group to the ``flexjudge`` app."""
    app.add_typer(judge_app, name="judge")
