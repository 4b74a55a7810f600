"""What RL trainers hand a reward function, turned into judge inputs.

Prompts and completions are strings or chat message lists (TRL conversational data); media
come from dataset columns (TRL passes every column as a keyword argument), from content
parts inside the prompt messages (``{"type": "image", "image": PIL}``), or from verl's
``extra_info`` / image column, where an image may be an HF ``datasets`` ``{"bytes", "path"}``
dict.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flexjudge.errors import InputError

MEDIA_KINDS = ("images", "videos", "audios")
_PART_KINDS = {"image": "images", "image_url": "images", "video": "videos", "audio": "audios"}


def text_of(content: Any) -> str:
    """Text of a message ``content``: a string, or the text parts of a content list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p.get("text", "")
            for p in content
            if isinstance(p, dict) and p.get("type", "text") == "text"
        )
    return str(content)


def question_of(prompt: Any) -> str:
    """The question of a prompt: the string itself, or the last user message's text."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        users = [m for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        if users:
            return text_of(users[-1].get("content"))
        return "\n".join(text_of(m.get("content")) for m in prompt if isinstance(m, dict))
    return text_of(prompt)


def completion_text(completion: Any) -> str:
    """The response text: a string, or the assistant messages of a conversational completion."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(
            text_of(m.get("content"))
            for m in completion
            if isinstance(m, dict) and m.get("role", "assistant") == "assistant"
        )
    return text_of(completion)


def media_value(value: Any, field: str) -> Any:
    """One media entry as the judge takes it: an HF ``{"bytes", "path"}`` dict (or a
    qwen-vl-utils ``{"image": ...}`` dict) becomes its bytes or path; anything else passes."""
    if not isinstance(value, dict):
        return value
    data = value.get("bytes")
    if data is not None:
        return bytes(data)
    for key in ("path", "image", "video", "audio", "url"):
        if value.get(key) is not None:
            return media_value(value[key], field)
    raise InputError(f"media dict without bytes or path (keys: {sorted(value)})", field=field)


def prompt_media(prompt: Any) -> dict[str, list[Any]]:
    """Media carried inside the prompt messages' content parts, in order.

    Only parts holding the media itself count (``{"type": "image", "image": PIL}``); a bare
    ``{"type": "image"}`` is a placeholder whose media come from a dataset column."""
    media: dict[str, list[Any]] = {k: [] for k in MEDIA_KINDS}
    if not isinstance(prompt, list):
        return media
    for m, msg in enumerate(prompt):
        content = msg.get("content") if isinstance(msg, dict) else None
        if not isinstance(content, list):
            continue
        for j, part in enumerate(content):
            if not isinstance(part, dict):
                continue
            kind = str(part.get("type", ""))
            key = _PART_KINDS.get(kind)
            payload = part.get(kind)
            if key is None or payload is None:
                continue
            if kind == "image_url" and isinstance(payload, dict):
                payload = payload.get("url")
            media[key].append(media_value(payload, f"prompt[{m}].content[{j}]"))
    return media


def column_media(columns: dict[str, Any], row: int, names: Sequence[str]) -> dict[str, list[Any]]:
    """Media of row ``row`` from dataset columns ``names`` (``image`` counts as ``images``)."""
    media: dict[str, list[Any]] = {k: [] for k in MEDIA_KINDS}
    for col in names:
        values = columns.get(col)
        if not isinstance(values, list | tuple) or row >= len(values):
            continue
        value = values[row]
        if value is None:
            continue
        key = {"image": "images", "video": "videos", "audio": "audios"}.get(col, col)
        if key not in media:
            continue
        entries = value if isinstance(value, list | tuple) else [value]
        media[key].extend(media_value(v, f"{col}[{row}]") for v in entries)
    return media


def merge_media(*sources: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Concatenate media per kind; the same object given twice (a column image that the
    trainer also put into the prompt's content parts) is kept once."""
    out: dict[str, list[Any]] = {k: [] for k in MEDIA_KINDS}
    for kind in MEDIA_KINDS:
        seen: set[int] = set()
        for source in sources:
            for value in source.get(kind, []):
                if isinstance(value, str | bytes) or id(value) not in seen:
                    seen.add(id(value))
                    out[kind].append(value)
    return out
