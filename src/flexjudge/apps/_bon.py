"""Best-of-N selection with a Flex-Judge (paper §4, reference ``best_of_N.py``, spec §11.6).

``score`` strategy: every candidate is scored on its own (one ``Judge.run`` batch); per trial,
the max-score candidates are kept and one is picked with ``random.choice`` (seeded per
trial); unparseable candidates are dropped and counted.  ``pairwise-tournament``: a seeded
single-elimination bracket of ``Judge.compare`` matches (see :mod:`._tournament`).

With labels, accuracy is reported against N = 1, 2, 4, …, N: in each trial every record's
candidates are subsampled (``random.sample``) to ``n`` and the selection runs on the subset.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flexjudge._util.jsonl import dumps_summary
from flexjudge.apps._bon_types import BestOfNConfig, BestOfNRecord, BestOfNReport
from flexjudge.apps._records import CandidateRecord, judge_item
from flexjudge.apps._selection import correlation, mean_std, n_grid, select_max, trial_rng
from flexjudge.apps._tournament import Bracket, TournamentRunner
from flexjudge.judge.types import JudgeItem, JudgeResult

if TYPE_CHECKING:
    from flexjudge.judge import Judge


def best_of_n(
    judge: Judge,
    records: Sequence[CandidateRecord | Exception],
    config: BestOfNConfig | None = None,
    *,
    on_result: Callable[[JudgeResult], None] | None = None,
) -> BestOfNReport:
    """Select the best candidate of every record.  An exception in ``records`` (a bad input
    line) or an item the judge cannot take becomes that record's ``error``; the rest go on."""
    cfg = config or BestOfNConfig()
    good = [r for r in records if isinstance(r, CandidateRecord)]
    out: list[BestOfNRecord] = []
    for r in records:
        if isinstance(r, CandidateRecord):
            out.append(BestOfNRecord(r.id, len(r.responses), labels=r.labels))
        else:
            out.append(BestOfNRecord(str(getattr(r, "record", None)), 0, error=str(r)))
    by_id = [o for o in out if o.error is None]
    if cfg.strategy == "score":
        judgments = _score_all(judge, good, by_id, cfg, on_result)
        scores_of = by_id

        def score_select(k: int, subset: list[int], t: int) -> int | None:
            return select_max(scores_of[k].scores, subset, trial_rng(cfg.seed, t))

        select: Callable[[int, list[int], int], int | None] = score_select
        extra: dict[str, Any] = {}
    else:
        judgments, select, extra = _tournament(judge, good, by_id, cfg, on_result)
    for k, rec in enumerate(by_id):
        if rec.error is None:
            rec.selected = [select(k, list(range(rec.n_candidates)), t) for t in range(cfg.trials)]
    summary = _summarize(by_id, cfg, select) | extra
    summary["records"] = len(out)
    summary["input_errors"] = sum(1 for o in out if o.error is not None)
    return BestOfNReport(out, summary, judgments)


def _items(
    rec: CandidateRecord, responses: list[str], protocol: str | None, suffix: str
) -> JudgeItem:
    return judge_item(rec, responses, protocol, f"{rec.id}#{suffix}")


def _score_all(
    judge: Judge,
    good: list[CandidateRecord],
    out: list[BestOfNRecord],
    cfg: BestOfNConfig,
    on_result: Callable[[JudgeResult], None] | None,
) -> list[JudgeResult]:
    items, owners = [], []
    for k, rec in enumerate(good):
        out[k].scores = [None] * len(rec.responses)
        for i, resp in enumerate(rec.responses):
            items.append(_items(rec, [resp], cfg.protocol, str(i)))
            owners.append((k, i))
    results = judge.run(items, task="score", on_result=on_result)
    for (k, i), res in zip(owners, results, strict=True):
        if res.status == "error" and res.error_field is not None:
            out[k].error = res.error  # bad media/fields: the whole record is unusable
        out[k].scores[i] = res.score if res.ok else None
    return results


