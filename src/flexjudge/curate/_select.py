"""``select``: agreement filter, longest trace per prompt, and the final 500 + 500 policy."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from flexjudge._util.gc import paused_gc
from flexjudge.curate._config import SelectConfig, TokenCounter
from flexjudge.curate._policy import (
    answer_first,
    pair_prompt,
    pair_text,
    rename_first_assistant,
    rescale_10_to_5,
    rescale_reasoning,
    single_prompt,
    single_text,
    split_trace,
)
from flexjudge.curate._report import Sample, SelectReport
from flexjudge.curate._scan import Candidate, Pools, ScanStats, scan
from flexjudge.curate._shard import choose_processes, scan_sharded
from flexjudge.errors import InputError


def find_generation_files(gen_dir: str | Path) -> list[Path]:
    """``*.jsonl`` files of a generation folder in seed order (numeric seed, then name).

    The seed is the second ``_``-separated field of ``{prefix}_{seed}_{temperature}.jsonl``;
    files without a numeric seed sort after, by name.  Raises :class:`InputError` when the
    folder holds none.
    """
    folder = Path(gen_dir)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder", field="generations")

    def order(p: Path) -> tuple[int, int, str]:
        parts = p.stem.split("_")
        seed = parts[-2] if len(parts) >= 3 else ""
        return (0, int(seed), p.name) if seed.isdigit() else (1, 0, p.name)

    files = sorted(folder.glob("*.jsonl"), key=order)
    if not files:
        raise InputError(f"no *.jsonl generation files in {folder}", field="generations")
    return files


def select(
    input_path: str | Path,
    generation_paths: Sequence[str | Path],
    config: SelectConfig | None = None,
) -> SelectReport:
    """Select training samples from teacher generations aligned by position with the input.

    Steps (see ``docs/curation.md``): the agreement filter with rejection reasons; per
    prompt the longest trace (ties → earlier seed file, then earlier row); then the final
    policy: ``n_single`` single-score samples cut from pairwise traces, ``n_pair`` pairwise
    samples from other prompts, and a seeded ``rescale_fraction`` of each moved to 1–5.
    Fewer candidates than requested → all are taken and the shortfall is reported.

    Failures: a missing input or generation file raises :class:`InputError`; bad lines are
    counted and listed in ``report.stats.problems`` (first 200), never raised.
    """
    cfg = config or SelectConfig()
    if not generation_paths:
        raise InputError("give at least one generation file", field="generations")
    inp = Path(input_path)
    gens = [Path(p) for p in generation_paths]
    for p in [inp, *gens]:
        if not p.is_file():
            raise InputError(f"{p} does not exist or is not a file", field="path")
    if cfg.mode == "reference":
        return _select_reference(inp, gens, cfg)
    counter = TokenCounter(cfg.tokenizer)
    with paused_gc():
        stats, pools, inexact = _scan_all(inp, gens, cfg, counter)
    singles = pools.single.best_first()[: cfg.n_single]
    used = {c.digest for c in singles}
    pairs = [c for c in pools.pair.best_first() if c.digest not in used][: cfg.n_pair]
    rng_single = random.Random(f"{cfg.seed}:single")
    rng_pair = random.Random(f"{cfg.seed}:pair")
    to5_single = set(
        rng_single.sample(range(len(singles)), int(len(singles) * cfg.rescale_fraction))
    )
    to5_pair = set(rng_pair.sample(range(len(pairs)), int(len(pairs) * cfg.rescale_fraction)))
    samples = [_single_sample(c, 5 if i in to5_single else 10, cfg) for i, c in enumerate(singles)]
    samples += [_pair_sample(c, 5 if i in to5_pair else 10, cfg) for i, c in enumerate(pairs)]
    if cfg.order == "answer-first":
        samples = [_answer_first(s) for s in samples]
    requested = {"single": cfg.n_single, "pair": cfg.n_pair}
    shortfall = {"single": cfg.n_single - len(singles), "pair": cfg.n_pair - len(pairs)}
    return SelectReport(
        stats,
        samples,
        requested,
        shortfall,
        inexact,
        token_counting=counter.description,
        input_path=str(inp),
        generation_paths=tuple(str(g) for g in gens),
        config=cfg,
    )


def _select_reference(inp: Path, gens: list[Path], cfg: SelectConfig) -> SelectReport:
    """``--mode reference``: lrm_process.py's output (see :mod:`flexjudge.curate._reference`).
    Each row is the generation's own prompt and text; the teacher prompt's two turns feed
    the chat-messages file."""
    from flexjudge.curate._reference import scan_reference

    with paused_gc():
        stats, winners = scan_reference(inp, gens, cfg)
    samples = []
    for w in winners:
        r = w.record
        turns = pair_prompt(r.question, r.answer1, r.answer2, 10)
        samples.append(
            Sample(
                w.generation.prompt,
                w.generation.text,
                turns.system,
                turns.user,
                "pair",
                10,
                w.scores,
                r.index,
                r.record_id,
                w.order,
                w.generation.num_tokens,
            )
        )
    return SelectReport(
        stats,
        samples,
        {"reference": len(samples)},
        {},
        False,
        token_counting="teacher token ids (len(tokens)), as lrm_process.py",
        input_path=str(inp),
        generation_paths=tuple(str(g) for g in gens),
        config=cfg,
    )


def _scan_all(
    inp: Path, gens: list[Path], cfg: SelectConfig, counter: TokenCounter
) -> tuple[ScanStats, Pools, bool]:
    """Scan (on several processes when worth it); a second pass when the first was inexact."""
    processes = choose_processes(cfg, [inp, *gens])
    if processes > 1:
        part = scan_sharded(inp, gens, cfg, counter, processes)
        stats, pools, best, inexact = part.stats, part.pools, part.best, part.inexact
        if inexact:
            pools = scan_sharded(inp, gens, cfg, counter, processes, final_best=best).pools
    else:
        stats, pools, best, inexact = scan(inp, gens, cfg, counter)
        if inexact:
            _, pools, _, _ = scan(inp, gens, cfg, counter, final_best=best)
    return stats, pools, inexact


def _answer_first(s: Sample) -> Sample:
    prompt, text = answer_first(s.prompt, s.text)
    return replace(s, prompt=prompt, text=text, assistant_prefix="")


def _single_sample(c: Candidate, scale: int, cfg: SelectConfig) -> Sample:
    trace = split_trace(c.text)
    assert trace is not None and c.a1_part is not None
    part = rename_first_assistant(c.a1_part) if cfg.rename_assistant else c.a1_part
    score: float = trace.scores[0]
    if scale == 5:
        part = rescale_reasoning(part, cfg.rescale)
        score = rescale_10_to_5(trace.scores[0], cfg.rescale)
    prompt = single_prompt(c.record.question, c.record.answer1, scale)
    text = single_text(part, score, trace)
    return Sample(
        prompt.text,
        text,
        prompt.system,
        prompt.user,
        "single",
        scale,
        (score,),
        c.line,
        c.record.record_id,
        c.seed_order,
        c.a1_tokens,
    )


def _pair_sample(c: Candidate, scale: int, cfg: SelectConfig) -> Sample:
    trace = split_trace(c.text)
    assert trace is not None
    r = c.record
    prompt = pair_prompt(r.question, r.answer1, r.answer2, scale)
    scores: tuple[float, float]
    if scale == 10:
        text, scores = c.text, (trace.scores[0], trace.scores[1])
    else:
        scores = (
            rescale_10_to_5(trace.scores[0], cfg.rescale),
            rescale_10_to_5(trace.scores[1], cfg.rescale),
        )
        reasoning = rescale_reasoning(trace.reasoning, cfg.rescale)
        rescaled = type(trace)(reasoning, trace.after, trace.scores)
        text = pair_text(rescaled, scores)
    return Sample(
        prompt.text,
        text,
        prompt.system,
        prompt.user,
        "pair",
        scale,
        scores,
        c.line,
        r.record_id,
        c.seed_order,
        c.tokens,
    )


def write_outputs(
    report: SelectReport, out_path: str | Path, *, command: str | None = None, plot: bool = True
) -> dict[str, str]:
    """Write ``train.jsonl`` (reference ``prompt``/``text``), ``train.messages.jsonl``
    (chat ``messages`` for TRL), ``train.meta.jsonl`` (provenance, same order) and the dataset
    card ``train.card.md`` (+ ``train.lengths.png`` when ``plot`` and matplotlib is there).
    The card shows ``command``, by default the equivalent ``flexjudge curate select`` line.
    Raises :class:`OSError` when the folder is not writable."""
    from flexjudge.curate._card import write_card

    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    stem = out.name.removesuffix(".jsonl")
    paths = {
        "train": out,
        "messages": out.with_name(f"{stem}.messages.jsonl"),
        "meta": out.with_name(f"{stem}.meta.jsonl"),
    }
    rows = {
        "train": [s.reference_row() for s in report.samples],
        "messages": [s.messages_row() for s in report.samples],
        "meta": [s.meta_row() for s in report.samples],
    }
    ascii_only = report.config.mode == "reference"  # the reference's json.dumps defaults
    for key, path in paths.items():
        with path.open("w", encoding="utf-8") as handle:
            for row in rows[key]:
                handle.write(json.dumps(row, ensure_ascii=ascii_only) + "\n")
    written = {k: str(v) for k, v in paths.items()}
    cmd = command if command is not None else report.equivalent_command(out)
    written.update(write_card(report, out.with_name(f"{stem}.card.md"), cmd, plot=plot))
    report.outputs = written
    return written
