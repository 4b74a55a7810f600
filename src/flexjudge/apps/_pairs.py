"""DPO preference pairs from flip-consistent pairwise judgments (spec §11.8–§11.9).

Every pair ``(r0, r1)`` is judged twice with ``swap`` off: forward (Answer 1 = r0) and reverse
(Answer 1 = r1).  The winner of each direction is positional (0 = Answer 1, −1 = tie or no
verdict).  ``(win_fwd, win_rev) = (0, 1)`` → r0 chosen, ``(1, 0)`` → r1 chosen; ties,
failures and order-dependent verdicts ``(0, 0)``/``(1, 1)`` are dropped with their reason.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flexjudge._util.jsonl import dumps_summary
from flexjudge._util.paths import relative_to_output
from flexjudge.apps._records import CandidateRecord, judge_item
from flexjudge.judge.types import JudgeResult

if TYPE_CHECKING:
    from flexjudge.judge import Judge

DROP_REASONS = (
    "input_error",
    "forward_failed",
    "reverse_failed",
    "tie",
    "order_dependent",
    "expected_lost",
)


@dataclass
class PairsConfig:
    """``require_consistent``: keep only flip-consistent winners (§11.9); off, the forward
    verdict alone decides (the no-filter ablation).  ``expect_first``: additionally require
    that ``responses[0]`` (e.g. the lower-temperature sample) wins.  ``conversational`` writes
    TRL's conversational preference format instead of plain strings."""

    protocol: str | None = None
    require_consistent: bool = True
    expect_first: bool = False
    conversational: bool = False


@dataclass
class PairDecision:
    id: str
    win_forward: int | None = None
    win_reverse: int | None = None
    chosen_index: int | None = None
    reason: str | None = None  # why it was dropped; None when kept
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class PairsReport:
    pairs: list[dict[str, Any]]
    decisions: list[PairDecision]
    summary: dict[str, Any]
    judgments: list[JudgeResult] = field(default_factory=list)


def winner(result: JudgeResult) -> int:
    """Positional winner of one direction: 0 (Answer 1), 1 (Answer 2) or −1 (tie/failure)."""
    if not result.ok:
        return -1
    return {"A": 0, "B": 1}.get(result.preference or "", -1)


def decide(win_forward: int, win_reverse: int, cfg: PairsConfig) -> tuple[int | None, str | None]:
    """``(chosen index, None)`` or ``(None, drop reason)`` for one pair's two verdicts."""
    if not cfg.require_consistent:
        if win_forward < 0:
            return None, "tie" if win_reverse >= 0 else "forward_failed"
        chosen = win_forward
    elif (win_forward, win_reverse) == (0, 1):
        chosen = 0
    elif (win_forward, win_reverse) == (1, 0):
        chosen = 1
    elif win_forward >= 0 and win_reverse >= 0:
        return None, "order_dependent"
    else:
        return None, "tie"
    if cfg.expect_first and chosen != 0:
        return None, "expected_lost"
    return chosen, None


def build_pairs(
    judge: Judge,
    records: Sequence[CandidateRecord | Exception],
    config: PairsConfig | None = None,
    *,
    on_result: Callable[[JudgeResult], None] | None = None,
) -> PairsReport:
    """Judge every pair in both orders (one batch) and keep the consistent ones.  Bad input
    lines and items the judge rejects are dropped as ``input_error`` with the message."""
    cfg = config or PairsConfig()
    decisions: list[PairDecision] = []
    good: list[tuple[PairDecision, CandidateRecord]] = []
    for r in records:
        if isinstance(r, CandidateRecord):
            d = PairDecision(r.id)
            good.append((d, r))
        else:
            d = PairDecision(str(getattr(r, "record", None)), reason="input_error", error=str(r))
        decisions.append(d)
    items = []
    for _, rec in good:
        for tag, order in (("fwd", (0, 1)), ("rev", (1, 0))):
            responses = [rec.responses[i] for i in order]
            items.append(judge_item(rec, responses, cfg.protocol, f"{rec.id}#{tag}"))
    results = judge.run(items, task="compare", swap=False, on_result=on_result)
    pairs = []
    for k, (d, rec) in enumerate(good):
        fwd, rev = results[2 * k], results[2 * k + 1]
        if fwd.status == "error" and fwd.error_field is not None:
            d.reason, d.error = "input_error", fwd.error
            continue
        d.win_forward, d.win_reverse = winner(fwd), winner(rev)
        d.chosen_index, d.reason = decide(d.win_forward, d.win_reverse, cfg)
        if d.reason == "tie":  # say which direction failed when one did
            d.reason = "forward_failed" if not fwd.ok else "reverse_failed" if not rev.ok else "tie"
        if d.chosen_index is not None:
            pairs.append(to_trl(rec, d.chosen_index, cfg.conversational))
    counts = Counter(d.reason for d in decisions if d.reason is not None)
    summary = {
        "total": len(decisions),
        "kept": len(pairs),
        "dropped": sum(counts.values()),
        "dropped_by_reason": {r: counts.get(r, 0) for r in DROP_REASONS},
        "require_consistent": cfg.require_consistent,
        "expect_first": cfg.expect_first,
        "chosen_first": sum(1 for d in decisions if d.chosen_index == 0),
        "chosen_second": sum(1 for d in decisions if d.chosen_index == 1),
    }
    return PairsReport(pairs, decisions, summary, results)


def to_trl(rec: CandidateRecord, chosen: int, conversational: bool) -> dict[str, Any]:
    """TRL preference row: ``prompt``/``chosen``/``rejected`` (+ ``images`` when present)."""
    question = rec.question or ""
    images = rec.media.get("images") or []
    good, bad = rec.responses[chosen], rec.responses[1 - chosen]
    row: dict[str, Any]
    if conversational:
        content: list[dict[str, Any]] = [{"type": "image"} for _ in images]
        content.append({"type": "text", "text": question})
        row = {
            "prompt": [{"role": "user", "content": content if images else question}],
            "chosen": [{"role": "assistant", "content": good}],
            "rejected": [{"role": "assistant", "content": bad}],
        }
    else:
        row = {"prompt": question, "chosen": good, "rejected": bad}
    if images:
        row["images"] = list(images)
    if rec.media.get("molecules"):
        row["molecules"] = list(rec.media["molecules"])
    row["id"] = rec.id
    return row


def write_pairs(report: PairsReport, out: Path) -> dict[str, Path]:
    """Write the pairs (JSONL), ``<out>.summary.json`` and ``<out>.decisions.jsonl``.  Media
    paths in the pairs are written relative to ``out``'s folder (URLs and data URLs as
    given), so the file reads back from any working directory."""
    out.parent.mkdir(parents=True, exist_ok=True)
    paths = {
        "pairs": out,
        "summary": out.with_suffix(".summary.json"),
        "decisions": out.with_suffix(".decisions.jsonl"),
    }
    with open(out, "w", encoding="utf-8") as fh:
        for row in report.pairs:
            if "images" in row:  # media paths read back from the output file's folder
                row = row | {"images": [relative_to_output(v, out.parent) for v in row["images"]]}
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(paths["decisions"], "w", encoding="utf-8") as fh:
        for d in report.decisions:
            fh.write(json.dumps(d.to_dict(), ensure_ascii=False) + "\n")
    paths["summary"].write_text(dumps_summary(report.summary), encoding="utf-8")
    return paths
