"""``bench run``: judge a benchmark split for K trials, resumably, then score and report."""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from flexjudge._util.jsonl import write_jsonl
from flexjudge.bench._core import BenchRecord, BenchScore, Prediction
from flexjudge.bench._io import LoadConfig
from flexjudge.bench._registry import Benchmark, get_benchmark
from flexjudge.bench._reliability import analyses
from flexjudge.bench._scaling import (
    TASK_OF_FORMAT,
    Aggregation,
    at_point,
    rescored,
    samples_extra,
)
from flexjudge.errors import InputError
from flexjudge.judge.prepare import permute_slice
from flexjudge.protocol import AnswerOrder, Mode, get_protocol, list_protocols
from flexjudge.store import NamespacedStore, ResultStore


@dataclass
class BenchRunConfig:
    """Options of ``flexjudge bench run``.  ``trials=None`` uses the benchmark's Table 6
    trial count; ``store=False`` disables resuming; ``options`` are the judge options.
    ``votes`` K and ``budget_forcing`` R (default: ``options``', else the judge's) generate K
    samples per item and trial with R "Wait" rounds each, in one pass; the run is then scored
    at every k = 1..K and r = 0..R (``scaling.json``), the headline at (K, R)."""

    benchmark: str
    model: str
    out: Path
    split: str | None = None
    backend: str = "transformers"
    trials: int | None = None
    limit: int | None = None
    mode: Mode = "reference"
    data: Path | None = None
    media_root: Path | None = None
    gold: Path | None = None
    votes: int | None = None
    budget_forcing: int | None = None
    answer_order: AnswerOrder = "reasoning-first"
    store: bool = True
    plots: bool = True
    backend_kwargs: dict[str, Any] = field(default_factory=dict)
    #: :class:`flexjudge.JudgeConfig` options for every trial; ``protocol`` (default: the
    #: benchmark's), ``mode`` and ``seed`` (trial k uses seed + k) are set per trial
    options: dict[str, Any] = field(default_factory=dict)


def open_store(out: Path) -> ResultStore:
    return ResultStore(out / "store.sqlite")


def pick_protocol(bench: Benchmark, split: str, family: str) -> str:
    name = bench.protocols[split]
    names = {p.name for p in list_protocols()}
    if family == "qwen2_5_omni" and f"{name}-omni" in names:
        return f"{name}-omni"
    return name


def build_items(
    bench: Benchmark,
    records: Sequence[BenchRecord],
    orders: Sequence[tuple[int, ...]],
    protocol: str,
) -> list[dict[str, Any]]:
    """Judge items for the non-error records, with responses (or response media) shown in
    ``orders``."""
    task = TASK_OF_FORMAT[get_protocol(protocol).format]
    items: list[dict[str, Any]] = []
    for rec, order in zip(records, orders, strict=True):
        if rec.error is not None:
            continue
        responses = list(rec.responses)
        images, videos = list(rec.images), list(rec.videos)
        if order and tuple(order) != tuple(range(len(order))):
            if responses:
                responses = [rec.responses[i] for i in order]
            elif bench.media_slot == "images":
                images = permute_slice(images, len(images) - len(order), order)
            elif bench.media_slot is not None:
                videos = permute_slice(videos, len(videos) - len(order), order)
        items.append(
            {
                "id": rec.id,
                "question": rec.question,
                "responses": responses,
                "images": images,
                "videos": videos,
                "audios": list(rec.audios),
                "fields": rec.fields,
                "protocol": protocol,
                "task": task,
            }
        )
    return items


