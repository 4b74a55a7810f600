"""``flexjudge store``: read a result store without Python, after a crash or damage.

``inspect`` counts, ``export`` rebuilds a run's output JSONL, ``check`` runs SQLite's
integrity check plus a per-record check, ``salvage`` copies every readable row into a new
store.  Each prints one JSON object on stdout; ``check`` exits 1 when damage is found."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from flexjudge.errors import FlexJudgeError

store_app = typer.Typer(
    help="Inspect, export, check and salvage result stores (SQLite files).", no_args_is_help=True
)
PathArg = Annotated[Path, typer.Argument(help="The store file (e.g. OUT/store.sqlite).")]


def _fail(message: str) -> None:
    typer.echo(json.dumps({"error": message}), err=True)
    raise typer.Exit(2)


@store_app.command("inspect")
def store_inspect(path: PathArg) -> None:
    """Counts by status and protocol, damaged records, and each run's progress."""
    from flexjudge.store import store_summary

    try:
        typer.echo(json.dumps(store_summary(path), indent=2))
    except (FlexJudgeError, OSError) as exc:
        _fail(str(exc))


@store_app.command("export")
def store_export(
    path: PathArg,
    output: Annotated[Path, typer.Option("--output", "-o", help="JSONL file to write.")],
    run: Annotated[str | None, typer.Option(help="Run id (default: the latest run).")] = None,
    all_records: Annotated[
        bool, typer.Option("--all", help="Every intact record in store order, not one run.")
    ] = False,
) -> None:
    """Rebuild a run's output (input order) or dump every record (--all) to JSONL."""
    from flexjudge._util.jsonl import write_jsonl
    from flexjudge.store import ResultStore

    try:
        with ResultStore(path) as store:
            if all_records:
                rows = [record for _, record in store]
                write_jsonl(output, rows)
                report = {"rows": len(rows)}
                damaged = store.scan_damaged()
                if damaged:
                    report["damaged"] = [  # type: ignore[assignment]
                        {"key": k, "row": seq, "reason": why} for k, (seq, why) in damaged.items()
                    ]
            else:
                report = store.export(output, run)
    except (FlexJudgeError, OSError) as exc:
        _fail(str(exc))
        return
    typer.echo(json.dumps({"output": str(output), **report}))


@store_app.command("check")
def store_check(path: PathArg) -> None:
    """PRAGMA integrity_check and a check of every record; exit 1 when anything is damaged."""
    from flexjudge.store import check_store

    try:
        report = check_store(path)
    except (FlexJudgeError, OSError) as exc:
        _fail(str(exc))
        return
    typer.echo(json.dumps(report, indent=2))
    if not report["ok"]:
        raise typer.Exit(1)


@store_app.command("salvage")
def store_salvage(
    path: PathArg,
    new: Annotated[Path, typer.Argument(help="New store file to create (must not exist).")],
) -> None:
    """Copy every readable, intact row of PATH into NEW (PATH is opened read-only)."""
    from flexjudge.store import salvage_store

    try:
        report = salvage_store(path, new)
    except (FlexJudgeError, OSError) as exc:
        _fail(str(exc))
        return
    typer.echo(json.dumps(report, indent=2))


def register(app: typer.Typer) -> None:
    """Add the ``store`` group to the ``flexjudge`` app."""
    app.add_typer(store_app, name="store")
