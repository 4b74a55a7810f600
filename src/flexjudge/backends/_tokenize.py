"""Tokenizing a prompt whose user text is data: special tokens only where the frame put them.

A Hugging Face tokenizer cuts its added tokens (``<|im_start|>``, ``<|image_pad|>``, …) out of
a string before anything else, wherever they appear, so a candidate that writes
``<|im_end|>`` forges a turn boundary.  Here only the frame's added tokens are cut out: the
text between two of them (frame text and user text together, exactly the stretch a whole-string
tokenization sees) is tokenized with ``split_special_tokens=True``.  For a prompt whose user
text holds no added-token string the ids are identical to the whole-string ids; otherwise the
frame's ids are unchanged and the user's special-looking strings become ordinary text tokens.
Used by the transformers and vLLM backends and the server's OpenAI router.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from typing import Any

from flexjudge import families
from flexjudge.backends._base import GenerationRequest, Span
from flexjudge.families import placeholder_tokens

#: (image, video, audio) placeholder tokens a processor expands, per model family
PLACEHOLDER_TOKENS: dict[str, tuple[str | None, str | None, str | None]] = {
    family: placeholder_tokens(family) for family in families.PLACEHOLDER_TOKENS
}
#: a piece of a tokenized prompt: text to tokenize (specials off), or one added token
Piece = tuple[str, bool]


def frame_segments(prompt: str, untrusted: Sequence[Span]) -> list[tuple[str, bool]]:
    """``prompt`` as ``[(text, is_user)]`` in order (spans sorted, overlaps merged)."""
    out: list[tuple[str, bool]] = []
    last = 0
    for start, end in sorted(untrusted):
        start, end = max(start, last), min(end, len(prompt))
        if start >= end:
            continue
        if start > last:
            out.append((prompt[last:start], False))
        out.append((prompt[start:end], True))
        last = end
    if last < len(prompt):
        out.append((prompt[last:], False))
    return out


def frame_text(request: GenerationRequest) -> str:
    """The frame of a request's prompt with user text blanked (all of it without spans)."""
    if request.untrusted is None:
        return request.prompt
    return "\x00".join(
        t for t, user in frame_segments(request.prompt, request.untrusted) if not user
    )


def placeholder_counts(request: GenerationRequest, family: str) -> tuple[int, int, int] | None:
    """How many image/video/audio slots the frame of ``request`` holds (placeholders inside
    user text are text, never slots); ``None`` for a family without media placeholders."""
    tokens = PLACEHOLDER_TOKENS.get(family)
    if tokens is None:
        return None
    frame = frame_text(request)
    image, video, audio = (0 if t is None else frame.count(t) for t in tokens)
    return image, video, audio


def media_mismatch(request: GenerationRequest, family: str) -> str | None:
    """Why the request's media do not fit its frame's placeholders, or ``None``."""
    counts = request.media_counts()
    found = placeholder_counts(request, family)
    if found is None:
        return None if not any(counts) else f"model family {family!r} takes no media"
    tokens = PLACEHOLDER_TOKENS[family]
    for kind, token, have, want in zip(
        ("image", "video", "audio"), tokens, found, counts, strict=True
    ):
        if token is None and want:
            return f"model family {family!r} takes no {kind} input"
        if have != want:
            return f"prompt has {have} {kind} placeholder(s) but {want} {kind}(s) were given"
    return None


def _added_pattern(tokenizer: Any) -> re.Pattern[str] | None:
    cached: tuple[int, re.Pattern[str] | None] | None = getattr(
        tokenizer, "_flexjudge_added_pattern", None
    )
    added = list(getattr(tokenizer, "added_tokens_encoder", {}))
    if cached is not None and cached[0] == len(added):
        return cached[1]
    pattern = (
        re.compile("|".join(re.escape(t) for t in sorted(added, key=len, reverse=True)))
        if added
        else None
    )
    with contextlib.suppress(AttributeError):  # one that takes no attributes: recompute
        tokenizer._flexjudge_added_pattern = (len(added), pattern)
    return pattern


def pieces(tokenizer: Any, prompt: str, untrusted: Sequence[Span]) -> list[Piece]:
    """``prompt`` cut at the frame's added tokens: ``(text, False)`` stretches to tokenize
    with specials off, ``(token, True)`` for each added token the frame holds."""
    pattern = _added_pattern(tokenizer)
    out: list[Piece] = []
    pending: list[str] = []
    for text, user in frame_segments(prompt, untrusted):
        if user or pattern is None:
            pending.append(text)
            continue
        last = 0
        for m in pattern.finditer(text):
            pending.append(text[last : m.start()])
            if any(pending):
                out.append(("".join(pending), False))
            pending = []
            out.append((m.group(0), True))
            last = m.end()
        pending.append(text[last:])
    if any(pending):
        out.append(("".join(pending), False))
    return out


def encode_pieces(tokenizer: Any, rows: Sequence[list[Piece]]) -> list[list[int]]:
    """Token ids of each row of pieces; every text stretch of the batch in one call."""
    texts = [text for row in rows for text, added in row if not added]
    encoded = iter(
        tokenizer(texts, add_special_tokens=False, split_special_tokens=True)["input_ids"]
        if texts
        else []
    )
    out: list[list[int]] = []
    for row in rows:
        ids: list[int] = []
        for text, added in row:
            if added:
                ids.append(int(tokenizer.convert_tokens_to_ids(text)))
            else:
                ids.extend(int(t) for t in next(encoded))
        out.append(ids)
    return out


def encode_prompt(tokenizer: Any, prompt: str, untrusted: Sequence[Span]) -> list[int]:
    """The token ids of one prompt whose ``untrusted`` spans are user text."""
    return encode_pieces(tokenizer, [pieces(tokenizer, prompt, untrusted)])[0]
