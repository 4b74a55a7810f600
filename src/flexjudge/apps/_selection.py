"""Seeded selection over judged candidates: max-score with random tie-breaks, and statistics."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import Any


def trial_rng(seed: int, trial: int, salt: int = 0) -> random.Random:
    """The Python ``random`` stream of one trial (the reference uses ``random`` too)."""
    return random.Random(seed * 1_000_003 + trial * 7_919 + salt)


def select_max(
    scores: Sequence[float | None], subset: Sequence[int], rng: random.Random
) -> int | None:
    """§11.6: keep the candidates of ``subset`` with the maximal score and pick one with
    ``rng.choice``; unparseable (``None``) candidates are dropped.  ``None`` when none scored."""
    scored = [i for i in subset if scores[i] is not None]
    if not scored:
        return None
    best = max(scores[i] for i in scored)  # type: ignore[type-var]
    return rng.choice([i for i in scored if scores[i] == best])


def n_grid(max_n: int) -> list[int]:
    """1, 2, 4, … up to ``max_n``, always ending at ``max_n``."""
    grid, n = [], 1
    while n < max_n:
        grid.append(n)
        n *= 2
    grid.append(max_n)
    return grid


def mean_std(values: Sequence[float]) -> tuple[float | None, float | None]:
    """Mean and population standard deviation (numpy's default), ``None`` when empty."""
    if not values:
        return None, None
    m = sum(values) / len(values)
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / len(values))


def correlation(xs: Sequence[float], ys: Sequence[float]) -> dict[str, Any]:
    """Pearson (point-biserial for binary labels) and Spearman correlation with p-values.

    Returns ``None`` values when there are fewer than 3 points or either side is constant."""
    out: dict[str, Any] = {
        "n": len(xs),
        "pearson": None,
        "pearson_p": None,
        "spearman": None,
        "spearman_p": None,
    }
    if len(xs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return out
    from scipy import stats

    pr = stats.pearsonr(xs, ys)
    sr = stats.spearmanr(xs, ys)
    out.update(
        pearson=float(pr[0]), pearson_p=float(pr[1]), spearman=float(sr[0]), spearman_p=float(sr[1])
    )
    return out
