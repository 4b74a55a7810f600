"""The judge server: FastAPI app factory, limits, error handling and ``serve``.

Routes: ``POST /v1/judge`` (JSON), ``POST /v1/judge/upload`` (multipart), ``POST /get_reward``
(OpenRLHF), ``GET /health``, FastAPI's ``/openapi.json`` and ``/docs``; optionally the
OpenAI-compatible ``/v1/chat/completions`` of :mod:`flexjudge.serve.openai_compat`.

Every refusal is a JSON body ``{"error": reason}`` with a 4xx status: 413 (body, media or
pixels over a limit), 403 (local path without/outside the media root, URLs), 422 (invalid
JSON, schema, base64, media, or an item the judge cannot take), 429 (the wait queue is
full, or a request waited past ``queue_wait``; with ``Retry-After``), 408 (the judgment took longer
than ``timeout``).
"""

from __future__ import annotations

import asyncio
import copy
import importlib.util
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from flexjudge.judge.types import JudgeItem, JudgeResult
from flexjudge.serve.batch import JudgeWorker
from flexjudge.serve.http import BodyLimitMiddleware
from flexjudge.serve.items import judge_item, judge_response
from flexjudge.serve.media import (
    MediaLimits,
    RequestRejected,
    predecode_media,
)
from flexjudge.serve.models import (
    ErrorResponse,
    HealthResponse,
    JudgeRequest,
    JudgeResponse,
    RewardRequest,
    RewardResponse,
)
from flexjudge.serve.queue import AdmissionQueue
from flexjudge.serve.reward import reward_items, reward_response

if TYPE_CHECKING:
    from fastapi import FastAPI

    from flexjudge.backends import Backend
    from flexjudge.judge import Judge

LOOPBACK = "127.0.0.1"
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (403, 408, 413, 422, 429)
}


@dataclass
class ServerConfig:
    """Server limits and reward settings.

    Admission: ``max_concurrency`` requests are judged (batched) at once; up to
    ``queue_depth`` more wait in a FIFO queue for at most ``queue_wait`` s; only a request
    that finds the queue full or waits too long gets 429 with ``Retry-After``.  Batching:
    the judge thread waits up to ``batch_wait`` s to merge concurrent requests into one
    backend batch of at most ``max_batch`` items.  ``timeout`` (s) bounds media intake plus
    judging of one admitted request (408).  ``media_root`` None refuses every local path.

    OpenRLHF ``/get_reward``: at most ``max_reward_queries`` queries per body (413 beyond),
    judged in chunks of ``reward_chunk``; ``rewards`` are mapped to [0, 1] by the protocol's
    scale when ``reward_normalize``; ``scores`` on the raw scale, or in [0, 1] with
    ``reward_scores="normalized"`` (what OpenRLHF's dynamic filtering expects); an
    unjudgeable query gets ``failure_reward`` in both.  ``reward_protocol`` picks the score
    protocol (default: the judge's).

    OpenAI-compatible route (``openai_compat``): at most ``max_completion_tokens`` per
    request and ``max_n`` choices; it shares the admission queue with ``/v1/judge``.

    Media and connection limits:

    * ``media_root``: folder local media paths must stay under (None refuses every path).
    * ``max_body_bytes``: request body size (also bounds one media payload or file).
    * ``max_media``: media per request (per query on ``/get_reward``).
    * ``max_pixels``: pixels per image and per video frame.
    * ``max_decoded_bytes``: decoded media per request, summed over every reference (a
      file named 32 times counts 32 times), estimated from headers before decoding.
    * ``max_video_frames``: frames in one video's stream (each must be decoded to reach
      the sampled ones), read from the container's metadata.
    * ``max_audio_seconds``: duration of one audio input, read from its header.
    * ``allow_hard_links``: accept files under the root with several hard links (off: one
      of the links may be outside the root, where the server cannot see it).
    * ``media_workers``: threads decoding and checking media, off the event loop.
    * ``header_timeout`` / ``body_timeout`` (s): a connection must deliver a request's
      headers, then its body, within these; else it is closed (headers) or answered 408.
    * ``keep_alive_timeout`` (s): idle time before a kept-alive connection is closed.
    * ``max_connections``: open connections; one more is closed at once.  Keep it at or
      above ``max_concurrency + queue_depth``: RL trainers (OpenRLHF) open one connection per
      sample, and a connection closed at the cap costs that sample a retry, then its reward.
      The process's open-file limit (``ulimit -n``) bounds it too.
    """

    host: str = LOOPBACK
    port: int = 8000
    media_root: Path | None = None
    max_body_bytes: int = 32 * 1024 * 1024
    max_media: int = 16
    max_pixels: int = 12_845_056  # Qwen2.5-VL's default max_pixels (16384 × 28 × 28)
    max_decoded_bytes: int = 1 << 30
    max_video_frames: int = 1800  # one minute at 30 fps
    max_audio_seconds: float = 600.0
    allow_hard_links: bool = False
    media_workers: int = 4
    timeout: float = 120.0
    max_concurrency: int = 64
    queue_depth: int = 4096
    queue_wait: float = 150.0
    max_batch: int = 64
    batch_wait: float = 0.01
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: float = 5.0
    max_connections: int = 8192
    reward_normalize: bool = True
    reward_scores: Literal["raw", "normalized"] = "raw"
    failure_reward: float = 0.0
    reward_protocol: str | None = None
    max_reward_queries: int = 65_536
    reward_chunk: int = 64
    #: ``/get_reward`` returns the judged score, or its expectation under the judge's
    #: token probabilities (``expected``: the judge then asks for ``score_logprobs``)
    reward: Literal["score", "expected"] = "score"
    openai_compat: bool = False
    max_completion_tokens: int = 8192
    max_n: int = 16
    #: caps on what one /v1/judge request may ask for (votes x orders x tokens is its cost)
    max_votes: int = 8
    max_request_tokens: int = 8192
    allow_swap: bool = True

    def __post_init__(self) -> None:
        if self.reward_scores not in ("raw", "normalized"):
            raise ValueError(f"reward_scores must be raw or normalized, not {self.reward_scores!r}")

    def request_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """``options`` of one request if within this server's caps, else
        :class:`RequestRejected` (422) naming the field and the cap."""
        if options.get("votes", 1) > self.max_votes:
            raise RequestRejected(
                422, f"votes: {options['votes']} is over this server's max_votes {self.max_votes}"
            )
        if options.get("max_tokens", 0) > self.max_request_tokens:
            raise RequestRejected(
                422,
                f"max_tokens: {options['max_tokens']} is over this server's "
                f"max_request_tokens {self.max_request_tokens}",
            )
        if options.get("swap") and not self.allow_swap:
            raise RequestRejected(422, "swap: this server does not allow swap")
        return options

    def media_limits(self) -> MediaLimits:
        root = None if self.media_root is None else Path(self.media_root)
        return MediaLimits(
            root,
            self.max_media,
            self.max_pixels,
            self.max_body_bytes,
            max_decoded_bytes=self.max_decoded_bytes,
            max_video_frames=self.max_video_frames,
            max_audio_seconds=self.max_audio_seconds,
            allow_hard_links=self.allow_hard_links,
        )


