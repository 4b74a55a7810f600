"""What every ``flexjudge`` command shares: model loading options, exit codes, the one error
printer and the results printer (``--format json|text``).

Streams: stdout carries only results (one JSON document, JSONL, or text lines); progress,
logs and warnings go to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from enum import IntEnum
from typing import Annotated, Any, Literal, NoReturn

import typer

from flexjudge._util.labels import position_label
from flexjudge.backends import backend_help
from flexjudge.judge.types import JudgeResult


class ExitCode(IntEnum):
    """The process exit status of every command."""

    OK = 0  #: done: at least one item was judged (its row may still be unparsed), or none given
    ALL_FAILED = 1  #: it ran, but every item is an error row: none could be judged
    USAGE = 2  #: nothing ran: a bad option, input file, protocol, model or unreachable server


EXIT_CODES_HELP = (
    "Exit codes: 0 done (at least one item judged; a row's status says if its output "
    "parsed); 1 every item failed (all rows are errors); 2 nothing ran (bad option, input, "
    "protocol, model or unreachable server; one message on stderr)."
)

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Checkpoint folder or model id.")]
BackendOpt = Annotated[str, typer.Option(help="Inference backend: " + backend_help())]
BaseUrlOpt = Annotated[
    str | None,
    typer.Option(help="OpenAI-compatible server URL (openai backend), e.g. http://host/v1."),
]
DeviceOpt = Annotated[
    str | None,
    typer.Option(
        help="Where to load the model (transformers): auto, cpu, cuda, cuda:1, or "
        "'map:auto' to spread it over GPUs (device_map='auto')."
    ),
]
DtypeOpt = Annotated[
    str | None,
    typer.Option(help="Weight dtype: auto, bfloat16, float16 or float32 (transformers, vllm)."),
]
OutputFormat = Literal["json", "text"]
FormatOpt = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format", help="Result output: json, or text (one line per verdict; default on a TTY)."
    ),
]


def fail(message: str, code: ExitCode = ExitCode.USAGE) -> NoReturn:
    """Print ``{"error": message}`` on stderr and exit with ``code``."""
    typer.echo(json.dumps({"error": message}, ensure_ascii=False), err=True)
    raise typer.Exit(int(code))


def backend_kwargs(
    backend: str,
    base_url: str | None,
    device: str | None,
    dtype: str | None,
    remote: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The backend constructor kwargs of the model loading options (``--base-url``,
    ``--device``, ``--dtype``, and ``remote``: the OpenAI-compatible backend's, from
    :func:`flexjudge.cli._remote.remote_kwargs`); one the backend cannot honour raises
    ``BackendError``."""
    from flexjudge.backends import load_kwargs

    placement: dict[str, Any] = {}
    if device is not None and device.startswith("map:"):
        placement["device_map"] = device.removeprefix("map:")
    elif device is not None:
        placement["device"] = device
    kwargs = load_kwargs(backend, dtype=dtype, **placement) | dict(remote or {})
    if base_url is not None:
        kwargs["base_url"] = base_url
    return kwargs


def resolve_format(fmt: OutputFormat | None) -> OutputFormat:
    """``--format``, else text when stdout is a terminal and JSON otherwise."""
    if fmt is not None:
        return fmt
    return "text" if sys.stdout.isatty() else "json"


def _num(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def verdict_line(result: JudgeResult) -> str:
    """One human line for a result, e.g. ``A wins 7 vs 4 (ok, 3/3 votes) — <reasoning>``."""
    if result.status == "error":
        return f"{result.id}: error — {result.error}"
    total = sum(result.votes.values())
    agree = round((result.agreement or 0.0) * total)
    status = f"({result.status}, {agree}/{total} votes)" if total else f"({result.status})"
    if not result.ok:
        head = "no verdict"
    elif result.option is not None:
        head = f"option {result.option}"
    elif result.preference is not None and result.ranking is not None and len(result.ranking) == 2:
        head = "tie" if result.preference == "tie" else f"{result.preference} wins"
        if result.scores and len(result.scores) == 2:
            head += f" {_num(result.scores[0])} vs {_num(result.scores[1])}"
    elif result.ranking is not None:
        head = "ranking " + " > ".join(position_label(i) for i in result.ranking)
    elif result.score is not None:
        head = f"score {_num(result.score)}"
    else:
        head = "no verdict"
    reasoning = (result.reasoning or "").strip().splitlines()
    tail = f" — {reasoning[0][:160]}" if reasoning else ""
    prefix = f"{result.id}: " if result.id is not None else ""
    return f"{prefix}{head} {status}{tail}"


def print_results(results: Iterable[JudgeResult], fmt: OutputFormat) -> None:
    """Print results on stdout: one JSON document per result, or one text line each."""
    for result in results:
        if fmt == "text":
            typer.echo(verdict_line(result))
        else:
            typer.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2))


def summary_text(summary: dict[str, Any]) -> str:
    """A short table of a run summary (``judge run``'s text output)."""
    width = max(len(k) for k in summary)
    lines = []
    for key, value in summary.items():
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
        lines.append(f"{key:<{width}}  {shown}")
    return "\n".join(lines)


def run_exit_code(n_items: int, n_judged: int) -> ExitCode:
    """:attr:`ExitCode.ALL_FAILED` when there were items and none could be judged."""
    return ExitCode.ALL_FAILED if n_items and not n_judged else ExitCode.OK
