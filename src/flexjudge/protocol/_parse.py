"""Raw generation → typed :class:`Verdict`.

Two modes:

* ``reference`` reproduces the regular expressions of the authors' scripts (spec §3.3):
  integers ``<answer>(\\d+)</answer>`` with ``findall`` (first ``count`` hits), decimals
  ``<answer>(\\d+\\.?\\d*)</answer>`` with ``search``, option verdicts
  ``<answer>(\\[\\[.*?\\]\\])</answer>`` first hit with the GenAI-Bench mapping (any unknown
  bracket → ``A=B=Bad``, quirk Q18).  Unlike the scripts, a failure is never turned into a
  silent tie here: it gets a non-``ok`` status, and benchmark code applies the reference
  fallbacks explicitly.
* ``clean`` looks only after the last ``</think>`` (answer-like text quoted in the reasoning
  is ignored), anchors on the last block of answer tags, tolerates spaces and decimals inside
  the tags (``<answer> 8 </answer>``) and checks the scale.

In both modes a score that is not a finite number (``<answer>`` followed by 400 digits) is
``out_of_range`` and carries no score, a backend failure (``finish_reason="error"``) is an
``error`` verdict whose text is never parsed, and no failed verdict carries a non-finite
score.  In clean mode a generation cut by ``max_tokens`` is ``truncated`` whatever tags it
holds, unless ``salvage_truncated`` asks to keep a complete answer block found before the cut.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from flexjudge.protocol._types import (
    Mode,
    ParseStatus,
    Preference,
    Scale,
    Verdict,
)

REF_INT = re.compile(r"<answer>(\d+)</answer>")
REF_DECIMAL = re.compile(r"<answer>(\d+\.?\d*)</answer>")
REF_MOLECULE = re.compile(r"<answer>(\d+(?:\.\d+)?)</answer>")
REF_OPTION = re.compile(r"<answer>(\[\[.*?\]\])</answer>")
BVCC_KEYWORD = re.compile(r"(?:score|rating)(?:\s+is|\s*[:=]\s*)?\s*(\d+\.?\d*)", re.IGNORECASE)
BVCC_BARE = re.compile(r"\b[1-5](?:\.\d*)?\b")

_ANY_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL)
_CLEAN_NUMBER = re.compile(
    r"^\s*\*{0,2}\s*([+-]?\d+(?:\.\d+)?)\s*(?:/\s*\d+(?:\.\d+)?)?\s*\*{0,2}\s*$"
)
_NUMBERS_IN_TAG = re.compile(r"[+-]?\d+(?:\.\d+)?")
# "/" is no separator: a lone "<answer>8/10</answer>" is one score out of 10, not two scores
_MULTI_NUMBER_TAG = re.compile(r"^\s*[+-]?\d+(?:\.\d+)?(?:\s*[,; ]\s*[+-]?\d+(?:\.\d+)?)+\s*$")
_BRACKET = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)
_RUN_GAP = re.compile(r"^[\s,;.]*$")

#: reference number patterns by name (spec §3.3)
REFERENCE_NUMBER_PATTERNS: dict[str, re.Pattern[str]] = {
    "int": REF_INT,
    "decimal": REF_DECIMAL,
    "molecule": REF_MOLECULE,
}


def extract_reasoning(text: str) -> str | None:
    """The judge's reasoning: the ``<think>`` block, or the text before a lone ``</think>``
    (prompts that already end in ``<think>\\n``), or everything after an unclosed ``<think>``."""
    start = text.find("<think>")
    end = text.find("</think>", start + 1 if start >= 0 else 0)
    if start >= 0 and end >= 0:
        return text[start + len("<think>") : end].strip()
    if start < 0 and end >= 0:
        return text[:end].strip()
    if start >= 0:
        return text[start + len("<think>") :].strip()
    return None


def _answer_region(text: str) -> str:
    """Text after the last ``</think>`` (all of it when there is none)."""
    idx = text.rfind("</think>")
    return text if idx < 0 else text[idx + len("</think>") :]


def _last_tag_run(region: str) -> list[re.Match[str]]:
    """The last run of answer tags separated only by whitespace/punctuation."""
    tags = list(_ANY_TAG.finditer(region))
    if not tags:
        return []
    run = [tags[-1]]
    for prev in reversed(tags[:-1]):
        gap = region[prev.end() : run[0].start()]
        if not _RUN_GAP.match(gap):
            break
        run.insert(0, prev)
    return run


def _failure(
    status: ParseStatus,
    text: str,
    finish_reason: str | None,
    *,
    error: str,
    scores: Sequence[float] = (),
    answer: str | None = None,
) -> Verdict:
    if finish_reason == "length" and status is not ParseStatus.OUT_OF_RANGE:
        status = ParseStatus.TRUNCATED
        error = f"generation hit max_tokens before a complete answer ({error})"
    return Verdict(
        status=status,
        raw=text,
        scores=tuple(scores) if all(map(_finite, scores)) else (),
        reasoning=extract_reasoning(text),
        answer=answer,
        error=error,
    )


def _finite(score: float) -> bool:
    """A finite float, or an integer a float (and every JSON reader) can hold: reference
    integers stay exact ``int`` (they compare beyond 2**53), but 400 digits do not."""
    try:
        return math.isfinite(score)
    except OverflowError:
        return False


def backend_error_verdict(message: str) -> Verdict:
    """The verdict of a request the backend failed: its message, never parsed."""
    return Verdict(
        status=ParseStatus.ERROR,
        raw="",
        error=f"backend error: {message.strip()[:500] or 'no message'}",
    )


def _unscorable(scores: Sequence[float], scale: Scale | None) -> str | None:
    """Why ``scores`` cannot be a verdict (not finite, or off ``scale``), or ``None``."""
    for s in scores:
        if not _finite(s):
            return "score is not a finite number"
    if scale is not None:
        bad = [s for s in scores if not scale.contains(s)]
        if bad:
            return f"score {bad[0]:g} outside scale {scale.label()}"
    return None


def preference_from_scores(a: float, b: float) -> Preference:
    return "A" if a > b else "B" if a < b else "tie"


def ranking_from_scores(scores: Sequence[float], mode: Mode) -> tuple[int, ...]:
    """Presented indices, best first.

    ``clean``: ties keep presentation order.  ``reference``: ``sorted(zip(scores, letters),
    reverse=True)`` as in ``test/evaluate.py`` — equal scores put the *later* letter first.
    """
    idx = range(len(scores))
    if mode == "reference":
        return tuple(sorted(idx, key=lambda i: (scores[i], i), reverse=True))
    return tuple(sorted(idx, key=lambda i: (-scores[i], i)))


def reference_number(hit: str, number: str, first_only: bool = False) -> float:
    """A reference regex hit converted as the authors' script converts it: ``int()`` for
    the integer pattern and the molecule pair judge (``example/judge.py``), so integers
    beyond 2**53 compare exactly; ``float()`` for the decimal pattern and the PAMPA judge
    (``best_of_N.py``: ``search`` + ``float``).  A decimal hit where the script calls
    ``int()`` (judge.py aborts the run there, Q15) is kept as a float."""
    if number == "decimal" or (number == "molecule" and first_only):
        return float(hit)
    return int(hit) if hit.isdigit() else float(hit)


def parse_scores(
    text: str,
    *,
    count: int,
    mode: Mode = "clean",
    scale: Scale | None = None,
    number: str = "int",
    first_only: bool = False,
    exact_count: bool = False,
    finish_reason: str | None = None,
) -> Verdict:
    """Parse ``count`` scores (one per presented response).

    ``number`` selects the reference pattern (``"int"``, ``"decimal"``, ``"molecule"``);
    ``first_only`` mirrors the reference's ``re.search`` (first hit) for single scores;
    ``exact_count`` (reference only) rejects more than ``count`` hits as ``wrong_count``,
    as the molecule pair judge's ``get_win_response`` does ("no decision", −1).
    Reference integers stay Python ``int`` (see :func:`reference_number`).
    Returns a verdict with status ``ok``, ``no_answer``, ``wrong_count``, ``out_of_range``,
    ``truncated`` or ``malformed``; never raises on model output.
    """
    if count < 1:
        raise ValueError("count must be >= 1")
    if mode == "reference":
        hits = REFERENCE_NUMBER_PATTERNS[number].findall(text)
        if first_only:
            hits = hits[:1]
        if not hits:
            return _failure(ParseStatus.NO_ANSWER, text, finish_reason, error="no answer tag")
        if len(hits) < count or (exact_count and len(hits) != count):
            return _failure(
                ParseStatus.WRONG_COUNT,
                text,
                finish_reason,
                error=f"expected {'exactly ' if exact_count else ''}{count} answer tags, "
                f"found {len(hits)}",
                scores=[reference_number(h, number, first_only) for h in hits],
            )
        scores = [reference_number(h, number, first_only) for h in hits[:count]]
        answer = "".join(f"<answer>{h}</answer>" for h in hits[:count])
    else:
        region = _answer_region(text)
        run = _last_tag_run(region)
        if not run:
            return _failure(ParseStatus.NO_ANSWER, text, finish_reason, error="no answer tag")
        contents = [m.group(1) for m in run]
        if len(contents) != count:
            every = [m.group(1) for m in _ANY_TAG.finditer(region)]
            if len(every) == count:
                contents = every
            elif len(contents) == 1 and count > 1 and _MULTI_NUMBER_TAG.match(contents[0]):
                contents = _NUMBERS_IN_TAG.findall(contents[0])
        answer = "".join(f"<answer>{c}</answer>" for c in contents)
        parsed: list[float] = []
        for content in contents:
            m = _CLEAN_NUMBER.match(content)
            if m is None:
                return _failure(
                    ParseStatus.MALFORMED,
                    text,
                    finish_reason,
                    error=f"answer tag content is not a number: {content.strip()[:40]!r}",
                    answer=answer,
                )
            parsed.append(float(m.group(1)))
        if len(parsed) != count:
            return _failure(
                ParseStatus.WRONG_COUNT,
                text,
                finish_reason,
                error=f"expected {count} scores in the last answer block, found {len(parsed)}",
                scores=parsed,
                answer=answer,
            )
        scores = parsed  # decimals on an integer scale are tolerated and kept as given
    problem = _unscorable(scores, scale)
    if problem is not None:  # the offending value stays readable in ``answer``, never a score
        return Verdict(
            status=ParseStatus.OUT_OF_RANGE,
            raw=text,
            reasoning=extract_reasoning(text),
            answer=answer,
            error=problem,
        )
    preference: Preference | None = None
    ranking: tuple[int, ...] | None = None
    if count == 2:
        preference = preference_from_scores(scores[0], scores[1])
    if count >= 2:
        ranking = ranking_from_scores(scores, mode)
    return Verdict(
        status=ParseStatus.OK,
        raw=text,
        scores=tuple(scores),
        preference=preference,
        ranking=ranking,
        reasoning=extract_reasoning(text),
        answer=answer,
    )
