"""Value types shared by prompts, parsers and the judge."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

Mode = Literal["reference", "clean"]
MODES: tuple[Mode, ...] = ("reference", "clean")


class Format(StrEnum):
    """What a protocol asks the judge to produce."""

    SCORE = "score"  #: one score for one response
    PAIR = "pair"  #: one score per response for two responses
    RANK = "rank"  #: one score per response for N responses; ranking derived from scores
    OPTION = "option"  #: a bracketed option verdict such as ``[[A>B]]``


class ParseStatus(StrEnum):
    """Outcome of parsing one generation.  Only ``ok`` verdicts carry usable scores/labels."""

    OK = "ok"
    NO_ANSWER = "no_answer"  #: no answer tag at all
    WRONG_COUNT = "wrong_count"  #: answers present, but not as many as responses judged
    OUT_OF_RANGE = "out_of_range"  #: a score off the protocol's scale, or not finite
    TRUNCATED = "truncated"  #: generation ran out of tokens (whatever tags it holds)
    MALFORMED = "malformed"  #: answer tags whose content is not a valid score/option
    ERROR = "error"  #: the backend failed this request: nothing was generated, nothing parsed


@dataclass(frozen=True)
class Scale:
    """A score scale.  ``decimals`` allows non-integer scores (MOS 1.0–5.0, 1.0–10.0)."""

    low: float
    high: float
    decimals: bool = False

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def label(self) -> str:
        if self.decimals:
            return f"{self.low:.1f}-{self.high:.1f}"
        return f"{int(self.low)}-{int(self.high)}"


Preference = Literal["A", "B", "tie"]

#: canonical option verdicts (GenAI-Bench style)
OPTIONS: tuple[str, ...] = ("A>B", "B>A", "A=B=Good", "A=B=Bad")


@dataclass(frozen=True)
class Verdict:
    """A parsed generation.

    Positions (``scores``, ``preference``, ``ranking``) refer to the order the responses were
    *presented* in that prompt; the judge maps them back to the caller's order.

    * ``scores``: one per presented response (empty unless parsed).
    * ``preference``: for two responses, ``"A"`` (first better), ``"B"`` or ``"tie"``
      (equal scores, or an explicit tie option).  Never set when parsing failed.
    * ``ranking``: presented indices best → worst (stable: equal scores keep input order
      in clean mode; the reference's reverse-letter tie order in reference mode).
    * ``option``: canonical option token (``"A>B"``, ``"B>A"``, ``"A=B=Good"``,
      ``"A=B=Bad"``, or the raw bracket text when unrecognised).
    * ``reasoning``: the ``<think>`` text; ``answer``: the raw content of the answer tag(s).
    """

    status: ParseStatus
    raw: str
    scores: tuple[float, ...] = ()
    preference: Preference | None = None
    ranking: tuple[int, ...] | None = None
    option: str | None = None
    reasoning: str | None = None
    answer: str | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is ParseStatus.OK

    @property
    def score(self) -> float | None:
        """The single score (score format), or ``None``."""
        return self.scores[0] if self.ok and len(self.scores) == 1 else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "scores": list(self.scores),
            "preference": self.preference,
            "ranking": list(self.ranking) if self.ranking is not None else None,
            "option": self.option,
            "reasoning": self.reasoning,
            "answer": self.answer,
            "error": self.error,
            "raw": self.raw,
            **({"extra": self.extra} if self.extra else {}),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Verdict:
        """Rebuild a verdict from :meth:`to_dict` output (hot on resume: one per stored sample)."""
        ranking = d.get("ranking")
        obj = object.__new__(cls)
        # bypasses the frozen-dataclass __init__ (several times slower); fields as __init__ sets
        obj.__dict__.update(
            status=_STATUS[d["status"]],
            raw=d.get("raw", ""),
            scores=tuple(map(float, d.get("scores", ()))),
            preference=d.get("preference"),
            ranking=tuple(ranking) if ranking is not None else None,
            option=d.get("option"),
            reasoning=d.get("reasoning"),
            answer=d.get("answer"),
            error=d.get("error"),
            extra=dict(d.get("extra", {})),
        )
        return obj


_STATUS: dict[str, ParseStatus] = {s.value: s for s in ParseStatus}
