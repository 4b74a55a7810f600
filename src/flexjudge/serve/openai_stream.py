"""Token usage and server-sent-event chunks of ``/v1/chat/completions`` responses."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from flexjudge.backends import Backend, Completion, GenerationRequest


def usage_of(
    backend: Backend, request: GenerationRequest, completions: list[Completion]
) -> dict[str, int]:
    prompt_tokens = backend.count_prompt_tokens(request)
    tokenizer = getattr(backend, "tokenizer", None)
    if prompt_tokens is None and tokenizer is not None:
        prompt_tokens = len(tokenizer(request.prompt, add_special_tokens=False)["input_ids"])
    produced = sum(c.num_tokens for c in completions)
    prompt_tokens = prompt_tokens or 0
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": produced,
        "total_tokens": prompt_tokens + produced,
    }


def sse_chunks(
    completions: list[Completion], model: str, usage: dict[str, int] | None
) -> Iterator[str]:
    ident = f"chatcmpl-{uuid.uuid4().hex}"
    created = int(time.time())

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> str:
        obj = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": choices,
            **extra,
        }
        return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n"

    for i, c in enumerate(completions):
        yield chunk([{"index": i, "delta": {"role": "assistant"}, "finish_reason": None}])
        yield chunk([{"index": i, "delta": {"content": c.text}, "finish_reason": None}])
        yield chunk([{"index": i, "delta": {}, "finish_reason": c.finish_reason}])
    if usage is not None:
        yield chunk([], usage=usage)
    yield "data: [DONE]\n\n"
