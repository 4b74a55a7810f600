"""``select --mode reference``: exactly what ``utils/lrm_process.py`` keeps (spec §5).

Every generation whose first two ``<answer>(\\d+)</answer>`` integers equal the reference
scores is kept, with nothing else required (no ``</think>``, no tag count, no scale check,
no prompt/row alignment check: those are the clean policy's requirements).  Kept generations
are grouped by their exact ``prompt`` string; each prompt's output is its candidate with the
most generated tokens (ties: the earliest, i.e. the earlier seed file, then the earlier
row), and prompts are written in the order the reference's dict first saw them: prompts
kept in the first generation file in row order, then new ones from the next file, and so on.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from flexjudge.curate._agreement import check_agreement
from flexjudge.curate._config import SelectConfig
from flexjudge.curate._records import CurateRecord, Generation, Problem
from flexjudge.curate._scan import ScanStats, _digest, _lockstep, _reject


@dataclass
class Winner:
    """A prompt's output so far: its longest kept generation and where the prompt was first
    kept."""

    rank: tuple[int, int, int]  # (tokens, -seed order, -row): the reference's longest, stable
    first_seen: tuple[int, int]  # (seed order, row) of the prompt's first kept generation
    record: CurateRecord
    generation: Generation
    order: int
    scores: tuple[int, int]


def scan_reference(
    input_path: Path, generation_paths: list[Path], cfg: SelectConfig
) -> tuple[ScanStats, list[Winner]]:
    """One pass; returns the counts and the winners in first-seen prompt order."""
    stats = ScanStats(
        rejected_by_file=[Counter() for _ in generation_paths],
        kept_by_file=[0] * len(generation_paths),
        winners_by_file=[0] * len(generation_paths),
    )
    no_alignment = replace(cfg, check_alignment=False)
    winners: dict[bytes, Winner] = {}
    for row in _lockstep(input_path, generation_paths, cfg, None):
        record, gens = row[0], row[1:]
        if cfg.limit is not None and stats.rows >= cfg.limit:
            break
        if record is None:
            stats.extra_generation_lines += sum(g is not None for g in gens)
            continue
        stats.rows += 1
        if isinstance(record, Problem):
            stats.problem(str(record))
        for order, gen in enumerate(gens):
            stats.generations += 1
            reason = _reject(record, gen, no_alignment, stats)
            scores = None
            if reason is None:
                assert isinstance(gen, Generation) and isinstance(record, CurateRecord)
                scores, reason = check_agreement(gen.text, record, "exact")
            if reason is not None:
                stats.rejected[reason] += 1
                stats.rejected_by_file[order][reason] += 1
                continue
            assert isinstance(gen, Generation) and isinstance(record, CurateRecord)
            assert scores is not None
            stats.kept += 1
            stats.kept_by_file[order] += 1
            if cfg.check_alignment and record.question not in gen.prompt:
                stats.problem(  # kept, as the reference (it aligns by line index only)
                    f"row {record.index} (id {record.record_id}): the generation's prompt "
                    "does not contain the row's question (kept: reference mode)"
                )
            digest = _digest(gen.prompt)
            rank = (gen.num_tokens, -order, -record.index)
            seen = (order, record.index)
            held = winners.get(digest)
            if held is None:
                winners[digest] = Winner(rank, seen, record, gen, order, scores)
            else:
                held.first_seen = min(held.first_seen, seen)
                if rank > held.rank:
                    held.rank, held.record, held.generation = rank, record, gen
                    held.order, held.scores = order, scores
    ordered = sorted(winners.values(), key=lambda w: w.first_seen)
    stats.prompts = len(ordered)
    for w in ordered:
        stats.winners_by_file[w.order] += 1
    return stats, ordered
