"""``flexjudge bon``, ``flexjudge pairs`` and ``flexjudge serve``.

Each takes every :class:`~flexjudge.JudgeConfig` option (generated from its fields).  Heavy
imports (the model, FastAPI, uvicorn, matplotlib) happen inside the commands.  Every command
prints a JSON summary on stdout; errors print ``{"error": ...}`` on stderr and exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from flexjudge._util.jsonl import dumps_summary
from flexjudge.cli._common import (
    EXIT_CODES_HELP,
    BackendOpt,
    BaseUrlOpt,
    DeviceOpt,
    DtypeOpt,
    ModelOpt,
    backend_kwargs,
    fail,
    run_exit_code,
)
from flexjudge.cli._options import config_options
from flexjudge.cli._remote import ApiKeyEnvOpt, FamilyOpt, ServerOpt, remote_kwargs
from flexjudge.errors import FlexJudgeError
from flexjudge.judge.config import JudgeConfig

MediaRootOpt = Annotated[
    Path | None,
    typer.Option(
        help="Resolve relative media paths against this folder (default: the input file's folder)."
    ),
]


def _judge(model: str, load: tuple[str, str | None, str | None, str | None], options: Any) -> Any:
    from flexjudge.judge import Judge

    backend = load[0]
    judge = Judge.from_pretrained(
        model, backend=backend, backend_kwargs=backend_kwargs(*load), **options
    )
    judge.preflight()
    return judge


def _records(path: Path, media_root: Path | None, **kwargs: Any) -> list[Any]:
    from flexjudge.apps._records import parse_candidates, read_jsonl
    from flexjudge.errors import InputError

    out: list[Any] = []
    for row in read_jsonl(path):
        if isinstance(row, Exception):
            out.append(row)
            continue
        try:
            base_dir = media_root if media_root is not None else path.parent
            out.append(parse_candidates(row, base_dir=base_dir, **kwargs))
        except InputError as exc:
            out.append(exc)
    return out


@config_options(JudgeConfig)
def bon(
    model: ModelOpt,
    input: Annotated[Path, typer.Option("--input", "-i", help="Candidates JSONL.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    options: dict[str, Any],
    strategy: Annotated[
        str, typer.Option(help="How the best is picked: score | pairwise-tournament.")
    ] = "score",
    trials: Annotated[
        int, typer.Option(help="Repeated seeded selections (seeded by --seed).")
    ] = 10,
    backend: BackendOpt = "transformers",
    base_url: BaseUrlOpt = None,
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    media_root: MediaRootOpt = None,
    plot: Annotated[bool, typer.Option(help="Write accuracy_vs_n.png.")] = True,
) -> None:
    """Best-of-N: pick the best candidate per prompt; accuracy vs N when labelled.

    Each input line: {"question", "responses": [...], "labels"?: [...], "images"?: [...]}.
    """
    from flexjudge.apps import BestOfNConfig, best_of_n, write_best_of_n

    protocol = options.pop("protocol")
    try:
        cfg = BestOfNConfig(
            strategy=strategy,  # type: ignore[arg-type]  # checked in __post_init__
            trials=trials,
            seed=options["seed"] or 0,
            protocol=protocol,
        )
        records = _records(input, media_root)
        judge = _judge(model, (backend, base_url, device, dtype), options)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "judgments.jsonl", "w", encoding="utf-8") as fh:

            def keep(result: Any) -> None:  # written as judged: nothing computed is lost
                fh.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")

            report = best_of_n(judge, records, cfg, on_result=keep)
        paths = write_best_of_n(report, out, plot=plot)
    except (FlexJudgeError, ValueError, OSError) as exc:
        fail(str(exc))
    typer.echo(dumps_summary(report.summary | {"files": {k: str(v) for k, v in paths.items()}}))
    judged = sum(1 for r in report.records if r.error is None)
    raise typer.Exit(int(run_exit_code(len(report.records), judged)))


@config_options(JudgeConfig, exclude=("swap", "swap_policy"))  # pairs judges both orders
def pairs(
    model: ModelOpt,
    input: Annotated[Path, typer.Option("--input", "-i", help="Two-candidate JSONL.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output pairs JSONL.")],
    options: dict[str, Any],
    require_consistent: Annotated[
        bool, typer.Option(help="Keep only flip-consistent winners (spec §11.9).")
    ] = True,
    expect_first: Annotated[
        bool,
        typer.Option(help="Also require responses[0] to win (e.g. the low-temperature sample)."),
    ] = False,
    conversational: Annotated[
        bool, typer.Option(help="Write TRL's conversational format.")
    ] = False,
    backend: BackendOpt = "transformers",
    base_url: BaseUrlOpt = None,
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    media_root: MediaRootOpt = None,
) -> None:
    """DPO pairs: judge each pair in both orders, keep consistent winners (TRL format).

    Each input line: {"question", "responses": [r0, r1], "images"?: [...]}.  Media paths in
    the output are written relative to the output file's folder.
    """
    from flexjudge.apps._pairs import PairsConfig, build_pairs, write_pairs

    protocol = options.pop("protocol")
    try:
        cfg = PairsConfig(
            protocol=protocol,
            require_consistent=require_consistent,
            expect_first=expect_first,
            conversational=conversational,
        )
        records = _records(input, media_root, exact=2)
        judge = _judge(model, (backend, base_url, device, dtype), options)
        report = build_pairs(judge, records, cfg)
        paths = write_pairs(report, out)
    except (FlexJudgeError, ValueError, OSError) as exc:
        fail(str(exc))
    typer.echo(dumps_summary(report.summary | {"files": {k: str(v) for k, v in paths.items()}}))
    judged = sum(1 for r in report.judgments if r.status != "error")
    raise typer.Exit(int(run_exit_code(len(report.decisions), judged)))


@config_options(JudgeConfig, exclude=("batch_size",))
def serve(
    model: ModelOpt,
    options: dict[str, Any],
    host: Annotated[str, typer.Option(help="Bind address (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    backend: BackendOpt = "transformers",
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    media_root: Annotated[
        Path | None,
        typer.Option(help="Allow local media paths under this folder only (refused otherwise)."),
    ] = None,
    max_body_bytes: Annotated[int, typer.Option(help="Request body limit.")] = 32 * 1024 * 1024,
    max_media: Annotated[int, typer.Option(help="Media per request/query.")] = 16,
    max_pixels: Annotated[int, typer.Option(help="Pixels per image/video frame.")] = 12_845_056,
    timeout: Annotated[float, typer.Option(help="Seconds per request.")] = 120.0,
    max_concurrency: Annotated[
        int, typer.Option(help="Requests judged (batched) at once; more wait in the queue.")
    ] = 64,
    queue_depth: Annotated[
        int, typer.Option(help="Requests that may wait for a slot; beyond it: 429.")
    ] = 4096,
    queue_wait: Annotated[
        float, typer.Option(help="Seconds a request may wait in the queue before 429.")
    ] = 150.0,
    max_batch: Annotated[int, typer.Option(help="Items merged per judge call.")] = 64,
    batch_wait: Annotated[
        float, typer.Option(help="Seconds the judge waits to merge concurrent requests.")
    ] = 0.01,
    reward_scores: Annotated[
        str,
        typer.Option(
            help="/get_reward 'scores': raw (the protocol's scale) or normalized ([0, 1], "
            "for OpenRLHF's dynamic filtering)."
        ),
    ] = "raw",
    failure_reward: Annotated[
        float, typer.Option(help="Reward and score of a query that could not be judged.")
    ] = 0.0,
    reward_protocol: Annotated[
        str | None, typer.Option(help="Score protocol of /get_reward (default: the judge's).")
    ] = None,
    max_reward_queries: Annotated[
        int, typer.Option(help="Queries per /get_reward body (413 beyond).")
    ] = 65_536,
    reward_chunk: Annotated[
        int, typer.Option(help="/get_reward bodies are judged in chunks of this many.")
    ] = 64,
    base_url: Annotated[
        str | None,
        typer.Option(help="Front a remote OpenAI-compatible engine (implies --backend openai)."),
    ] = None,
    server: ServerOpt = "auto",
    api_key_env: ApiKeyEnvOpt = "OPENAI_API_KEY",
    family: FamilyOpt = None,
    max_decoded_bytes: Annotated[
        int, typer.Option(help="Decoded media bytes per request (every reference counts).")
    ] = 1 << 30,
    max_video_frames: Annotated[int, typer.Option(help="Frames in one video's stream.")] = 1800,
    max_audio_seconds: Annotated[float, typer.Option(help="Duration of one audio input.")] = 600.0,
    media_workers: Annotated[int, typer.Option(help="Threads decoding media.")] = 4,
    header_timeout: Annotated[float, typer.Option(help="Seconds to send request headers.")] = 10.0,
    body_timeout: Annotated[float, typer.Option(help="Seconds to send a request body.")] = 30.0,
    max_connections: Annotated[
        int, typer.Option(help="Open connections at most (keep >= max concurrency + queue depth).")
    ] = 8192,
    max_votes: Annotated[
        int, typer.Option(help="Most votes one /v1/judge request may ask for.")
    ] = 8,
    max_request_tokens: Annotated[
        int, typer.Option(help="Most max_tokens one /v1/judge request may ask for.")
    ] = 8192,
    allow_swap: Annotated[
        bool, typer.Option(help="Let /v1/judge requests ask for swap (doubles their cost).")
    ] = True,
    openai_compat: Annotated[
        bool, typer.Option(help="Also serve /v1/chat/completions (OpenAI-compatible).")
    ] = False,
) -> None:
    """Serve the judge over HTTP: /v1/judge, /get_reward (OpenRLHF), /health, /docs.

    The judge options set the server's defaults; a /v1/judge request may override
    temperature, top_p, max_tokens, votes, swap and seed within --max-votes,
    --max-request-tokens and --allow-swap.
    """
    from flexjudge._util.optional import require
    from flexjudge.serve.app import ServerConfig, create_app

    try:
        require("uvicorn", "serve")
        from flexjudge.backends import load_backend
        from flexjudge.judge import Judge

        if base_url is not None and backend == "transformers":
            backend = "openai"
        if base_url is not None and backend != "openai":
            raise ValueError("--base-url needs --backend openai")
        remote = remote_kwargs(backend, base_url, server, api_key_env, family)
        loaded = load_backend(
            backend, model, **backend_kwargs(backend, None, device, dtype, remote)
        )
        judge = Judge(loaded, **options)
        judge.preflight()
        cfg = ServerConfig(
            host=host,
            port=port,
            media_root=media_root,
            max_body_bytes=max_body_bytes,
            max_media=max_media,
            max_pixels=max_pixels,
            timeout=timeout,
            max_concurrency=max_concurrency,
            queue_depth=queue_depth,
            queue_wait=queue_wait,
            max_batch=max_batch,
            batch_wait=batch_wait,
            reward_scores=reward_scores,  # type: ignore[arg-type]
            failure_reward=failure_reward,
            reward_protocol=reward_protocol,
            max_reward_queries=max_reward_queries,
            reward_chunk=reward_chunk,
            max_decoded_bytes=max_decoded_bytes,
            max_video_frames=max_video_frames,
            max_audio_seconds=max_audio_seconds,
            media_workers=media_workers,
            header_timeout=header_timeout,
            body_timeout=body_timeout,
            max_connections=max_connections,
            openai_compat=openai_compat,
            max_votes=max_votes,
            max_request_tokens=max_request_tokens,
            allow_swap=allow_swap,
        )
        app = create_app(judge, cfg, backend=loaded if openai_compat else None, model_name=model)
    except (FlexJudgeError, ValueError, OSError) as exc:
        fail(str(exc))
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo(
            json.dumps(
                {
                    "warning": f"binding {host}: the judge is reachable from the "
                    "network; there is no authentication"
                }
            ),
            err=True,
        )
    from flexjudge.serve.http import run_server

    run_server(app, cfg)


for _command in (bon, pairs):
    _command.__doc__ = f"{_command.__doc__}\n\n{EXIT_CODES_HELP}"


def register(app: typer.Typer) -> None:
    """Add ``bon``, ``pairs`` and ``serve`` to the top-level ``flexjudge`` command."""
    app.command("bon")(bon)
    app.command("pairs")(pairs)
    app.command("serve")(serve)
