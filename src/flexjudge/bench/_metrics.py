"""Metric functions shared by the benchmarks (numpy only; vectorised for large runs).

Every function takes plain sequences and returns floats.  ``nan`` means "undefined" (e.g. a
correlation of a constant series); callers decide whether to map it (the reference maps
Pearson ``nan`` to 0).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def pearson(x: Sequence[float] | FloatArray, y: Sequence[float] | FloatArray) -> float:
    """Pearson r; ``nan`` for fewer than two points or a constant series."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.size < 2 or a.size != b.size:
        return math.nan
    a = a - a.mean()
    b = b - b.mean()
    denom = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    return float((a * b).sum() / denom) if denom > 0 else math.nan


def _ranks(x: FloatArray) -> FloatArray:
    """Average ranks (ties share the mean rank), as scipy's ``rankdata``."""
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    ranks = np.empty(x.size, dtype=np.float64)
    boundaries = np.flatnonzero(np.diff(sorted_x)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [x.size]))
    for s, e in zip(starts, ends, strict=True):
        ranks[order[s:e]] = (s + e - 1) / 2.0 + 1.0
    return ranks


def spearman(x: Sequence[float] | FloatArray, y: Sequence[float] | FloatArray) -> float:
    """Spearman rho (Pearson of average ranks); ``nan`` when undefined."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    if a.size < 2 or a.size != b.size:
        return math.nan
    return pearson(_ranks(a), _ranks(b))


def mse(x: Sequence[float] | FloatArray, y: Sequence[float] | FloatArray) -> float:
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    return float(((a - b) ** 2).mean()) if a.size else math.nan


def nan_to_zero(value: float) -> float:
    return 0.0 if math.isnan(value) else value


def accuracy(pred: Sequence[object], gold: Sequence[object]) -> float:
    if not gold:
        return math.nan
    return sum(1 for p, g in zip(pred, gold, strict=True) if p == g) / len(gold)


def precision_recall_f1(
    pred: Sequence[object], gold: Sequence[object], labels: Sequence[object]
) -> dict[str, float]:
    """Macro precision, recall and F1 over ``labels`` (sklearn's ``average="macro"`` with
    ``labels=...``, zero_division=0).  Predictions outside ``labels`` (parse failures) count
    against recall of the gold class and add to no class's precision."""
    pairs = Counter(zip(pred, gold, strict=False))
    n_pred: Counter[object] = Counter()
    n_gold: Counter[object] = Counter()
    for (p, g), n in pairs.items():
        n_pred[p] += n
        n_gold[g] += n
    p_list, r_list, f_list = [], [], []
    for label in labels:
        tp = pairs.get((label, label), 0)
        prec = tp / n_pred[label] if n_pred[label] else 0.0
        rec = tp / n_gold[label] if n_gold[label] else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        p_list.append(prec)
        r_list.append(rec)
        f_list.append(f1)
    k = len(labels)
    return {
        "precision": sum(p_list) / k,
        "recall": sum(r_list) / k,
        "f1": sum(f_list) / k,
        **{f"f1_{label}": f for label, f in zip(labels, f_list, strict=True)},
    }


def levenshtein(a: str, b: str) -> int:
    """Unit-cost edit distance (python-Levenshtein ``distance``)."""
    try:
        from rapidfuzz.distance import Levenshtein

        return int(Levenshtein.distance(a, b))
    except ImportError:  # pragma: no cover - rapidfuzz is a core dependency
        prev = list(range(len(b) + 1))
        for i, ca in enumerate(a, 1):
            cur = [i]
            for j, cb in enumerate(b, 1):
                cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
            prev = cur
        return prev[-1]


def normalized_levenshtein(pred: str, gold: str) -> float:
    """Edit distance divided by the longer length; 1.0 for an empty prediction (spec §7.1)."""
    if not pred:
        return 1.0
    return levenshtein(pred, gold) / max(len(pred), len(gold))


def bootstrap_ci(
    values: Sequence[float] | FloatArray,
    *,
    paired: Sequence[float] | FloatArray | None = None,
    statistic: str = "mean",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap CI of a per-item statistic, resampling items with a seeded RNG.

    ``statistic``: ``"mean"`` of ``values``, or ``"pearson"``/``"spearman"`` of
    ``(values, paired)``.  Returns ``(nan, nan)`` for fewer than two items.
    """
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if n < 2:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    if statistic == "mean" and bool(np.all((x == 0) | (x == 1))):
        # resampling n binary values: the number of ones is Binomial(n, p) — exact and O(B)
        stats = rng.binomial(n, float(x.mean()), size=n_boot) / n
    else:
        y = None
        if statistic != "mean":
            if paired is None:
                raise ValueError(f"{statistic} needs paired values")
            y = np.asarray(paired, dtype=np.float64)
            if statistic == "spearman":
                x, y = _ranks(x), _ranks(y)
        chunk = max(1, 2_000_000 // n)  # bounded memory: ~16 MB of indices per chunk
        parts = []
        for start in range(0, n_boot, chunk):
            idx = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
            parts.append(x[idx].mean(axis=1) if y is None else _rowwise_pearson(x[idx], y[idx]))
        stats = np.concatenate(parts)
    stats = stats[~np.isnan(stats)]
    if stats.size == 0:
        return (math.nan, math.nan)
    alpha = (1 - level) / 2
    return (float(np.quantile(stats, alpha)), float(np.quantile(stats, 1 - alpha)))


def _rowwise_pearson(a: FloatArray, b: FloatArray) -> FloatArray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = (a * b).sum(axis=1) / denom
    out[denom == 0] = np.nan
    return out


def mean_or_nan(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def median3(values: Sequence[float]) -> float:
    s = sorted(values)
    n = len(s)
    if n == 0:
        return math.nan
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


Metric = Callable[[Sequence[float], Sequence[float]], float]
