"""``flexjudge bon``, ``flexjudge pairs`` and ``flexjudge serve``.

Heavy imports (the model, FastAPI, uvicorn, matplotlib) happen inside the commands.  Every
command prints a JSON summary on stdout; errors print ``{"error": ...}`` on stderr and exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from flexjudge._util.jsonl import dumps_summary
from flexjudge.cli._remote import ApiKeyEnvOpt, FamilyOpt, ServerOpt, remote_kwargs
from flexjudge.errors import FlexJudgeError

ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Checkpoint path or model id.")]
BackendOpt = Annotated[str, typer.Option(help="transformers | vllm | openai | mock.")]
ProtocolOpt = Annotated[str | None, typer.Option(help="Protocol name (flexjudge protocols list).")]
ModeOpt = Annotated[str, typer.Option(help="reference (byte-exact, quirks) or clean.")]
SeedOpt = Annotated[int, typer.Option(help="Seed of sampling and tie-breaking.")]


def _fail(message: str) -> None:
    typer.echo(json.dumps({"error": message}), err=True)
    raise typer.Exit(2)


def _judge(model: str, backend: str, mode: str, seed: int, options: dict[str, Any]) -> Any:
    from flexjudge.judge import Judge

    return Judge.from_pretrained(model, backend=backend, mode=mode, seed=seed, **options)


def _records(path: Path, **kwargs: Any) -> list[Any]:
    from flexjudge.apps._records import parse_candidates, read_jsonl
    from flexjudge.errors import InputError

    out: list[Any] = []
    for row in read_jsonl(path):
        if isinstance(row, Exception):
            out.append(row)
            continue
        try:
            out.append(parse_candidates(row, base_dir=path.parent, **kwargs))
        except InputError as exc:
            out.append(exc)
    return out


def bon(
    model: ModelOpt,
    input: Annotated[Path, typer.Option("--input", "-i", help="Candidates JSONL.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    strategy: Annotated[str, typer.Option(help="score | pairwise-tournament.")] = "score",
    trials: Annotated[int, typer.Option(help="Repeated seeded selections.")] = 10,
    seed: SeedOpt = 0,
    backend: BackendOpt = "transformers",
    protocol: ProtocolOpt = None,
    mode: ModeOpt = "clean",
    votes: Annotated[int, typer.Option(help="Judge samples per candidate.")] = 1,
    plot: Annotated[bool, typer.Option(help="Write accuracy_vs_n.png.")] = True,
) -> None:
    """Best-of-N: pick the best candidate per prompt; accuracy vs N when labelled.

    Each input line: {"question", "responses": [...], "labels"?: [...], "images"?: [...]}.
    """
    from flexjudge.apps._bon import BestOfNConfig, best_of_n, write_best_of_n

    try:
        cfg = BestOfNConfig(
            strategy=strategy,  # type: ignore[arg-type]  # checked in __post_init__
            trials=trials,
            seed=seed,
            protocol=protocol,
        )
        records = _records(input)
        judge = _judge(model, backend, mode, seed, {"votes": votes})
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "judgments.jsonl", "w", encoding="utf-8") as fh:

            def keep(result: Any) -> None:  # written as judged: nothing computed is lost
                fh.write(json.dumps(result.to_dict(), ensure_ascii=False) + "\n")

            report = best_of_n(judge, records, cfg, on_result=keep)
        paths = write_best_of_n(report, out, plot=plot)
    except (FlexJudgeError, ValueError, OSError) as exc:
        _fail(str(exc))
        return
    typer.echo(dumps_summary(report.summary | {"files": {k: str(v) for k, v in paths.items()}}))


def pairs(
    model: ModelOpt,
    input: Annotated[Path, typer.Option("--input", "-i", help="Two-candidate JSONL.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output pairs JSONL.")],
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
    seed: SeedOpt = 0,
    backend: BackendOpt = "transformers",
    protocol: ProtocolOpt = None,
    mode: ModeOpt = "clean",
) -> None:
    """DPO pairs: judge each pair in both orders, keep consistent winners (TRL format).

    Each input line: {"question", "responses": [r0, r1], "images"?: [...]}.
    """
    from flexjudge.apps._pairs import PairsConfig, build_pairs, write_pairs

    try:
        cfg = PairsConfig(
            protocol=protocol,
            require_consistent=require_consistent,
            expect_first=expect_first,
            conversational=conversational,
        )
        records = _records(input, exact=2)
        judge = _judge(model, backend, mode, seed, {})
        report = build_pairs(judge, records, cfg)
        paths = write_pairs(report, out)
    except (FlexJudgeError, ValueError, OSError) as exc:
        _fail(str(exc))
        return
    typer.echo(dumps_summary(report.summary | {"files": {k: str(v) for k, v in paths.items()}}))


def serve(
    model: ModelOpt,
    host: Annotated[str, typer.Option(help="Bind address (loopback by default).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    backend: BackendOpt = "transformers",
    mode: ModeOpt = "clean",
    seed: SeedOpt = 0,
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
    openai_compat: Annotated[
        bool, typer.Option(help="Also serve /v1/chat/completions (OpenAI-compatible).")
    ] = False,
) -> None:
    """Serve the judge over HTTP: /v1/judge, /get_reward (OpenRLHF), /health, /docs."""
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
        loaded = load_backend(
            backend, model, **remote_kwargs(backend, base_url, server, api_key_env, family)
        )
        judge = Judge(loaded, mode=mode, seed=seed)
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
        )
        app = create_app(judge, cfg, backend=loaded if openai_compat else None, model_name=model)
    except (FlexJudgeError, ValueError, OSError) as exc:
        _fail(str(exc))
        return
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


def register(app: typer.Typer) -> None:
    """Add ``bon``, ``pairs`` and ``serve`` to the top-level ``flexjudge`` command."""
    app.command("bon")(bon)
    app.command("pairs")(pairs)
    app.command("serve")(serve)
