"""An OpenAI-compatible ``POST /v1/chat/completions`` over any flexjudge :class:`Backend`.

``make_openai_router(backend, config, gate)`` returns a FastAPI ``APIRouter``.  The body is
validated with :class:`~flexjudge.serve.openai_models.ChatCompletionBody` (unknown fields such
as ``tools`` or ``response_format`` get a 400 naming them).  Messages are rendered with the
checkpoint's own chat template when the backend has a tokenizer with one (the transformers
backend), so the template's default system turn is there; otherwise as the Qwen templates
render them (default system turn included for the Qwen families).  ``developer`` messages
render as ``system``.  Media come as base64 data URLs (``image_url``, ``video_url`` mp4,
``input_audio`` 16 kHz mono WAV), bounded by the server's ``max_media`` / ``max_pixels`` and
decoded off the event loop.  vLLM's ``continue_final_message`` / ``add_generation_prompt``,
``include_stop_str_in_output``, ``top_k`` (only ``-1``/``0``) and ``seed`` are understood.
Message text is the client's data: it is marked as user text through the rendering, so
backends tokenize it with special tokens off (a ``<|im_end|>`` inside a message cannot close
the turn) and never count a placeholder typed in it as a media slot.

Requests pass the same admission queue as ``/v1/judge`` and share the judge's backend lock
(in-process backends are not thread-safe).  ``stream=true`` answers with server-sent events
(``chat.completion.chunk`` objects, then ``data: [DONE]``); the backend does not stream
tokens, so the content arrives in one chunk per choice after generation.  ``usage`` counts
the prompt as the model reads it (media expanded) when the backend can tell
(:meth:`Backend.count_prompt_tokens`: the transformers backend), else with the backend's
tokenizer, else 0.

Errors: HTTP 400 with ``{"error": {"message", "type", "param"}}`` for a malformed request,
429 when the queue is full, 500 with the same shape when the backend raised, 502 when it
reported a failed generation (``finish_reason="error"``; never returned as content).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from flexjudge.backends import Backend, Completion, GenerationRequest, SamplingParams
from flexjudge.errors import BackendError, InputError
from flexjudge.families import PLACEHOLDERS
from flexjudge.media._wire import (
    decode_data_url,
    decode_image,
    decode_video,
    decode_wav,
)
from flexjudge.protocol._marks import CLOSE, OPEN, drop_marks, unmark, wrap
from flexjudge.serve.openai_models import ChatCompletionBody, ChatMessage, error_field
from flexjudge.serve.openai_stream import sse_chunks, usage_of

if TYPE_CHECKING:
    from flexjudge.serve.app import ServerConfig
    from flexjudge.serve.queue import AdmissionQueue

_QWEN_DEFAULT_SYSTEM = "You are a helpful assistant."


def make_openai_router(
    backend: Backend,
    config: ServerConfig | None = None,
    gate: AdmissionQueue | None = None,
    lock: Any = None,
) -> Any:
    """A router serving ``POST /v1/chat/completions`` and ``GET /v1/models`` over ``backend``.

    ``config`` supplies the limits (a default :class:`ServerConfig` when None); ``gate`` the
    admission queue shared with the other routes (a private one when None); ``lock`` the lock
    guarding ``backend`` (share the judge's ``backend_lock``).  Raises
    :class:`flexjudge.errors.MissingDependencyError` naming ``[serve]`` without FastAPI.
    """
    from flexjudge._util.optional import require

    fastapi = require("fastapi", "serve")
    from fastapi import Request
    from fastapi.responses import JSONResponse, StreamingResponse
    from pydantic import ValidationError
    from starlette.concurrency import run_in_threadpool

    from flexjudge.serve.app import ServerConfig
    from flexjudge.serve.media import RequestRejected
    from flexjudge.serve.queue import AdmissionQueue

    cfg = config or ServerConfig()
    queue = gate or AdmissionQueue(cfg.max_concurrency, cfg.queue_depth, cfg.queue_wait)
    backend_lock = lock or threading.RLock()
    router = fastapi.APIRouter()

    def error(status: int, message: str, param: str | None = None, **headers: str) -> Any:
        kind = {400: "invalid_request_error", 429: "rate_limit_error"}.get(status, "server_error")
        return JSONResponse(
            {"error": {"message": message, "type": kind, "param": param}},
            status_code=status,
            headers=headers or None,
        )

    @router.get("/v1/models")
    def list_models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": backend.model_id, "object": "model", "owned_by": "flexjudge"}],
        }

    async def chat_completions(raw: Request) -> Any:
        try:
            payload = json.loads(await raw.body())
        except ValueError as exc:
            return error(400, f"invalid JSON: {exc}")
        try:
            body = ChatCompletionBody.model_validate(payload)
        except ValidationError as exc:
            message, param = error_field(exc.errors())  # type: ignore[arg-type]
            return error(400, message, param)
        try:
            check_limits(body, cfg)
        except InputError as exc:
            return error(400, str(exc), exc.field)
        try:
            async with queue.slot():
                try:
                    request = await run_in_threadpool(request_from_body, body, backend, cfg)
                except InputError as exc:
                    return error(400, str(exc), exc.field)

                def run() -> list[Completion]:
                    with backend_lock:
                        return backend.generate([request])[0]

                try:
                    completions = await run_in_threadpool(run)
                    failed = [c.text for c in completions if c.finish_reason == "error"]
                    if failed:  # a failure's message is never handed out as generated text
                        return error(502, f"the backend failed: {failed[0][:500]}")
                    usage = await run_in_threadpool(usage_of, backend, request, completions)
                except BackendError as exc:
                    return error(500, str(exc))
        except RequestRejected as exc:
            retry = str(getattr(exc, "retry_after", 1))
            return error(exc.status, exc.message, **{"Retry-After": retry})
        model = body.model or backend.model_id
        if body.stream:
            include_usage = body.stream_options is not None and body.stream_options.include_usage
            return StreamingResponse(
                sse_chunks(completions, model, usage if include_usage else None),
                media_type="text/event-stream",
            )
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": i,
                    "message": {"role": "assistant", "content": c.text},
                    "finish_reason": c.finish_reason,
                    "num_tokens": c.num_tokens,
                }
                for i, c in enumerate(completions)
            ],
            "usage": usage,
        }

    # the body is validated by hand (400s in OpenAI's error shape), so FastAPI only needs
    # the raw Request; annotations are strings here, hence the explicit one
    chat_completions.__annotations__["raw"] = Request
    router.add_api_route(
        "/v1/chat/completions",
        chat_completions,
        methods=["POST"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ChatCompletionBody.model_json_schema()}},
            }
        },
    )
    return router


def check_limits(body: ChatCompletionBody, cfg: ServerConfig) -> None:
    """Refuse what the operator's limits do not allow (raises :class:`InputError`)."""
    limit = body.token_limit()
    if limit is not None and limit > cfg.max_completion_tokens:
        raise InputError(
            f"{limit} tokens asked, over the limit of {cfg.max_completion_tokens}",
            field="max_tokens",
        )
    if body.n > cfg.max_n:
        raise InputError(f"n={body.n} is over the limit of {cfg.max_n}", field="n")
    media = sum(
        1
        for m in body.messages
        if isinstance(m.content, list)
        for p in m.content
        if p.type != "text"
    )
    if media > cfg.max_media:
        raise InputError(
            f"{media} media parts, over the limit of {cfg.max_media}", field="messages"
        )
    cont = body.continue_final_message
    add_prompt = body.add_generation_prompt if body.add_generation_prompt is not None else not cont
    if cont and (body.messages[-1].role != "assistant" or add_prompt):
        raise InputError(
            "continue_final_message needs a final assistant message and "
            "add_generation_prompt=false",
            field="continue_final_message",
        )


def request_from_body(
    body: ChatCompletionBody | dict[str, Any], backend: Backend, cfg: ServerConfig | None = None
) -> GenerationRequest:
    """Render a validated chat-completions body into a :class:`GenerationRequest`, decoding
    its media.  Raises :class:`InputError` naming the offending field."""
    from flexjudge.serve.app import ServerConfig

    limits = cfg or ServerConfig()
    if isinstance(body, dict):
        body = ChatCompletionBody.model_validate(body)
    check_limits(body, limits)
    marks = PLACEHOLDERS.get(backend.family, {})
    media: dict[str, list[Any]] = {"image": [], "video": [], "audio": []}
    fps: list[float] = []
    turns: list[tuple[str, list[tuple[str, str]]]] = []
    for i, msg in enumerate(body.messages):
        parts: list[tuple[str, str]] = []
        for j, part in enumerate(_parts(msg)):
            field = f"messages[{i}].content[{j}]"
            if part.type == "text":  # marked as user text through the template
                parts.append(
                    ("text", wrap(part.text.replace(OPEN, "\ufffd").replace(CLOSE, "\ufffd")))
                )
                continue
            modality = {"image_url": "image", "video_url": "video", "input_audio": "audio"}[
                part.type
            ]
            if modality not in marks:
                raise InputError(f"this model takes no {modality} input", field=field)
            _decode_part(part, modality, field, media, fps, limits.max_pixels)
            parts.append((modality, marks[modality]))
        turns.append(("system" if msg.role == "developer" else msg.role, parts))
    cont = body.continue_final_message
    add_prompt = body.add_generation_prompt if body.add_generation_prompt is not None else not cont
    marked = render_chat(backend, turns, add_prompt, cont)
    unmarked = unmark(marked)  # None if a template mangled the marks: then no structure
    prompt, spans = unmarked if unmarked is not None else (drop_marks(marked), None)
    sampling = SamplingParams(
        temperature=body.temperature,
        top_p=body.top_p,
        max_tokens=body.token_limit() or min(4096, limits.max_completion_tokens),
        seed=body.seed,
        stop=body.stop_strings(),
        n=body.n,
        include_stop_str_in_output=body.include_stop_str_in_output,
    )
    return GenerationRequest(
        prompt=prompt,
        sampling=sampling,
        images=media["image"],
        videos=media["video"],
        audios=media["audio"],
        video_fps=fps,
        untrusted=spans,
    )


def _parts(msg: ChatMessage) -> list[Any]:
    from flexjudge.serve.openai_models import TextPart

    if msg.content is None:
        return []
    if isinstance(msg.content, str):
        return [TextPart(type="text", text=msg.content)]
    return list(msg.content)


def _decode_part(
    part: Any,
    modality: str,
    field: str,
    media: dict[str, list[Any]],
    fps: list[float],
    max_pixels: int,
) -> None:
    if modality == "audio":
        data = decode_data_url("data:audio/wav;base64," + part.input_audio.data, field)
        media["audio"].append(decode_wav(data, field))
        return
    url = part.image_url.url if modality == "image" else part.video_url.url
    data = decode_data_url(url, field)
    if modality == "image":
        _check_pixels(data, field, max_pixels)
        media["image"].append(decode_image(data, field))
        return
    frames, rate = decode_video(data, field)
    if frames.shape[1] * frames.shape[2] > max_pixels:
        raise InputError(f"video frames are over {max_pixels} pixels", field=field)
    media["video"].append(frames)
    fps.append(rate)


def _check_pixels(data: bytes, field: str, max_pixels: int) -> None:
    """Refuse an image over ``max_pixels`` from its header, before decoding it."""
    import io
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():  # the limit below is the check that counts
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                width, height = probe.size
    except Exception as exc:  # PIL raises several types for corrupt headers
        raise InputError(f"not a decodable image: {exc}", field=field) from exc
    if width * height > max_pixels:
        raise InputError(
            f"image of {width}x{height} is over the limit of {max_pixels} pixels", field=field
        )


def render_chat(
    backend: Backend,
    turns: list[tuple[str, list[tuple[str, str]]]],
    add_generation_prompt: bool,
    continue_final: bool,
) -> str:
    """The prompt string for ``turns`` (role, [(kind, text-or-placeholder)]).

    With the backend's tokenizer chat template when there is one, else the Qwen ChatML
    rendering (content parts joined with nothing, default system turn for Qwen families)."""
    tokenizer = getattr(backend, "tokenizer", None)
    if tokenizer is not None and getattr(tokenizer, "chat_template", None):
        messages = [
            {
                "role": role,
                "content": [
                    {"type": "text", "text": piece} if kind == "text" else {"type": kind}
                    for kind, piece in parts
                ],
            }
            for role, parts in turns
        ]
        rendered: str = tokenizer.apply_chat_template(
            messages,
            tokenize=False,
            add_generation_prompt=add_generation_prompt and not continue_final,
            continue_final_message=continue_final,
        )
        return rendered
    text = ""
    if backend.family.startswith("qwen") and (not turns or turns[0][0] != "system"):
        text = f"<|im_start|>system\n{_QWEN_DEFAULT_SYSTEM}<|im_end|>\n"
    for i, (role, parts) in enumerate(turns):
        text += f"<|im_start|>{role}\n" + "".join(piece for _, piece in parts)
        if not (i == len(turns) - 1 and continue_final):
            text += "<|im_end|>\n"
    if add_generation_prompt and not continue_final:
        text += "<|im_start|>assistant\n"
    return text
