"""Best-of-N's configuration, per-prompt outcome and report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from flexjudge.judge.types import JudgeResult

Strategy = Literal["score", "pairwise-tournament"]


@dataclass
class BestOfNConfig:
    """``trials`` repeated seeded selections (reference: 10); ``n_values`` defaults to
    1, 2, 4, …, N; ``protocol`` is the score (or compare) protocol name."""

    strategy: Strategy = "score"
    trials: int = 10
    seed: int = 0
    protocol: str | None = None
    n_values: list[int] | None = None

    def __post_init__(self) -> None:
        if self.strategy not in ("score", "pairwise-tournament"):
            raise ValueError("strategy must be 'score' or 'pairwise-tournament'")
        if self.trials < 1:
            raise ValueError("trials must be >= 1")


@dataclass
class BestOfNRecord:
    """One prompt's outcome.  ``scores[i]`` is candidate i's score (``None``: unparseable) or,
    in a tournament, its win rate; ``selected[t]`` the pick of trial t with all candidates."""

    id: str
    n_candidates: int
    scores: list[float | None] = field(default_factory=list)
    selected: list[int | None] = field(default_factory=list)
    labels: list[float] | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "n_candidates": self.n_candidates,
            "scores": self.scores,
            "selected": self.selected,
            "labels": self.labels,
            "error": self.error,
        }


@dataclass
class BestOfNReport:
    records: list[BestOfNRecord]
    summary: dict[str, Any]
    judgments: list[JudgeResult] = field(default_factory=list)
