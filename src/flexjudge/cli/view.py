"""``flexjudge view PATH``: a local, read-only page over judgments, media and reasoning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from flexjudge.errors import FlexJudgeError


def view_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="A judge run output, a result store, a bench run folder, or a bon / pairs output."
        ),
    ],
    input: Annotated[
        Path | None,
        typer.Option(
            "--input",
            "-i",
            help="The items / candidates file the run read: "
            "questions, responses and media come from it (matched by id).",
        ),
    ] = None,
    media_root: Annotated[
        Path | None,
        typer.Option(help="Folder media paths resolve from (default: the input file's)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Address to bind; loopback unless you mean it.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 8765,
    export: Annotated[
        Path | None,
        typer.Option(help="Write a static folder here instead of serving."),
    ] = None,
) -> None:
    """Serve PATH as a web page on loopback (or --export a static folder)."""
    from flexjudge.view import export_view, load_source, make_server

    try:
        source = load_source(path, inputs=input, media_root=media_root)
    except (FlexJudgeError, OSError) as exc:
        typer.echo(json.dumps({"error": str(exc)}), err=True)
        raise typer.Exit(2) from None
    if export is not None:
        typer.echo(json.dumps(export_view(source, export)))
        return
    server = make_server(source, host, port)
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    typer.echo(
        f"flexjudge view: http://{bound_host}:{bound_port}/ ({len(source.items)} items; "
        "Ctrl-C stops)",
        err=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def register(app: typer.Typer) -> None:
    """Add the top-level ``view`` command to the ``flexjudge`` app."""
    app.command("view")(view_command)
