"""An OpenAI-compatible ``POST /v1/chat/completions`` over any flexjudge :class:`Backend`.

``make_openai_router(backend)`` returns a FastAPI ``APIRouter`` (mount it in any app).  The
messages are rendered back into the backend's prompt format exactly as the Qwen chat
templates do (content parts joined with nothing in between, media parts replaced by the
family's placeholders), media come as base64 data URLs (``image_url``, ``video_url`` mp4,
``input_audio`` 16 kHz mono WAV), and vLLM's extensions ``continue_final_message`` /
``add_generation_prompt``, ``include_stop_str_in_output``, ``top_k`` (only ``-1``/``0``) and
``seed`` are understood.  Calls into the backend are serialized with a lock (in-process
backends are not thread-safe).

Errors: a malformed request gets HTTP 400 with ``{"error": {"message", "type", "param"}}``
naming the field; a backend failure gets HTTP 500 with the same shape.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from flexjudge.backends import Backend, GenerationRequest, SamplingParams
from flexjudge.backends._chat import (
    PLACEHOLDERS,
    decode_data_url,
    decode_image,
    decode_video,
    decode_wav,
)
from flexjudge.errors import BackendError, InputError


def make_openai_router(backend: Backend) -> Any:
    """A router serving ``POST /v1/chat/completions`` and ``GET /v1/models`` over ``backend``.

    Raises :class:`flexjudge.errors.MissingDependencyError` naming ``[serve]`` without FastAPI.
    """
    from flexjudge._util.optional import require

    fastapi = require("fastapi", "serve")
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool

    router = fastapi.APIRouter()
    lock = threading.Lock()

    def error(status: int, message: str, param: str | None = None) -> Any:
        kind = "invalid_request_error" if status == 400 else "server_error"
        return JSONResponse(
            {"error": {"message": message, "type": kind, "param": param}}, status_code=status
        )

    @router.get("/v1/models")
    def list_models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": backend.model_id, "object": "model", "owned_by": "flexjudge"}],
        }

    @router.post("/v1/chat/completions")
    async def chat_completions(body: dict[str, Any]) -> Any:
        try:
            request = request_from_body(body, backend.family)
        except InputError as exc:
            return error(400, str(exc), exc.field)
        except (ValueError, TypeError) as exc:
            return error(400, str(exc))

        def run() -> Any:
            with lock:
                return backend.generate([request])

        try:
            outputs = await run_in_threadpool(run)
        except BackendError as exc:
            return error(500, str(exc))
        completions = outputs[0]
        choices = [
            {
                "index": i,
                "message": {"role": "assistant", "content": c.text},
                "finish_reason": c.finish_reason,
                "num_tokens": c.num_tokens,
            }
            for i, c in enumerate(completions)
        ]
        produced = sum(c.num_tokens for c in completions)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", backend.model_id),
            "choices": choices,
            "usage": {"prompt_tokens": 0, "completion_tokens": produced, "total_tokens": produced},
        }

    return router


def request_from_body(body: dict[str, Any], family: str) -> GenerationRequest:
    """Validate a chat-completions body and render it into a :class:`GenerationRequest`.

    Raises :class:`InputError` naming the offending field.
    """
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InputError("must be a non-empty list", field="messages")
    cont = bool(body.get("continue_final_message", False))
    add_prompt = bool(body.get("add_generation_prompt", not cont))
    if cont and (messages[-1].get("role") != "assistant" or add_prompt):
        raise InputError(
            "continue_final_message needs a final assistant message and "
            "add_generation_prompt=false",
            field="continue_final_message",
        )
    marks = PLACEHOLDERS.get(family, {})
    media: dict[str, list[Any]] = {"image": [], "video": [], "audio": []}
    fps: list[float] = []
    text = ""
    for i, msg in enumerate(messages):
        field = f"messages[{i}]"
        if not isinstance(msg, dict) or msg.get("role") not in ("system", "user", "assistant"):
            raise InputError("needs a role of system, user or assistant", field=field)
        content = msg.get("content", "")
        if isinstance(content, str):
            rendered = content
        elif isinstance(content, list):
            rendered = "".join(
                _part(p, f"{field}.content[{j}]", marks, media, fps) for j, p in enumerate(content)
            )
        else:
            raise InputError("must be a string or a list of parts", field=f"{field}.content")
        last = i == len(messages) - 1
        text += f"<|im_start|>{msg['role']}\n{rendered}"
        if not (last and cont):
            text += "<|im_end|>\n"
    if add_prompt and not cont:
        text += "<|im_start|>assistant\n"
    top_k = body.get("top_k", -1)
    if top_k not in (-1, 0, None):
        raise InputError("only top_k=-1 (disabled) is supported", field="top_k")
    stop = body.get("stop") or ()
    stop = (stop,) if isinstance(stop, str) else tuple(stop)
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens") or 4096
    try:
        sampling = SamplingParams(
            temperature=float(body.get("temperature", 1.0)),
            top_p=float(body.get("top_p", 1.0)),
            max_tokens=int(max_tokens),
            seed=body.get("seed"),
            stop=stop,
            n=int(body.get("n", 1)),
            include_stop_str_in_output=bool(body.get("include_stop_str_in_output", False)),
        )
    except ValueError as exc:
        raise InputError(str(exc), field="sampling") from exc
    return GenerationRequest(
        prompt=text,
        sampling=sampling,
        images=media["image"],
        videos=media["video"],
        audios=media["audio"],
        video_fps=fps,
    )


def _part(
    part: Any, field: str, marks: dict[str, str], media: dict[str, list[Any]], fps: list[float]
) -> str:
    if not isinstance(part, dict):
        raise InputError("must be an object", field=field)
    kind = part.get("type")
    if kind == "text":
        return str(part.get("text", ""))
    modality = {"image_url": "image", "video_url": "video", "input_audio": "audio"}.get(str(kind))
    if modality is None:
        raise InputError(f"unsupported content part type {kind!r}", field=field)
    if modality not in marks:
        raise InputError(f"this model takes no {modality} input", field=field)
    if modality == "audio":
        payload = part.get("input_audio") or {}
        data = decode_data_url("data:audio/wav;base64," + str(payload.get("data", "")), field)
        media["audio"].append(decode_wav(data, field))
    else:
        url = (part.get(str(kind)) or {}).get("url", "")
        data = decode_data_url(str(url), field)
        if modality == "image":
            media["image"].append(decode_image(data, field))
        else:
            frames, rate = decode_video(data, field)
            media["video"].append(frames)
            fps.append(rate)
    return marks[modality]
