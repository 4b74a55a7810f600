"""Printable labels for response positions: ``A``…``Z``, then ``AA``, ``AB``… (like
spreadsheet columns), so any number of responses stays printable ASCII in JSONL."""

from __future__ import annotations

from collections.abc import Sequence


def position_label(index: int) -> str:
    """``0 → "A"``, ``25 → "Z"``, ``26 → "AA"``; raises ``ValueError`` for a negative index."""
    if index < 0:
        raise ValueError(f"a position label needs an index >= 0, got {index}")
    out = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def ranking_key(ranking: Sequence[int]) -> str:
    """A ranking as a vote key: ``"BAC"`` while every position is one letter (26 responses
    or fewer, the historical form), else labels joined by ``>`` (``"AB>A>Z"``)."""
    labels = [position_label(i) for i in ranking]
    return "".join(labels) if all(len(x) == 1 for x in labels) else ">".join(labels)
