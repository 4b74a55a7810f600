"""The agreement filter of ``utils/lrm_process.py`` (spec §5 step 3) and its rejection reasons."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

from flexjudge.curate._records import CurateRecord

AgreementMode = Literal["exact", "direction", "none"]
AGREEMENT_MODES: tuple[AgreementMode, ...] = ("exact", "direction", "none")

#: the reference pattern: integer answers only, ``findall`` (decimals and spaces never match)
ANSWER_INT = re.compile(r"<answer>(\d+)</answer>")


class Rejection(StrEnum):
    """Why a teacher generation was not kept."""

    MALFORMED = "malformed"  #: the generation line was unreadable or had no text
    FEWER_THAN_TWO = "fewer_than_two_scores"  #: under two integer answer tags
    DISAGREEMENT = "disagreement"  #: scores (or direction) differ from the reference
    NO_REFERENCE = "no_reference"  #: the input row has no reference for this mode
    MISALIGNED = "misaligned"  #: the generation's prompt does not contain the row's question
    MISSING = "missing_generation"  #: the generation file ended before the input did
    BAD_INPUT = "bad_input"  #: the input row itself was unreadable


def teacher_scores(text: str) -> list[int]:
    """All integers in ``<answer>N</answer>`` tags, in order (reference ``findall``)."""
    start = text.find("<answer>")  # str.find is much faster than re's scan to the tags
    return [] if start < 0 else [int(s) for s in ANSWER_INT.findall(text, start)]


def direction(s1: float, s2: float) -> int:
    """1 when the first score is higher, 2 when the second is, 0 for a tie."""
    return 1 if s1 > s2 else 2 if s2 > s1 else 0


def check_agreement(
    text: str, record: CurateRecord, mode: AgreementMode = "exact"
) -> tuple[tuple[int, int] | None, Rejection | None]:
    """The teacher's first two scores and ``None``, or ``None`` and the rejection reason.

    ``exact`` (reference): keep iff ``p[0] == s1 and p[1] == s2`` with Python equality, so a
    float reference such as 7.5 never matches and 8.0 matches 8 [Q24]; extra tags beyond
    the second are ignored.  ``direction``: keep iff the preference implied by the first two
    scores equals the reference label (JudgeLM: from its scores; PandaLM: annotators'
    majority).  ``none`` (the unfiltered baseline of the paper's Fig. 2a): keep every
    generation with two scores, whatever the reference says.
    """
    scores = teacher_scores(text)
    if len(scores) < 2:
        return None, Rejection.FEWER_THAN_TWO
    pair = (scores[0], scores[1])
    if mode == "none":
        return pair, None
    if mode == "exact":
        if record.reference_scores is None:
            return None, Rejection.NO_REFERENCE
        s1, s2 = record.reference_scores
        return (pair, None) if pair[0] == s1 and pair[1] == s2 else (None, Rejection.DISAGREEMENT)
    if record.reference_label is None:
        return None, Rejection.NO_REFERENCE
    agree = direction(*pair) == record.reference_label
    return (pair, None) if agree else (None, Rejection.DISAGREEMENT)
