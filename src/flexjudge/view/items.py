"""What the viewer shows of one item: a small summary row for the list, and its detail.

A summary is a fixed tuple of :data:`COLUMNS` (the page filters and sorts them), so 100K
items travel as one compact JSON array.  Details are built on demand from the source row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flexjudge._util.labels import position_label as label

#: the summary columns, in the order every summary row lists them
COLUMNS = (
    "idx",
    "id",
    "status",
    "protocol",
    "verdict",
    "agreement",
    "swap_disagree",
    "human",
    "category",
    "snippet",
)
_SNIPPET = 160


@dataclass(slots=True)
class ViewItem:
    """One row of a loaded source.  ``row`` is the source's own record (a judgment, a bench
    prediction, a best-of-N selection or a pair decision); ``inputs`` the matching input
    record (question, responses, media), when known."""

    idx: int
    id: str
    status: str
    protocol: str
    verdict: str
    agreement: float | None = None
    swap_disagree: bool | None = None
    human: bool | None = None
    category: str | None = None
    snippet: str = ""
    row: Mapping[str, Any] = field(default_factory=dict)
    inputs: Mapping[str, Any] | None = None
    key: str | None = None  # the store key, when the row was read from a store

    def summary(self) -> list[Any]:
        return [getattr(self, name) for name in COLUMNS]


def snippet_of(question: Any, responses: Sequence[Any] = ()) -> str:
    """The start of the question (or first response): the list's one line of context."""
    for text in (question, *responses):
        if isinstance(text, str) and text.strip():
            flat = " ".join(text.split())
            return flat if len(flat) <= _SNIPPET else flat[: _SNIPPET - 1] + "…"
    return ""


def verdict_text(row: Mapping[str, Any]) -> str:
    """A judgment's verdict in words: ``A wins (7 vs 4)``, ``score 8``, ``C > A > B``."""
    if row.get("status") not in (None, "ok"):
        return "—"
    if row.get("option") is not None:
        return str(row["option"])
    scores = row.get("scores") or ()
    shown = " vs ".join([f"{s:g}" for s in scores if type(s) in (int, float)])
    task = row.get("task")
    if task == "score" or (len(scores) == 1 and task is None):
        return f"score {shown}" if shown else "—"
    ranking = row.get("ranking")
    if task == "rank" and isinstance(ranking, list) and len(ranking) > 2:
        return " > ".join(label(int(i)) for i in ranking)
    pref = row.get("preference")
    if pref in ("A", "B"):
        return f"{pref} wins" + (f" ({shown})" if shown else "")
    if pref == "tie":
        return "tie" + (f" ({shown})" if shown else "")
    return "—"


def swap_disagreement(row: Mapping[str, Any]) -> bool | None:
    """Whether the presentation orders named different winners (``None``: not swapped)."""
    decisions = row.get("order_decisions")
    if not isinstance(decisions, list) or len(decisions) < 2:
        return None
    winners = set()
    for entry in decisions:
        try:
            order, decision = entry
            winners.add(-1 if decision == -1 else int(order[decision]))
        except (TypeError, ValueError, IndexError):
            return None
    return len(winners) > 1


def judgment_item(
    idx: int, row: Mapping[str, Any], inputs: Mapping[str, Any] | None, key: str | None = None
) -> ViewItem:
    """A ``judge run`` output row (a :class:`~flexjudge.JudgeResult` dict) as a view item."""
    agreement = row.get("agreement")
    snippet = ""
    if inputs:
        responses = inputs.get("responses")
        snippet = snippet_of(
            inputs.get("question"), responses if isinstance(responses, list) else []
        )
    return ViewItem(
        idx,
        str(row.get("id", idx)),
        str(row.get("status", "error")),
        str(row.get("protocol") or ""),
        verdict_text(row),
        float(agreement) if isinstance(agreement, int | float) else None,
        swap_disagreement(row) if "order_decisions" in row else None,
        None,
        None,
        snippet,
        row,
        inputs,
        key,
    )
