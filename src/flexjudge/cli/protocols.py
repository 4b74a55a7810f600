"""``flexjudge protocols list|show|export``: the judging protocols and their prompts."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from flexjudge.cli._common import fail

protocols_app = typer.Typer(
    help="List judging protocols, show their prompts, export the spec prompts.",
    no_args_is_help=True,
)

ModeOpt = Annotated[
    str, typer.Option(help="clean (fixed prompts) or reference (the authors' bytes).")
]
_HEADER = (
    "protocol",
    "format",
    "responses",
    "media",
    "spec prompts",
    "temperature / top_p",
    "stop",
    "reference fallback",
)


def _responses(p: Any) -> str:
    if p.fixed_text:
        return "fixed text"
    if p.n_responses is None:
        return "N ≥ 2"
    if p.response_media is not None:
        return f"{p.n_responses} ({p.response_media[0]}s)"
    return str(p.n_responses)


def _decimal(x: float) -> str:
    text = f"{x:g}"
    return text if "." in text else f"{text}.0"


def protocol_rows() -> list[tuple[str, ...]]:
    """One row per protocol, the cells of ``docs/protocols.md``'s table."""
    from flexjudge.protocol import list_protocols

    rows: list[tuple[str, ...]] = []
    for p in list_protocols():
        media = "any" if p.media is None else (", ".join(p.media) or "none")
        stop = ", ".join(f"`{s}`".replace("|", "\\|") for s in p.sampling.stop) or "–"
        fallback = "–" if p.reference_fallback is None else str(p.reference_fallback)
        rows.append(
            (
                f"`{p.name}`",
                p.format.value,
                _responses(p),
                media,
                ", ".join(p.spec_ids) or "house style",
                f"{_decimal(p.sampling.temperature)} / {_decimal(p.sampling.top_p)}",
                stop,
                fallback,
            )
        )
    return rows


def protocol_table() -> str:
    """The Markdown table ``protocols list`` prints (and ``docs/protocols.md`` shows)."""
    lines = ["| " + " | ".join(_HEADER) + " |", "|" + "---|" * len(_HEADER)]
    lines += ["| " + " | ".join(row) + " |" for row in protocol_rows()]
    return "\n".join(lines)


@protocols_app.command("list")
def protocols_list(
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON rows instead of the table.")
    ] = False,
) -> None:
    """Print the protocol table of docs/protocols.md (or JSON rows with --json)."""
    from flexjudge.protocol import list_protocols

    if not as_json:
        typer.echo(protocol_table())
        return
    rows = [
        {
            "name": p.name,
            "format": p.format.value,
            "responses": p.n_responses,
            "media": list(p.media) if p.media is not None else "any",
            "spec": list(p.spec_ids),
            "temperature": p.sampling.temperature,
            "top_p": p.sampling.top_p,
            "stop": list(p.sampling.stop),
            "description": p.description,
        }
        for p in list_protocols()
    ]
    typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))


@protocols_app.command("show")
def protocols_show(
    name: Annotated[str, typer.Argument(help="Protocol name (flexjudge protocols list).")],
    mode: ModeOpt = "clean",
    render: Annotated[
        bool,
        typer.Option(help="Print the whole chat string the model sees, not system/user parts."),
    ] = False,
    responses: Annotated[
        int, typer.Option(help="Responses to lay out (rank protocols take N >= 2).")
    ] = 3,
    criteria: Annotated[
        str | None, typer.Option(help="Criteria text (protocols that take criteria).")
    ] = None,
) -> None:
    """Print a protocol's prompt with {question}/{response_1}... where the inputs go."""
    from flexjudge.errors import FlexJudgeError
    from flexjudge.protocol import PromptInputs, get_protocol

    if mode not in ("reference", "clean"):
        fail("--mode must be reference or clean")
    try:
        p = get_protocol(name)
        if p.response_media is not None or p.fixed_text:
            texts: list[str] = []
        elif p.n_responses is None:
            texts = [f"{{response_{i + 1}}}" for i in range(max(responses, 2))]
        else:
            texts = [f"{{response_{i + 1}}}" for i in range(p.n_responses)]
        media = list(p.media or ())
        inputs = PromptInputs(
            "{question}",
            texts,
            n_images=media.count("image"),
            n_videos=media.count("video"),
            n_audios=media.count("audio"),
            fields={f: f"{{{f}}}" for f in p.required_fields},
        )
        rendered = p.render(inputs, mode=mode, criteria=criteria)  # type: ignore[arg-type]
    except (FlexJudgeError, ValueError) as exc:
        fail(str(exc))
    if render:
        typer.echo(rendered.text)
        return
    typer.echo(f"# {p.name} ({p.format.value}, {mode}) — {p.description}")
    typer.echo("## system")
    typer.echo(rendered.system)
    typer.echo("## user")
    typer.echo(rendered.user)


@protocols_app.command("export")
def protocols_export(
    mode: Annotated[
        str, typer.Option(help="reference (the authors' bytes) or clean (fixed prompts).")
    ] = "reference",
    as_json: Annotated[
        bool,
        typer.Option(
            "--json/--text",
            help="One JSON object {id: exact text} (default), or each prompt under a "
            "'## P-01 title' heading for reading.",
        ),
    ] = True,
) -> None:
    """Print every spec prompt (P-01 ... P-32) in MODE, byte-exact in reference mode."""
    from flexjudge.protocol import SPEC_TITLES, export_prompts

    if mode not in ("reference", "clean"):
        fail("--mode must be reference or clean")
    prompts = export_prompts(mode)  # type: ignore[arg-type]
    if as_json:
        typer.echo(json.dumps(prompts, ensure_ascii=False, indent=2))
        return
    for pid, text in prompts.items():
        typer.echo(f"## {pid} {SPEC_TITLES.get(pid, '')}".rstrip())
        typer.echo(text)
        typer.echo()


def register(app: typer.Typer) -> None:
    """Add the ``protocols`` group to the ``flexjudge`` app."""
    app.add_typer(protocols_app, name="protocols")
