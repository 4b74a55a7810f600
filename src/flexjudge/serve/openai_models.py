"""Pydantic schema of the OpenAI-compatible ``POST /v1/chat/completions`` body.

Unknown fields are refused (``extra="forbid"``), so a client that relies on something the
route does not implement (``tools``, ``response_format``, …) learns it from a 400 naming the
field instead of getting a silently different answer.  Numbers are finite, ``max_tokens`` is
at least 1, ``seed`` an integer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Finite = Annotated[float, Field(allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Strict):
    type: Literal["text"]
    text: str


class ImageURL(_Strict):
    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Strict):
    type: Literal["image_url"]
    image_url: ImageURL


class VideoURL(_Strict):
    url: str


class VideoPart(_Strict):
    type: Literal["video_url"]
    video_url: VideoURL


class InputAudio(_Strict):
    data: str
    format: Literal["wav"] = "wav"


class AudioPart(_Strict):
    type: Literal["input_audio"]
    input_audio: InputAudio


ContentPart = Annotated[TextPart | ImagePart | VideoPart | AudioPart, Field(discriminator="type")]


class ChatMessage(_Strict):
    """``developer`` is OpenAI's newer name for ``system`` and is rendered as one."""

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[ContentPart] | None = None
    name: str | None = None


class StreamOptions(_Strict):
    include_usage: bool = False


class ChatCompletionBody(_Strict):
    """The fields the route implements; vLLM's extensions included."""

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    temperature: Finite = Field(1.0, ge=0.0, le=2.0)
    top_p: Finite = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    n: int = Field(1, ge=1)
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None
    # accepted only at their no-op values (see _no_ops)
    logprobs: bool | None = None
    presence_penalty: Finite | None = None
    frequency_penalty: Finite | None = None
    # vLLM extensions
    top_k: int | None = None
    repetition_penalty: Finite | None = None
    continue_final_message: bool = False
    add_generation_prompt: bool | None = None
    include_stop_str_in_output: bool = False
    skip_special_tokens: bool = True

    @model_validator(mode="after")
    def _no_ops(self) -> ChatCompletionBody:
        if self.logprobs:
            raise ValueError("logprobs is not supported")
        for name in ("presence_penalty", "frequency_penalty"):
            if getattr(self, name) not in (None, 0.0):
                raise ValueError(f"{name} is not supported (only 0)")
        if self.repetition_penalty not in (None, 1.0):
            raise ValueError("repetition_penalty is not supported (only 1)")
        if self.top_k not in (None, -1, 0):
            raise ValueError("only top_k=-1 (disabled) is supported")
        if self.stream_options is not None and not self.stream:
            raise ValueError("stream_options needs stream=true")
        return self

    def stop_strings(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)

    def token_limit(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens


def error_field(errors: list[dict[str, Any]]) -> tuple[str, str]:
    """``(message, param)`` for pydantic errors; unknown fields are listed together."""
    unknown = [
        ".".join(str(p) for p in e.get("loc", ()))
        for e in errors
        if e.get("type") == "extra_forbidden"
    ]
    if unknown:
        return f"unsupported field(s): {', '.join(unknown)}", unknown[0]
    first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
    loc = ".".join(str(p) for p in first.get("loc", ()))
    msg = str(first.get("msg", "invalid"))
    return (f"{loc}: {msg}" if loc else msg), loc
