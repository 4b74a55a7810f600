"""Shared input handling of the apps: JSONL records, questions, candidates and media."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexjudge._util.jsonl import iter_json_records
from flexjudge._util.paths import MEDIA_KEYS, resolve_media
from flexjudge.errors import InputError
from flexjudge.judge.types import JudgeItem
from flexjudge.protocol import get_protocol


@dataclass
class CandidateRecord:
    """One prompt with its candidate responses (best-of-N or a DPO pair).

    ``labels[i]`` is the correctness (bool) or value (number) of ``responses[i]``; ``None`` when
    the input has no labels.
    """

    id: str
    question: str | None
    responses: list[str]
    labels: list[float] | None = None
    media: dict[str, list[Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def read_jsonl(path: Path) -> list[dict[str, Any] | InputError]:
    """Read a JSONL file (or a JSON array of objects; a UTF-8 BOM is fine); a bad line
    becomes an :class:`InputError` naming ``file:line`` (so one bad line never stops a
    run).  A missing file raises it."""
    if not path.is_file():
        raise InputError(f"input file not found: {path}")
    rows: list[dict[str, Any] | InputError] = []
    for rec in iter_json_records(path, label=path.name):
        if isinstance(rec.value, dict):
            rec.value.setdefault("id", rec.where)
        rows.append(rec.value)
    return rows


def _label(value: Any, record: str, index: int) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise InputError(
                f"labels[{index}] must be a finite number, got {value!r}",
                record=record,
                field="labels",
            )
        return float(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return 1.0 if value.strip().lower() in ("true", "1") else 0.0
    raise InputError(
        f"labels[{index}] must be a bool or a number, got {value!r}", record=record, field="labels"
    )


def parse_candidates(
    d: Mapping[str, Any],
    *,
    min_responses: int = 1,
    exact: int | None = None,
    base_dir: Path | None = None,
) -> CandidateRecord:
    """Validate one record: ``question`` (or ``prompt``), ``responses`` (or ``candidates``),
    optional ``labels`` and media lists.  Relative media paths resolve against ``base_dir``.
    Raises :class:`InputError` naming the record and field."""
    rid = str(d.get("id"))
    question = d.get("question", d.get("prompt"))
    if question is not None and not isinstance(question, str):
        raise InputError("must be a string", record=rid, field="question")
    key = "responses" if "responses" in d else "candidates"
    responses = d.get(key)
    if not isinstance(responses, list) or not all(isinstance(r, str) for r in responses):
        raise InputError("must be a list of strings", record=rid, field=key)
    if exact is not None and len(responses) != exact:
        raise InputError(
            f"needs exactly {exact} responses, got {len(responses)}", record=rid, field=key
        )
    if len(responses) < min_responses:
        raise InputError(
            f"needs at least {min_responses} responses, got {len(responses)}", record=rid, field=key
        )
    labels: list[float] | None = None
    if d.get("labels") is not None:
        raw = d["labels"]
        if not isinstance(raw, list) or len(raw) != len(responses):
            raise InputError(
                f"must be a list with one label per response ({len(responses)})",
                record=rid,
                field="labels",
            )
        labels = [_label(v, rid, i) for i, v in enumerate(raw)]
    media: dict[str, list[Any]] = {}
    for mk in MEDIA_KEYS:
        value = d.get(mk)
        if value is None:
            continue
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise InputError("must be a list of paths", record=rid, field=mk)
        if base_dir is not None:
            value = resolve_media(value, base_dir)
        media[mk] = value
    molecules = d.get("molecules")
    if molecules is not None:
        molecules = [molecules] if isinstance(molecules, str | dict) else molecules
        if not isinstance(molecules, list):
            raise InputError(
                "must be a list of SMILES strings or molecule objects",
                record=rid,
                field="molecules",
            )
        media["molecules"] = molecules
    skip = {"id", "question", "prompt", key, "labels", "molecules", *MEDIA_KEYS}
    extra = {k: v for k, v in d.items() if k not in skip}
    return CandidateRecord(rid, question, list(responses), labels, media, extra)


def judge_item(
    rec: CandidateRecord, responses: list[str], protocol: str | None, item_id: str
) -> JudgeItem:
    """The judge's item for some of ``rec``'s responses, with its media and molecules.  A
    protocol that asks its own fixed question (``mol/pampa``) is given none: the record's
    question is the policy's prompt, which that layout does not show."""
    fixed = protocol is not None and get_protocol(protocol).fixed_question
    return JudgeItem(
        None if fixed else rec.question,
        responses,
        id=item_id,
        protocol=protocol,
        images=list(rec.media.get("images", [])),
        videos=list(rec.media.get("videos", [])),
        audios=list(rec.media.get("audios", [])),
        molecules=list(rec.media.get("molecules", [])),
    )


def score_bounds(protocol: str | None, default: str = "score-10") -> tuple[float, float] | None:
    """``(low, high)`` of a protocol's score scale, or ``None`` when it has none."""
    scale = get_protocol(protocol or default).scale
    return None if scale is None else (scale.low, scale.high)


def reward_from_score(
    score: float | None,
    protocol: str | None,
    *,
    normalize: bool,
    default: str = "score-10",
) -> float | None:
    """The reward of one judged score: mapped to [0, 1] by the protocol's scale when
    ``normalize``, else the score itself.  ``None`` (the caller's failure value) for a
    missing or non-finite score, or one off the scale (reference-mode verdicts are not
    range-checked): a reward is in its documented range or the documented failure value."""
    if score is None or not math.isfinite(score):
        return None
    bounds = score_bounds(protocol, default)
    if bounds is None:
        return None if normalize else score
    low, high = bounds
    if not low <= score <= high:
        return None
    if not normalize or high == low:
        return score
    return (score - low) / (high - low)
