"""Inference-time scaling from one generation pass (paper Fig. 6): a run with K votes and R
budget-forcing rounds is scored at every vote count k = 1..K (the first k samples) and every
round r = 0..R (each sample's verdict after r "Wait" rounds; a sample that stopped thinking
earlier keeps its last verdict).  Nothing is generated again: every grid point re-parses the
round texts kept in ``Prediction.extra["samples"]`` and aggregates the first k of them with the
judge's own reducers (:func:`flexjudge.judge.reduce.aggregate`)."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from flexjudge.bench._core import BenchRecord, BenchScore, Prediction
from flexjudge.bench._registry import Benchmark
from flexjudge.judge.config import JudgeConfig
from flexjudge.judge.plan import answer_count
from flexjudge.judge.reduce import aggregate
from flexjudge.judge.types import Sample, Task
from flexjudge.protocol import Format, Mode, ParseStatus, Protocol, Verdict, get_protocol

_STATUS = {s.value: s for s in ParseStatus}


#: the judge task a protocol of each format performs
TASK_OF_FORMAT: dict[Format, Task] = {
    Format.SCORE: "score",
    Format.PAIR: "compare",
    Format.RANK: "rank",
    Format.OPTION: "compare",
}


@dataclass(frozen=True)
class Aggregation:
    """How the votes of one grid point are combined: the run's aggregation options."""

    score_aggregate: str = "mean"
    pair_aggregate: str = "majority"
    rank_aggregate: str = "borda"

    @classmethod
    def of(cls, cfg: JudgeConfig) -> Aggregation:
        return cls(cfg.score_aggregate, cfg.pair_aggregate, cfg.rank_aggregate)


def samples_extra(samples: Sequence[Sample]) -> list[dict[str, Any]]:
    """What a prediction keeps of its votes: each one's order and text after every round."""
    return [
        {"order": list(s.order), "rounds": [v.raw for v in s.rounds] or [s.text]} for s in samples
    ]


def at_point(
    p: Prediction,
    k: int,
    r: int,
    protocol: Protocol,
    mode: Mode,
    agg: Aggregation,
) -> Prediction:
    """``p`` as the run with the first ``k`` votes after round ``r`` would have produced it.

    One vote: its text (parsed by the evaluator like any prediction).  Several: the first
    vote's text with ``verdict`` = the aggregate of the k verdicts, as the judge reduces them.
    """
    kept: list[dict[str, Any]] = p.extra.get("samples") or []
    if p.status == "error" or not kept:
        return p
    votes = kept[:k]
    texts = [s["rounds"][min(r, len(s["rounds"]) - 1)] for s in votes]
    base = replace(p, text=texts[0], extra={}, verdict=None)
    if len(votes) == 1:
        return base
    n = max(len(votes[0]["order"]), 1)
    count = answer_count(protocol.format, n)
    samples = [
        Sample(
            text,
            protocol.parse(text, mode=mode, count=count, answer_order=p.answer_order),
            tuple(s["order"]),
        )
        for text, s in zip(texts, votes, strict=True)
    ]
    a = aggregate(
        TASK_OF_FORMAT[protocol.format],
        protocol.format,
        samples,
        n,
        score_agg=agg.score_aggregate,  # type: ignore[arg-type]
        pair_agg=agg.pair_aggregate,  # type: ignore[arg-type]
        rank_agg=agg.rank_aggregate,  # type: ignore[arg-type]
    )
    status = _STATUS.get(a.status, ParseStatus.NO_ANSWER)
    first = samples[0].verdict
    verdict = Verdict(
        status=status,
        raw=texts[0],
        scores=tuple(a.scores or ()) if status is ParseStatus.OK else (),
        preference=a.preference if status is ParseStatus.OK else None,  # type: ignore[arg-type]
        ranking=tuple(a.ranking) if a.ranking is not None else None,
        option=a.option,
        reasoning=first.reasoning,
        answer=first.answer,
        extra={"votes": a.votes or {}, "n_failed": a.n_failed},
    )
    return replace(base, verdict=verdict)