def _tournament(
    judge: Judge,
    good: list[CandidateRecord],
    out: list[BestOfNRecord],
    cfg: BestOfNConfig,
    on_result: Callable[[JudgeResult], None] | None,
) -> tuple[list[JudgeResult], Callable[[int, list[int], int], int | None], dict[str, Any]]:
    def compare(items: list[JudgeItem]) -> list[JudgeResult]:
        return judge.run(items, task="compare", on_result=on_result)

    def make_item(k: int, i: int, j: int) -> JudgeItem:
        rec = good[k]
        return _items(rec, [rec.responses[i], rec.responses[j]], cfg.protocol, f"{i}v{j}")

    runner = TournamentRunner(compare, make_item)
    memo: dict[tuple[int, tuple[int, ...], int], int | None] = {}
    flips = [0]

    def select(k: int, subset: list[int], t: int) -> int | None:
        key = (k, tuple(subset), t)
        if key not in memo:
            _run_brackets([(k, subset, t)])
        return memo[key]

    def _run_brackets(jobs: list[tuple[int, list[int], int]]) -> None:
        brackets = [Bracket(k, list(s), trial_rng(cfg.seed, t, salt=len(s))) for k, s, t in jobs]
        runner.run(brackets)
        for (k, s, t), b in zip(jobs, brackets, strict=True):
            memo[(k, tuple(s), t)] = b.alive[0] if b.alive else None
            flips[0] += b.coin_flips

    # play every bracket the summary will ask for in lock-step, so each round is one batch
    jobs = []
    for k, rec in enumerate(out):
        for t in range(cfg.trials):
            jobs.append((k, list(range(rec.n_candidates)), t))
            for _n, subset in _subsets(rec, cfg, t):
                jobs.append((k, subset, t))
    _run_brackets(jobs)
    for k, rec in enumerate(out):
        rec.scores = runner.win_rates(k, rec.n_candidates)
    return runner.results, select, {"coin_flips": flips[0], "comparisons": len(runner.cache)}


def _subsets(rec: BestOfNRecord, cfg: BestOfNConfig, trial: int) -> list[tuple[int, list[int]]]:
    """The seeded candidate subsets of one trial for every n of the grid."""
    if rec.labels is None:
        return []
    grid = cfg.n_values or n_grid(max(rec.n_candidates, 1))
    rng = trial_rng(cfg.seed, trial, salt=1)
    out = []
    for n in grid:
        size = min(n, rec.n_candidates)
        out.append((n, sorted(rng.sample(range(rec.n_candidates), size))))
    return out


def _summarize(
    recs: list[BestOfNRecord],
    cfg: BestOfNConfig,
    select: Callable[[int, list[int], int], int | None],
) -> dict[str, Any]:
    usable = [(k, r) for k, r in enumerate(recs) if r.error is None]
    scores = [s for _, r in usable for s in r.scores]
    summary: dict[str, Any] = {
        "strategy": cfg.strategy,
        "trials": cfg.trials,
        "seed": cfg.seed,
        "candidates": len(scores),
        "unparseable_candidates": sum(1 for s in scores if s is None),
        "records_without_scored_candidate": sum(
            1 for _, r in usable if all(s is None for s in r.scores)
        ),
    }
    labelled = [(k, r) for k, r in usable if r.labels is not None]
    summary["labelled_records"] = len(labelled)
    if not labelled:
        return summary
    max_n = max(r.n_candidates for _, r in labelled)
    grid = cfg.n_values or n_grid(max_n)
    curve = []
    for n in grid:
        per_trial, oracle = [], []
        for t in range(cfg.trials):
            picked, best = [], []
            for k, r in labelled:
                subset = dict(_subsets(r, cfg, t)).get(n)
                if subset is None:
                    continue
                sel = select(k, subset, t)
                if sel is None:
                    continue  # reference: only records with >= 1 scored candidate count
                assert r.labels is not None
                picked.append(r.labels[sel])
                best.append(max(r.labels[i] for i in subset))
            if picked:
                per_trial.append(sum(picked) / len(picked))
                oracle.append(sum(best) / len(best))
        mean, std = mean_std(per_trial)
        curve.append(
            {
                "n": n,
                "accuracy_mean": mean,
                "accuracy_std": std,
                "accuracy_per_trial": per_trial,
                "oracle_mean": mean_std(oracle)[0],
            }
        )
    summary["accuracy_vs_n"] = curve
    summary["random_pick_accuracy"] = mean_std(
        [sum(r.labels) / len(r.labels) for _, r in labelled if r.labels]
    )[0]  # type: ignore[arg-type]
    xs, ys = [], []
    for _, r in labelled:
        assert r.labels is not None
        for s, y in zip(r.scores, r.labels, strict=True):
            if s is not None:
                xs.append(s)
                ys.append(y)
    summary["score_label_correlation"] = correlation(xs, ys)
    return summary


def write_best_of_n(report: BestOfNReport, out_dir: Path, *, plot: bool = True) -> dict[str, Path]:
    """Write ``selections.jsonl``, ``summary.json`` and (with labels) ``accuracy_vs_n.png``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"selections": out_dir / "selections.jsonl", "summary": out_dir / "summary.json"}
    with open(paths["selections"], "w", encoding="utf-8") as fh:
        for rec in report.records:
            fh.write(json.dumps(rec.to_dict(), ensure_ascii=False) + "\n")
    paths["summary"].write_text(dumps_summary(report.summary), encoding="utf-8")
    if plot and report.summary.get("accuracy_vs_n"):
        from flexjudge.apps._plots import plot_best_of_n

        paths["plot"] = plot_best_of_n(report, out_dir / "accuracy_vs_n.png")
    return paths
