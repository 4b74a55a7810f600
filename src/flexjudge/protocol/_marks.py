"""Where user text lies in a rendered prompt: the frame/user split that keeps user text data.

Rendering wraps every user value (question, responses, fields, criteria) in two private-use
marks before the protocol's builders see it; :func:`unmark` then removes the marks and
returns the character spans they enclosed.  The builders stay plain string code: they only
have to pass the marks through, which :func:`strip_marked` helps with where a layout trims
whitespace.  Backends tokenize inside these spans with special tokens off, so a candidate's
``<|im_end|>`` is text, never a turn boundary (see docs/security.md).
"""

from __future__ import annotations

OPEN = "\ue000"
CLOSE = "\ue001"
Span = tuple[int, int]


def wrap(value: str) -> str:
    """``value`` marked as user text (unchanged when it already holds a mark: see unmark)."""
    return OPEN + value + CLOSE


def has_marks(value: str) -> bool:
    return OPEN in value or CLOSE in value


def drop_marks(text: str) -> str:
    return text.replace(OPEN, "").replace(CLOSE, "")


def strip_marked(text: str) -> str:
    """``str.strip`` of the unmarked text, keeping the marks: whitespace is trimmed from
    both ends even where it lies inside a marked value."""
    ends = OPEN + CLOSE
    start = 0
    while start < len(text) and (text[start].isspace() or text[start] in ends):
        start += 1
    end = len(text)
    while end > start and (text[end - 1].isspace() or text[end - 1] in ends):
        end -= 1
    head = "".join(c for c in text[:start] if c in ends)
    tail = "".join(c for c in text[end:] if c in ends)
    return head + text[start:end] + tail


def unmark(text: str) -> tuple[str, tuple[Span, ...]] | None:
    """``(text without marks, spans of the marked values)``; ``None`` when the marks do not
    pair up (a value that itself held a mark character)."""
    head, *parts = text.split(OPEN)
    if CLOSE in head:
        return None
    out = [head]
    spans: list[Span] = []
    length = len(head)
    for part in parts:
        user, sep, rest = part.partition(CLOSE)
        if not sep or CLOSE in rest:
            return None
        if user:
            spans.append((length, length + len(user)))
        length += len(user) + len(rest)
        out.append(user)
        out.append(rest)
    return "".join(out), tuple(spans)


def shift(spans: tuple[Span, ...], offset: int) -> tuple[Span, ...]:
    return tuple((a + offset, b + offset) for a, b in spans)
