"""Helpers for the text pair benchmarks (JudgeLM, PandaLM): PandaLM's 0/1/2 coding and the
published result files, and their shared ``evaluate``."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from flexjudge.bench._core import BenchRecord, BenchScore, Prediction
from flexjudge.bench._pairs import preference_score, score_rows
from flexjudge.protocol import Mode

#: PandaLM / JudgeLRM coding: 0 = tie, 1 = response 1 better, 2 = response 2 better
CODE_TO_PREF = {0: "tie", 1: "A", 2: "B"}
PREF_TO_CODE = {v: k for k, v in CODE_TO_PREF.items()}
#: JudgeLRM's answer tags, spaces inside tolerated (JudgeLRM-3B writes ``<answer> 8 </answer>``)
JUDGELRM_ANSWER = re.compile(r"<answer>\s*(\d+(?:\.\d+)?)\s*</answer>")


def majority(labels: list[int]) -> int | None:
    """The annotators' majority label, or ``None`` without a strict majority."""
    if len(labels) == 3:  # the common case, without building a Counter
        a, b, c = labels
        return a if a in (b, c) else b if b == c else None
    counts = Counter(labels).most_common(1)
    return counts[0][0] if counts and counts[0][1] * 2 > len(labels) else None


def judgelrm_preference(output: str) -> str | None:
    """Preference from the first two answer-tag scores of a JudgeLRM ``output``; ``None``
    when fewer than two are present."""
    hits = JUDGELRM_ANSWER.findall(output)
    if len(hits) < 2:
        return None
    a, b = float(hits[0]), float(hits[1])
    return "A" if a > b else "B" if b > a else "tie"


def published_preference(raw: dict[str, Any]) -> tuple[str | None, bool]:
    """``(preference, found)`` from ``pandalm_result`` (int 0/1/2) or ``gpt_result``
    (``"1"``, ``"2"``, ``"Tie"``, ``"garbage"`` → unparsable)."""
    for key in ("pandalm_result", "gpt_result", "result"):
        if key in raw:
            value = str(raw[key]).strip().lower()
            code = {"0": 0, "1": 1, "2": 2, "tie": 0}.get(value)
            return (CODE_TO_PREF[code] if code is not None else None), True
    return None, False


def evaluate_text_pairs(
    benchmark: str,
    split: str,
    records: Sequence[BenchRecord],
    preds: Sequence[Prediction],
    mode: Mode,
    categories: list[str],
) -> BenchScore:
    """Agreement of the judge's preferences (scored with the ``benchmark`` protocol)."""
    rows = score_rows(records, preds, mode, benchmark)
    quirks = [
        "Q12: the reference saves pred='None' for every item; scores are re-parsed from the text",
        *(["Q17: unparsable outputs count as ties"] if mode == "reference" else []),
    ]
    return preference_score(benchmark, split, mode, records, rows, categories, quirks)
