"""Option verdicts (GenAI-Bench's ``[[A>B]]`` family), the BVCC/NISQA MOS cascade, and
:func:`parse_verdict`, which dispatches a generation to the parser its format needs.

Split from :mod:`flexjudge.protocol._parse` (numeric scores and the shared helpers)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flexjudge.protocol._parse import (
    _BRACKET,
    BVCC_BARE,
    BVCC_KEYWORD,
    REF_DECIMAL,
    REF_OPTION,
    _answer_region,
    _failure,
    _finite,
    _last_tag_run,
    backend_error_verdict,
    extract_reasoning,
    parse_scores,
)
from flexjudge.protocol._types import Format, Mode, ParseStatus, Preference, Scale, Verdict

_OPTION_CANON_REFERENCE = {
    "[[A>B]]": "A>B",
    "[[B<A]]": "A>B",
    "[[A<B]]": "B>A",
    "[[B>A]]": "B>A",
    "[[A=B=Good]]": "A=B=Good",
}
_OPTION_CANON_CLEAN = {
    "A>B": "A>B",
    "A>>B": "A>B",
    "B<A": "A>B",
    "B<<A": "A>B",
    "B>A": "B>A",
    "B>>A": "B>A",
    "A<B": "B>A",
    "A<<B": "B>A",
    "A=B=GOOD": "A=B=Good",
    "A=B=BAD": "A=B=Bad",
    "A=B": "A=B",
}
_OPTION_PREFERENCE: dict[str, Preference] = {
    "A>B": "A",
    "B>A": "B",
    "A=B=Good": "tie",
    "A=B=Bad": "tie",
    "A=B": "tie",
}


def parse_option(text: str, *, mode: Mode = "clean", finish_reason: str | None = None) -> Verdict:
    """Parse a bracketed option verdict (``[[A>B]]``, ``[[B>A]]``, ``[[A=B=Good]]``, …).

    Reference: first ``<answer>([[…]])</answer>``; unknown brackets map to ``A=B=Bad`` and are
    flagged with ``extra["unrecognised"]``.  Clean: the last answer tag after ``</think>``;
    ``>>``/``<`` spellings and ``[[A=B]]`` are understood; unknown brackets are ``malformed``.
    """
    if mode == "reference":
        m = REF_OPTION.search(text)
        if m is None:
            return _failure(ParseStatus.NO_ANSWER, text, finish_reason, error="no [[…]] answer")
        raw_opt = m.group(1)
        canon = _OPTION_CANON_REFERENCE.get(raw_opt)
        extra = {}
        if canon is None:
            canon, extra = "A=B=Bad", {"unrecognised": raw_opt}
        return _option_verdict(text, canon, raw_opt, extra)
    region = _answer_region(text)
    run = _last_tag_run(region)
    if not run:
        return _failure(ParseStatus.NO_ANSWER, text, finish_reason, error="no answer tag")
    content = run[-1].group(1).strip()
    b = _BRACKET.search(content)
    key = (b.group(1) if b else content).strip().replace(" ", "").upper()
    canon = _OPTION_CANON_CLEAN.get(key)
    if canon is None:
        return _failure(
            ParseStatus.MALFORMED,
            text,
            finish_reason,
            error=f"unrecognised option verdict {content[:40]!r}",
            answer=content,
        )
    return _option_verdict(text, canon, content, {})


def _option_verdict(text: str, canon: str, answer: str, extra: dict[str, Any]) -> Verdict:
    return Verdict(
        status=ParseStatus.OK,
        raw=text,
        option=canon,
        preference=_OPTION_PREFERENCE[canon],
        reasoning=extract_reasoning(text),
        answer=answer,
        extra=extra,
    )


def parse_mos_cascade(text: str, *, finish_reason: str | None = None) -> Verdict:
    """The BVCC reference cascade (spec §8.3): answer tag, then ``score is N``/``rating: N``,
    then the first bare 1–5 number anywhere.  Which step matched is in ``extra["source"]``."""
    for source, pattern in (("answer", REF_DECIMAL), ("keyword", BVCC_KEYWORD)):
        m = pattern.search(text)
        if m:
            return _mos_ok(text, float(m.group(1)), source, m.group(0))
    m = BVCC_BARE.search(text)
    if m:
        return _mos_ok(text, float(m.group(0)), "bare", m.group(0))
    return _failure(ParseStatus.NO_ANSWER, text, finish_reason, error="no score found")


def _mos_ok(text: str, value: float, source: str, answer: str) -> Verdict:
    if not _finite(value):
        return Verdict(
            status=ParseStatus.OUT_OF_RANGE,
            raw=text,
            reasoning=extract_reasoning(text),
            answer=answer,
            error="score is not a finite number",
        )
    return Verdict(
        status=ParseStatus.OK,
        raw=text,
        scores=(value,),
        reasoning=extract_reasoning(text),
        answer=answer,
        extra={"source": source},
    )


def parse_verdict(
    text: str,
    fmt: Format,
    *,
    count: int,
    mode: Mode = "clean",
    scale: Scale | None = None,
    number: str = "int",
    first_only: bool = False,
    cascade: bool = False,
    exact_count: bool = False,
    finish_reason: str | None = None,
    salvage_truncated: bool = False,
) -> Verdict:
    """Dispatch on the format.  See :func:`parse_scores` and :func:`parse_option`.

    ``finish_reason="error"``: the text is the backend's message and becomes an ``error``
    verdict unparsed.  ``finish_reason="length"`` in clean mode: ``truncated`` (the judge may
    have been quoting a candidate's answer tags when it ran out), unless
    ``salvage_truncated`` and the text parses, which keeps the verdict with
    ``extra["salvaged"] = True``.  Reference mode parses a cut generation as the authors'
    scripts did and notes ``extra["truncated"] = True``.
    """
    if finish_reason == "error":
        return backend_error_verdict(text)
    if fmt is Format.OPTION:
        verdict = parse_option(text, mode=mode, finish_reason=finish_reason)
    elif cascade and mode == "reference":
        verdict = parse_mos_cascade(text, finish_reason=finish_reason)
    else:
        verdict = parse_scores(
            text,
            count=count,
            mode=mode,
            scale=scale,
            number=number,
            first_only=first_only,
            exact_count=exact_count,
            finish_reason=finish_reason,
        )
    if finish_reason != "length" or not verdict.ok:
        return verdict
    if mode == "reference":
        return replace(verdict, extra={**verdict.extra, "truncated": True})
    if salvage_truncated:
        return replace(verdict, extra={**verdict.extra, "salvaged": True})
    return Verdict(
        status=ParseStatus.TRUNCATED,
        raw=text,
        reasoning=verdict.reasoning,
        answer=verdict.answer,
        error="generation hit max_tokens; its answer tags are not trusted (salvage_truncated "
        "keeps a complete answer block)",
    )
