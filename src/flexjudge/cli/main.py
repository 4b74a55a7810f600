"""The ``flexjudge`` command line: the root app.  Each command group lives in its own module
(``judge``, ``protocols``, ``curate``, ``train``, ``bench``, ``apps``: bon/pairs/serve) and is
registered here; heavy dependencies are imported only inside the commands.

Streams: stdout carries only results; progress, logs and warnings go to stderr.  Exit codes
(:class:`flexjudge.cli._common.ExitCode`): 0 done, 1 every item failed, 2 nothing ran.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from flexjudge.cli._common import EXIT_CODES_HELP, ExitCode
from flexjudge.errors import FlexJudgeError

app = typer.Typer(
    help=f"Flex-Judge: reasoning judges for any modality.\n\n{EXIT_CODES_HELP}",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
testing_app = typer.Typer(help="Offline test helpers.", no_args_is_help=True)
app.add_typer(testing_app, name="testing")


def _version(value: bool) -> None:
    if value:
        from flexjudge import __version__

        typer.echo(f"flexjudge {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Flex-Judge: reasoning judges for any modality."""
    from flexjudge.cli._quiet import quiet_libraries

    quiet_libraries()


@testing_app.command("tiny-model")
def testing_tiny_model(
    directory: Annotated[Path, typer.Argument(help="Output folder.")],
    kind: Annotated[
        str, typer.Option(help="Architecture: qwen2_5_vl | qwen2_5_omni | qwen2 | mol_llm.")
    ] = "qwen2_5_vl",
    seed: Annotated[int, typer.Option(help="Seed of the random weights.")] = 0,
) -> None:
    """Build a tiny random-weight checkpoint offline (loads with --model DIR)."""
    from flexjudge.testing import build_tiny_model

    path = build_tiny_model(directory, kind=kind, seed=seed)  # type: ignore[arg-type]
    typer.echo(json.dumps({"path": str(path), "kind": kind}))


_SUBCOMMAND_MODULES = (
    "flexjudge.cli.judge",
    "flexjudge.cli.protocols",
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
        sys.exit(int(ExitCode.USAGE))
