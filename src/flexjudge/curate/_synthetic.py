"""Synthetic JudgeLM-format rows and teacher traces, for tests, benchmarks and dry runs.

Everything is a pure function of ``(index, seed)`` (SHA-256, and ``random.Random`` seeded
from it), so two runs are identical.
Traces have the shape of JudgeLRM output: reasoning about Assistant 1, then Assistant 2,
``</think>``, two answer tags.  About ``agree_rate`` of them repeat the reference scores.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flexjudge.backends import GenerationRequest

_WORDS = [
    "accuracy",
    "detail",
    "relevance",
    "helpful",
    "clear",
    "concise",
    "correct",
    "complete",
    "example",
    "step",
    "answer",
    "explains",
    "covers",
    "misses",
    "lists",
    "gives",
    "states",
    "describes",
    "provides",
]


def _h(*parts: object) -> int:
    data = "\x1f".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(data).digest()[:8], "big")


def _words(n: int, salt: object) -> str:
    return " ".join(random.Random(_h(salt)).choices(_WORDS, k=n))


def synthetic_judgelm_row(index: int, seed: int = 0, max_answer_words: int = 640) -> dict[str, Any]:
    """One JudgeLM-100K-like object; about 1 in 8 reference pairs is a non-integral float.
    Answers have 40 to ``max_answer_words`` words."""
    h = _h("row", seed, index)
    s1, s2 = 1 + h % 10, 1 + (h >> 8) % 10
    score: list[float] = [s1, s2]
    if (h >> 16) % 8 == 0:
        score = [s1 + 0.5 if s1 < 10 else s1, float(s2)]
    span = max(max_answer_words - 40, 1)
    n1, n2 = 40 + (h >> 20) % span, 40 + (h >> 30) % span
    return {
        "question_id": index,
        "question_body": f"Question {index}: " + _words(8 + h % 12, ("q", index)) + "?",
        "answer1_body": _words(n1, ("a1", index)),
        "answer2_body": _words(n2, ("a2", index)),
        "score": score,
        "text": "GPT-4 review (unused)",
    }


def synthetic_trace(row: dict[str, Any], seed: int, agree_rate: float = 0.6) -> str:
    """A teacher continuation for ``row``: agreeing with its reference about ``agree_rate``
    of the time, with an Assistant-1 part of 20–700 words and an Assistant-2 part."""
    h = _h("trace", seed, row["question_id"])
    ref = row["score"]
    if (h % 1000) / 1000 < agree_rate:
        s1, s2 = int(ref[0]), int(ref[1])
    else:
        s1, s2 = 1 + (h >> 10) % 10, 1 + (h >> 14) % 10
    a1 = 20 + (h >> 20) % 700
    a2 = 20 + (h >> 30) % 300
    body = (
        "I need to evaluate both answers.\nAssistant 1's answer "
        + _words(a1, ("r1", seed, row["question_id"]))
        + ". Overall Assistant 1 does fine.\nAssistant 2's answer "
        + _words(a2, ("r2", seed, row["question_id"]))
        + ". Comparing them, the scores follow."
    )
    if (h >> 40) % 50 == 0:  # a few traces end without answers
        return body
    return f"{body}\n</think>\n<answer>{s1}</answer><answer>{s2}</answer>"


def iter_synthetic_rows(
    n: int, seed: int = 0, max_answer_words: int = 640
) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield synthetic_judgelm_row(i, seed, max_answer_words)


def write_synthetic_judgelm(path: str | Path, n: int, seed: int = 0) -> Path:
    """Write ``n`` rows as JSONL; returns the path."""
    out = Path(path)
    with out.open("w", encoding="utf-8") as handle:
        for row in iter_synthetic_rows(n, seed):
            handle.write(json.dumps(row) + "\n")
    return out


def synthetic_responder(
    rows: list[dict[str, Any]], agree_rate: float = 0.6
) -> Callable[[GenerationRequest, int], str]:
    """A ``MockBackend(responder=...)`` that answers each teacher prompt with
    :func:`synthetic_trace` of the row whose question it contains (seeded by the request)."""
    by_question = {row["question_body"]: row for row in rows}

    def respond(request: GenerationRequest, index: int) -> str:
        user = request.prompt.split("[Question]\n", 1)[1]
        question = user.split("\n\n[Assistant 1's Answer]", 1)[0]
        row = by_question[question]
        return synthetic_trace(row, request.sampling.seed or 0, agree_rate)

    return respond
