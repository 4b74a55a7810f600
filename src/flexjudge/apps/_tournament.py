"""Single-elimination pairwise tournaments, batched across records and trials.

Each tournament shuffles its candidates into a bracket with its own seeded ``random`` stream;
adjacent candidates meet, an odd one out gets a bye, and the winner of a match is the
``Judge.compare`` preference.  A tie or an unparseable verdict is settled by a seeded coin
flip (counted).  Comparisons are cached by presentation order ``(i, j)`` per record, so
repeated trials reuse earlier judgments; all matches of one round, across every record and
trial, go to the judge as one batch.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flexjudge.judge.types import JudgeItem, JudgeResult

Match = tuple[int, int]
CompareKey = tuple[int, int, int]  # record, first, second


@dataclass
class Bracket:
    record: int
    alive: list[int]
    rng: random.Random
    coin_flips: int = 0

    @property
    def done(self) -> bool:
        return len(self.alive) <= 1

    def matches(self) -> list[Match]:
        return [(self.alive[k], self.alive[k + 1]) for k in range(0, len(self.alive) - 1, 2)]


@dataclass
class TournamentRunner:
    """Runs brackets to completion through ``compare(items) -> results``."""

    compare: Callable[[list[JudgeItem]], list[JudgeResult]]
    make_item: Callable[[int, int, int], JudgeItem]
    cache: dict[CompareKey, str | None] = field(default_factory=dict)
    results: list[JudgeResult] = field(default_factory=list)

    def run(self, brackets: list[Bracket]) -> None:
        for b in brackets:
            b.rng.shuffle(b.alive)
        while True:
            active = [b for b in brackets if not b.done]
            if not active:
                return
            needed: dict[CompareKey, None] = {}
            for b in active:
                for i, j in b.matches():
                    if (b.record, i, j) not in self.cache:
                        needed[(b.record, i, j)] = None
            if needed:
                keys = list(needed)
                judged = self.compare([self.make_item(r, i, j) for r, i, j in keys])
                for key, res in zip(keys, judged, strict=True):
                    self.cache[key] = res.preference if res.ok else None
                    self.results.append(res)
            for b in active:
                winners = []
                for i, j in b.matches():
                    pref = self.cache[(b.record, i, j)]
                    if pref == "A":
                        winners.append(i)
                    elif pref == "B":
                        winners.append(j)
                    else:
                        b.coin_flips += 1
                        winners.append(b.rng.choice((i, j)))
                if len(b.alive) % 2:
                    winners.append(b.alive[-1])
                b.alive = winners

    def win_rates(self, record: int, n: int) -> list[float | None]:
        """Fraction of decided matches each candidate won (``None`` when it never had one)."""
        wins = [0] * n
        played = [0] * n
        for (r, i, j), pref in self.cache.items():
            if r != record or pref not in ("A", "B"):
                continue
            played[i] += 1
            played[j] += 1
            wins[i if pref == "A" else j] += 1
        return [wins[k] / played[k] if played[k] else None for k in range(n)]


def summary(brackets: list[Bracket]) -> dict[str, Any]:
    return {"coin_flips": sum(b.coin_flips for b in brackets)}