def run_benchmark(cfg: BenchRunConfig, judge: Any = None) -> BenchScore:
    """Judge, write ``predictions.jsonl`` and the report files into ``cfg.out``; returns the
    score.  Bad records and failed items become error rows; the run continues."""
    from flexjudge.bench._report import write_report
    from flexjudge.judge.types import JudgeItem

    bench = get_benchmark(cfg.benchmark)
    split = bench.check_split(cfg.split)
    trials = cfg.trials if cfg.trials is not None else bench.default_trials
    if trials < 1:
        raise InputError("trials must be >= 1", field="trials")
    records = bench.load(LoadConfig(split, cfg.data, cfg.media_root, cfg.gold, cfg.limit))
    if judge is None:
        from flexjudge.judge import Judge

        judge = Judge.from_pretrained(
            cfg.model, backend=cfg.backend, backend_kwargs=cfg.backend_kwargs
        )
    options = dict(cfg.options)
    protocol = options.pop("protocol", None) or pick_protocol(bench, split, judge.backend.family)
    base_seed = options.pop("seed", None) or 0
    options.pop("mode", None)  # cfg.mode is the benchmark's mode
    # a judge built with votes/budget forcing keeps them unless the run sets its own
    n_votes = cfg.votes if cfg.votes is not None else options.pop("votes", judge.config.votes)
    n_rounds = (
        cfg.budget_forcing
        if cfg.budget_forcing is not None
        else options.pop("budget_forcing", judge.config.budget_forcing)
    )
    options.pop("votes", None)
    options.pop("budget_forcing", None)
    if n_votes < 1 or n_rounds < 0:
        raise InputError("votes must be >= 1 and budget_forcing >= 0", field="votes")
    # run-wide problems fail before any trial
    effective = judge.preflight(
        **options, protocol=protocol, votes=n_votes, budget_forcing=n_rounds
    )
    cfg.out.mkdir(parents=True, exist_ok=True)
    store = open_store(cfg.out) if cfg.store else None
    preds: list[Prediction] = []
    scaled = n_votes > 1 or n_rounds > 0
    agg = Aggregation.of(effective)
    for trial in range(trials):
        orders = bench.orders(records, trial, cfg.mode)
        order_of = {r.id: o for r, o in zip(records, orders, strict=True)}
        items = build_items(bench, records, orders, protocol)
        overrides: dict[str, Any] = options | {
            "protocol": protocol,
            "mode": cfg.mode,
            "seed": base_seed + trial,
            "votes": n_votes,
            "budget_forcing": n_rounds,
            "answer_order": cfg.answer_order,
        }
        trial_store = (
            None
            if store is None
            else NamespacedStore(store, f"bench:{bench.name}:{split}:{trial}:")
        )
        judge_items = [JudgeItem.from_dict(i, record=i["id"]) for i in items]
        results = judge.run(judge_items, store=trial_store, **overrides)
        for rec in records:
            if rec.error is not None:
                preds.append(Prediction(rec.id, trial, None, status="error", error=rec.error))
        for item, res in zip(items, results, strict=True):
            order = order_of[item["id"]]
            if res.status == "error" or not res.samples:
                preds.append(
                    Prediction(
                        item["id"], trial, None, tuple(order), "error", res.error or "no output"
                    )
                )
                continue
            s = res.samples[0]
            pred = Prediction(
                item["id"],
                trial,
                s.text,
                tuple(order),
                "ok",
                None,
                res.num_tokens if scaled else s.num_tokens,
                s.finish_reason,
                answer_order=cfg.answer_order,
            )
            if scaled:  # every vote and round is kept; the headline is the (K, R) point
                samples = samples_extra(res.samples)
                head = at_point(
                    replace(pred, extra={"samples": samples}),
                    len(samples),
                    n_rounds,
                    get_protocol(protocol),
                    cfg.mode,
                    agg,
                )
                pred = replace(head, extra={"samples": samples, "aggregation": asdict(agg)})
            preds.append(pred)
    pred_path = cfg.out / "predictions.jsonl"
    write_predictions(pred_path, preds)
    try:
        score = bench.evaluate(split, records, preds, cfg.mode)
    except InputError as exc:  # e.g. a statistic the reference cannot compute
        raise InputError(
            f"{exc}; the predictions are kept in {pred_path}: rescore them with "
            f"`flexjudge bench score {bench.name} --split {split} --predictions {pred_path} "
            "--mode clean`"
        ) from exc
    score.analyses = analyses(score, preds)
    meta = {
        "model": cfg.model,
        "backend": getattr(judge.backend, "name", cfg.backend),
        "protocol": protocol,
        "trials": trials,
        "limit": cfg.limit,
    }
    if cfg.answer_order != "reasoning-first":
        meta["answer_order"] = cfg.answer_order
    if scaled:
        from flexjudge.bench._scaling import sweep, write_scaling

        meta |= {"votes": n_votes, "budget_forcing": n_rounds}
        table = sweep(bench, split, records, preds, cfg.mode, protocol, agg)
        write_scaling(table, cfg.out, plots=cfg.plots, title=f"{bench.name}/{split}")
    write_report(score, cfg.out, meta, plots=cfg.plots)
    return score


def write_predictions(path: Path, preds: Sequence[Prediction]) -> None:
    """Atomic and durable, like every output (:func:`flexjudge._util.jsonl.write_jsonl`)."""
    write_jsonl(path, (p.to_dict() for p in preds))


def read_predictions(path: Path) -> list[Prediction]:
    """Our ``predictions.jsonl``.  A malformed line raises :class:`InputError` naming it."""
    from flexjudge.bench._io import read_records

    out = []
    for where, raw in read_records(path):
        if isinstance(raw, Exception):
            raise raw
        if not isinstance(raw, dict) or "id" not in raw:
            raise InputError("expected an object with 'id'", record=where, field="id")
        out.append(Prediction.from_dict(raw))
    return out


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Scoring allocates millions of small objects and no cycles; the cyclic collector
    would otherwise run hundreds of times and dominate the time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def score_file(
    benchmark: str,
    split: str | None,
    predictions: Path,
    fmt: str,
    mode: Mode,
    cfg: LoadConfig | None = None,
) -> BenchScore:
    """Score a predictions file of format ``fmt`` (``flexjudge`` needs ``cfg.data`` for the
    gold labels; the authors' formats carry or join them)."""
    with _gc_paused():
        return _score_file(benchmark, split, predictions, fmt, mode, cfg)


def _score_file(
    benchmark: str,
    split: str | None,
    predictions: Path,
    fmt: str,
    mode: Mode,
    cfg: LoadConfig | None,
) -> BenchScore:
    bench = get_benchmark(benchmark)
    split = bench.check_split(split)
    load_cfg = cfg or LoadConfig(split)
    if fmt == "flexjudge":
        protocol = get_protocol(bench.protocols[split])
        preds = [rescored(p, protocol, mode) for p in read_predictions(predictions)]
        have = {p.id for p in preds}
        records = [r for r in bench.load(load_cfg) if r.id in have]
    elif fmt in bench.formats:
        records, preds = bench.formats[fmt](predictions, split, load_cfg)
    else:
        known = ["flexjudge", *sorted(bench.formats)]
        raise InputError(f"{benchmark} reads formats {known}, not {fmt!r}", field="format")
    score = bench.evaluate(split, records, preds, mode)
    score.analyses = analyses(score, preds)
    if fmt != "flexjudge":
        score.notes.append(f"scored from a {fmt!r} file with that format's own verdict rule")
    return score