def rescored(p: Prediction, protocol: Protocol, mode: Mode) -> Prediction:
    """A stored prediction of a votes/rounds run re-derived from its samples in ``mode`` (its
    stored ``verdict`` was aggregated in the run's mode); others are returned as they are."""
    kept: list[dict[str, Any]] = p.extra.get("samples") or []
    if not kept:
        return p
    agg = Aggregation(**p.extra.get("aggregation", {}))
    rounds = max(len(s["rounds"]) for s in kept) - 1
    return replace(at_point(p, len(kept), rounds, protocol, mode, agg), extra=p.extra)


def headline_metric(score: BenchScore) -> str:
    """The metric a curve plots: the first one with a bootstrap CI, else the first one."""
    for key in score.metrics:
        if key in score.ci:
            return key
    return next(iter(score.metrics))


def sweep(
    bench: Benchmark,
    split: str,
    records: Sequence[BenchRecord],
    preds: Sequence[Prediction],
    mode: Mode,
    protocol_name: str,
    agg: Aggregation,
) -> dict[str, Any]:
    """Score every (k, r) of the run: ``{"votes": K, "rounds": R, "metric": m, "grid": [...]}``,
    each grid entry with k, r, every metric, and the headline metric's 95% bootstrap CI."""
    protocol = get_protocol(protocol_name)
    depth = [len(p.extra.get("samples") or ()) for p in preds if p.status != "error"]
    n_votes = max(depth, default=1)
    n_rounds = max(
        (len(s["rounds"]) for p in preds for s in p.extra.get("samples") or ()), default=1
    )
    grid: list[dict[str, Any]] = []
    metric = ""
    for k in range(1, n_votes + 1):
        for r in range(n_rounds):
            point = [at_point(p, k, r, protocol, mode, agg) for p in preds]
            score = bench.evaluate(split, records, point, mode)
            metric = metric or headline_metric(score)
            lo, hi = score.ci.get(metric, (math.nan, math.nan))
            grid.append(
                {
                    "votes": k,
                    "round": r,
                    "metrics": {m: _finite(v) for m, v in score.metrics.items()},
                    "ci95": [_finite(lo), _finite(hi)],
                    "parse_failure_rate": _finite(score.parse_failure_rate),
                }
            )
    return {"votes": n_votes, "rounds": n_rounds - 1, "metric": metric, "grid": grid}


def _finite(v: float) -> float | None:
    return None if isinstance(v, float) and math.isnan(v) else v


def scaling_markdown(table: dict[str, Any]) -> str:
    """The sweep as a table: one row per vote count, one column per round."""
    m = table["metric"]
    rounds = range(table["rounds"] + 1)
    cell = {(g["votes"], g["round"]): g for g in table["grid"]}
    lines = [
        f"# inference-time scaling: {m} (95% bootstrap CI)",
        "",
        "| votes | " + " | ".join(f"round {r}" for r in rounds) + " |",
        "|" + "---|" * (len(rounds) + 1),
    ]
    for k in range(1, table["votes"] + 1):
        cells = []
        for r in rounds:
            g = cell[(k, r)]
            v, (lo, hi) = g["metrics"].get(m), g["ci95"]
            if v is None:
                cells.append("–")
            elif lo is None or hi is None:
                cells.append(f"{v:.4f}")
            else:
                cells.append(f"{v:.4f} [{lo:.3f}, {hi:.3f}]")
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_scaling(
    table: dict[str, Any], out: Path, *, plots: bool = True, title: str = ""
) -> dict[str, Path]:
    """``scaling.json``, ``scaling.md`` and (with matplotlib) ``scaling.png`` in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "scaling.json", "md": out / "scaling.md"}
    paths["json"].write_text(json.dumps(table, indent=2), encoding="utf-8")
    paths["md"].write_text(scaling_markdown(table), encoding="utf-8")
    if plots:
        from flexjudge.bench._plots import scaling_curves
        from flexjudge.errors import MissingDependencyError

        with contextlib.suppress(MissingDependencyError):  # the table says it all
            paths["png"] = scaling_curves([(title, table)], out / "scaling.png")
    return paths
