"""Special-token-like strings in user text: recognising them and neutralizing them."""

from __future__ import annotations

import re

#: special-token-like strings: ChatML / Qwen / Llama-3 ``<|...|>`` tokens (media
#: placeholders included) and their full-width look-alikes (DeepSeek's ``<｜...｜>``)
SPECIAL_LIKE = re.compile(r"<[|｜][^\s<>|｜]{1,64}[|｜]>")
#: inserted after the ``<`` of a special-token-like string to make it plain text
ZERO_WIDTH_SPACE = "\u200b"


def has_special_like(text: str) -> bool:
    """Whether ``text`` holds a special-token-like string (the cheap test first: benign
    text rarely holds both a ``<`` and a bar)."""
    return "<" in text and ("|" in text or "｜" in text) and SPECIAL_LIKE.search(text) is not None


def neutralize_specials(text: str) -> str:
    """``text`` with every special-token-like string broken by a zero-width space after its
    ``<``, for a server that tokenizes message text itself (its tokenizer would otherwise
    read ``<|im_end|>`` as the real token).  Readers see the same characters."""
    return SPECIAL_LIKE.sub(lambda m: "<" + ZERO_WIDTH_SPACE + m.group(0)[1:], text)
