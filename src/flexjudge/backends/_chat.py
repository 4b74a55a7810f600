"""Prompt ⇄ OpenAI chat messages, shared by the OpenAI backend and the OpenAI server.

:func:`messages_from_turns` builds the messages from a prompt's chat structure (the turns
the protocol rendered, :class:`~flexjudge.backends.ChatTurn`): in the frame of a user turn
every media placeholder becomes a content part (``image_url``, ``video_url``,
``input_audio``) in order, with the media as base64 data URLs; user text is sent as text
with its special-token-like strings neutralized (the server tokenizes message text itself),
so a candidate can neither forge a turn nor add a media slot.  :func:`build_messages`, for a
request that carries only a rendered string, splits it back into messages (ChatML or
Llama-3 headers).  The Qwen chat templates join content parts with nothing in between, so
the server rebuilds the same string.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from flexjudge._util.text import neutralize_specials
from flexjudge.backends._base import ChatTurn
from flexjudge.backends._tokenize import frame_segments
from flexjudge.errors import BackendError
from flexjudge.families import PLACEHOLDERS
from flexjudge.media._wire import audio_wav_base64, image_data_url, video_data_url

_CHATML_TURN = re.compile(r"<\|im_start\|>(\w+)\n(.*?)(?:<\|im_end\|>\n?|$)", re.S)
_LLAMA_TURN = re.compile(
    r"<\|start_header_id\|>(\w+)<\|end_header_id\|>\n\n(.*?)(?:<\|eot_id\|>|$)", re.S
)


def prompt_to_messages(prompt: str) -> tuple[list[dict[str, str]], bool]:
    """Split a rendered prompt into ``[{"role", "content"}]`` text messages.

    Returns ``(messages, continues)``: ``continues`` is True when the prompt ends inside a
    non-empty assistant turn (a prefix to continue, as budget forcing does); an empty final
    assistant turn (the generation prompt) is dropped.  Raises :class:`BackendError` for a
    prompt in neither ChatML nor Llama-3 format.
    """
    if "<|im_start|>" in prompt:
        turns, closed_end = _CHATML_TURN.findall(prompt), "<|im_end|>"
    elif "<|start_header_id|>" in prompt:
        turns, closed_end = _LLAMA_TURN.findall(prompt), "<|eot_id|>"
    else:
        raise BackendError("prompt is neither ChatML nor Llama-3: cannot build chat messages")
    messages = [{"role": role, "content": content} for role, content in turns]
    continues = False
    if (
        messages
        and messages[-1]["role"] == "assistant"
        and not prompt.rstrip("\n").endswith(closed_end)
    ):
        if messages[-1]["content"]:
            continues = True
        else:
            messages.pop()
    return messages, continues


def split_media(text: str, family: str) -> list[tuple[str, str]]:
    """``text`` as ``[(kind, piece)]``: kind ``"text"`` with its text, or a media kind."""
    marks = PLACEHOLDERS.get(family, {})
    if not marks:
        return [("text", text)] if text else []
    pattern = re.compile("|".join(re.escape(m) for m in marks.values()))
    by_mark = {m: k for k, m in marks.items()}
    parts: list[tuple[str, str]] = []
    last = 0
    for m in pattern.finditer(text):
        if m.start() > last:
            parts.append(("text", text[last : m.start()]))
        parts.append((by_mark[m.group(0)], ""))
        last = m.end()
    if last < len(text):
        parts.append(("text", text[last:]))
    return parts


def media_part(kind: str, value: Any, fps: float = 2.0) -> dict[str, Any]:
    if kind == "image":
        return {"type": "image_url", "image_url": {"url": image_data_url(value)}}
    if kind == "video":
        return {"type": "video_url", "video_url": {"url": video_data_url(value, fps)}}
    return {
        "type": "input_audio",
        "input_audio": {"data": audio_wav_base64(value), "format": "wav"},
    }


class _MediaSlots:
    """Hands out the given media in placeholder order, one content part per placeholder."""

    def __init__(
        self,
        images: Sequence[Any],
        videos: Sequence[Any],
        audios: Sequence[Any],
        video_fps: Sequence[float],
    ) -> None:
        self._pools = {"image": list(images), "video": list(videos), "audio": list(audios)}
        self._fps = list(video_fps)
        self._used = {"image": 0, "video": 0, "audio": 0}

    def next_part(self, kind: str) -> dict[str, Any]:
        pool, i = self._pools[kind], self._used[kind]
        if i >= len(pool):
            raise BackendError(f"prompt has more {kind} placeholders than {kind}s given")
        self._used[kind] += 1
        return media_part(kind, pool[i], self._fps[i] if i < len(self._fps) else 2.0)

    def check_all_used(self) -> None:
        for kind, n in self._used.items():
            if n != len(self._pools[kind]):
                raise BackendError(f"{len(self._pools[kind])} {kind}s given for {n} placeholders")


def build_messages(
    prompt: str,
    family: str,
    images: Sequence[Any],
    videos: Sequence[Any],
    audios: Sequence[Any],
    video_fps: Sequence[float] = (),
) -> tuple[list[dict[str, Any]], bool]:
    """OpenAI chat messages for a rendered prompt and its media (placeholders → parts)."""
    messages, continues = prompt_to_messages(prompt)
    slots = _MediaSlots(images, videos, audios, video_fps)
    out: list[dict[str, Any]] = []
    for msg in messages:
        parts = split_media(msg["content"], family) if msg["role"] == "user" else []
        if not any(kind != "text" for kind, _ in parts):
            out.append(msg)
            continue
        content: list[dict[str, Any]] = []
        for kind, text in parts:
            if kind == "text":
                content.append({"type": "text", "text": text})
                continue
            content.append(slots.next_part(kind))
        out.append({"role": "user", "content": content})
    slots.check_all_used()
    return out, continues


def messages_from_turns(
    turns: Sequence[ChatTurn],
    family: str,
    images: Sequence[Any],
    videos: Sequence[Any],
    audios: Sequence[Any],
    video_fps: Sequence[float] = (),
) -> tuple[list[dict[str, Any]], bool]:
    """OpenAI chat messages for a prompt's turns and its media; ``continues`` is True when
    the last turn is a non-empty assistant prefix.  Raises :class:`BackendError` when the
    frame's placeholders and the media disagree."""
    slots = _MediaSlots(images, videos, audios, video_fps)
    out: list[dict[str, Any]] = []
    for turn in turns:
        parts: list[tuple[str, str]] = []
        for text, user in frame_segments(turn.content, turn.untrusted):
            if user:
                parts.append(("text", neutralize_specials(text)))
            elif turn.role == "user":
                parts.extend(split_media(text, family))
            else:
                parts.append(("text", text))
        if not any(kind != "text" for kind, _ in parts):
            out.append({"role": turn.role, "content": "".join(text for _, text in parts)})
            continue
        content: list[dict[str, Any]] = []
        for kind, text in parts:
            if kind == "text":
                if text:
                    if content and content[-1]["type"] == "text":
                        content[-1]["text"] += text
                    else:
                        content.append({"type": "text", "text": text})
                continue
            content.append(slots.next_part(kind))
        out.append({"role": turn.role, "content": content})
    slots.check_all_used()
    continues = bool(turns) and turns[-1].role == "assistant" and bool(turns[-1].content)
    if turns and turns[-1].role == "assistant" and not turns[-1].content:
        out.pop()
    return out, continues
