"""The reasoning-order ablation (paper Fig. 5): judges trained to answer first, then reason.

``reasoning-first`` (the paper's judges, the default) writes ``<think>…</think>`` then the
answer tags; every parser in :mod:`flexjudge.protocol._parse` reads that.  ``answer-first``
(``curate select --order answer-first``) writes the answer tags first, then the reasoning
in ``<think>…</think>``, from a prompt without the ``<think>\\n`` prefix.

Clean mode parses an answer-first generation from its *leading* part, the text before the
first ``<think>`` (or lone ``</think>``), with the usual clean rules; answer tags quoted in
the reasoning are ignored, and a generation cut off in its reasoning keeps the verdict it
already gave.  Reference mode needs nothing special: the authors' patterns take the first
answer tags, which an answer-first generation puts first.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from flexjudge.protocol._parse import extract_reasoning
from flexjudge.protocol._types import Format, Scale, Verdict
from flexjudge.protocol._verdicts import parse_verdict

AnswerOrder = Literal["reasoning-first", "answer-first"]
ANSWER_ORDERS: tuple[AnswerOrder, ...] = ("reasoning-first", "answer-first")


def leading_answer_region(text: str) -> str:
    """The text before the reasoning: up to the first ``<think>`` or ``</think>``."""
    cuts = [i for i in (text.find("<think>"), text.find("</think>")) if i >= 0]
    return text[: min(cuts)] if cuts else text


def parse_answer_first(
    text: str,
    fmt: Format,
    *,
    count: int,
    scale: Scale | None = None,
    number: str = "int",
    finish_reason: str | None = None,
) -> Verdict:
    """Clean parse of an answer-first generation; ``raw`` and ``reasoning`` are the whole
    generation's.  Statuses as :func:`~flexjudge.protocol.parse_verdict`; a generation that
    reasons before answering has ``no_answer`` (nothing precedes its reasoning)."""
    region = leading_answer_region(text)
    # answers first: a cut in the reasoning after them leaves the answer block complete, so
    # only a cut inside the region itself makes the sample truncated
    cut = finish_reason if finish_reason != "length" or len(region) == len(text) else None
    verdict = parse_verdict(
        region,
        fmt,
        count=count,
        mode="clean",
        scale=scale,
        number=number,
        finish_reason=cut,
    )
    return dataclasses.replace(verdict, raw=text, reasoning=extract_reasoning(text))