def create_app(
    judge: Judge,
    config: ServerConfig | None = None,
    *,
    backend: Backend | None = None,
    model_name: str | None = None,
) -> FastAPI:
    """Build the app.  ``backend`` is needed only for the OpenAI-compatible route
    (``config.openai_compat``); it is mounted when :mod:`flexjudge.serve.openai_compat` exists.
    Raises :class:`~flexjudge.errors.MissingDependencyError` without ``fastapi``."""
    from flexjudge._util.optional import require

    require("fastapi", "serve")
    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    cfg = config or ServerConfig()
    if cfg.reward_protocol is not None:  # a bad name fails at startup, not per request
        from flexjudge.protocol import get_protocol

        get_protocol(cfg.reward_protocol)
    if cfg.reward == "expected" and not judge.config.score_logprobs:
        judge = copy.copy(judge)  # the caller's judge keeps its own config
        judge.config = replace(judge.config, score_logprobs=20)
    limits = cfg.media_limits()
    gate = AdmissionQueue(cfg.max_concurrency, cfg.queue_depth, cfg.queue_wait)
    worker = JudgeWorker(judge, cfg.max_batch, cfg.batch_wait)
    app = FastAPI(title="flexjudge judge server", version="1", responses=_ERRORS)
    media_pool = ThreadPoolExecutor(max(1, cfg.media_workers), thread_name_prefix="media")
    app.state.worker = worker
    app.state.gate = gate
    app.add_middleware(
        BodyLimitMiddleware, max_bytes=cfg.max_body_bytes, body_timeout=cfg.body_timeout
    )
    app.router.on_shutdown.append(worker.stop)
    app.router.on_shutdown.append(lambda: media_pool.shutdown(wait=False, cancel_futures=True))

    def error(
        status: int,
        message: str,
        detail: list[dict[str, Any]] | None = None,
        retry_after: int = 1,
    ) -> JSONResponse:
        headers = {"Retry-After": str(retry_after)} if status == 429 else None
        body = {"error": message} | ({"detail": detail} if detail is not None else {})
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestRejected)
    async def _rejected(_: Request, exc: RequestRejected) -> JSONResponse:
        return error(exc.status, exc.message, retry_after=getattr(exc, "retry_after", 1))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        first = detail[0] if detail else {"loc": [], "msg": "invalid request"}
        return error(422, f"invalid request: {'.'.join(first['loc'])}: {first['msg']}", detail)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # a bug, not the client's fault: still a JSON body with a reason, never a traceback
        return error(500, f"internal error: {type(exc).__name__}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail))

    async def judge_items(
        items: list[JudgeItem], options: dict[str, Any] | None = None
    ) -> list[JudgeResult]:
        try:
            return await worker.submit(items, cfg.timeout, options)
        except TimeoutError:
            raise RequestRejected(408, f"judging took longer than {cfg.timeout:g} s") from None

    async def prepare(build: Any, *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:  # a bounded pool: media work never runs on the event loop nor fans out
            return await asyncio.wait_for(
                loop.run_in_executor(media_pool, build, *args), cfg.timeout
            )
        except TimeoutError:
            raise RequestRejected(
                408, f"reading media took longer than {cfg.timeout:g} s"
            ) from None

    async def run_judge(req: JudgeRequest) -> JudgeResponse:
        async with gate.slot():
            if req.images or req.videos or req.audios or req.molecules:
                item = await prepare(lambda: predecode_media(judge_item(req, limits), judge))
            else:  # nothing to decode: skip the thread hop
                item = judge_item(req, limits)
            options = cfg.request_options(req.judge_options())
            result = (await judge_items([item], options))[0]
        if result.status == "error":
            raise RequestRejected(422, f"cannot judge this item: {result.error}")
        return judge_response(result, req.mode)

    @app.post("/v1/judge", response_model=JudgeResponse)
    async def judge_route(req: JudgeRequest) -> JudgeResponse:
        """Score, compare or rank; media inline as base64 or as paths under --media-root."""
        return await run_judge(req)

    if importlib.util.find_spec("multipart") is not None:
        from flexjudge.serve.upload import add_upload_route

        add_upload_route(app, run_judge, cfg.max_media)

    @app.post("/get_reward", response_model=RewardResponse)
    async def reward_route(req: RewardRequest) -> RewardResponse:
        """OpenRLHF remote reward: one score judgment per ``query``, in chunks."""
        if len(req.query) > cfg.max_reward_queries:
            raise RequestRejected(
                413, f"query: {len(req.query)} entries, over the limit of {cfg.max_reward_queries}"
            )
        async with gate.slot():
            shared: dict[int, tuple[bytes, Any]] = {}  # one decode per distinct file
            items = await prepare(
                lambda: [
                    predecode_media(it, judge, f"query[{i}].", shared)
                    for i, it in enumerate(reward_items(req, limits, cfg.reward_protocol))
                ]
            )
            step = max(1, cfg.reward_chunk)
            # enough chunks in flight to fill one batch; each chunk's timeout starts when it
            # is submitted, so a large body is bounded per chunk, not as a whole
            window = asyncio.Semaphore(max(1, cfg.max_batch // step))

            async def chunk(start: int) -> list[JudgeResult]:
                async with window:
                    return await judge_items(items[start : start + step])

            parts = await asyncio.gather(*(chunk(i) for i in range(0, len(items), step)))
        results = [r for part in parts for r in part]
        return reward_response(
            results,
            cfg.reward_normalize,
            cfg.failure_reward,
            cfg.reward_scores == "raw",
            expected=cfg.reward == "expected",
        )

    @app.get("/health", response_model=HealthResponse)
    async def health() -> HealthResponse:
        return HealthResponse(
            status="ok",
            model=model_name or "judge",
            in_flight=gate.in_flight,
            max_concurrency=gate.limit,
        )

    if cfg.openai_compat:
        _mount_openai(app, backend, cfg, gate, judge.backend_lock)
    return app


def _mount_openai(
    app: FastAPI,
    backend: Backend | None,
    cfg: ServerConfig,
    gate: AdmissionQueue,
    lock: Any,
) -> None:
    from flexjudge.errors import InputError

    if backend is None:
        raise InputError("the OpenAI-compatible route needs the backend (create_app(backend=))")
    if importlib.util.find_spec("flexjudge.serve.openai_compat") is None:
        raise InputError("flexjudge.serve.openai_compat is not available in this version")
    module = importlib.import_module("flexjudge.serve.openai_compat")
    app.include_router(module.make_openai_router(backend, cfg, gate, lock))
