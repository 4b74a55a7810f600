"""One streaming pass over the input and its generation files, in lockstep by position.

Holds, besides the bounded candidate pools, only a small per-prompt index (a 16-byte digest
and a few integers per distinct prompt) — never the text of rows not in a pool.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

from flexjudge.curate._agreement import Rejection, check_agreement
from flexjudge.curate._config import SelectConfig, TokenCounter
from flexjudge.curate._policy import first_answer_reasoning, split_trace
from flexjudge.curate._records import (
    CurateRecord,
    Generation,
    Problem,
    Span,
    iter_generations,
    iter_records,
)

_MAX_PROBLEMS = 200


@dataclass(frozen=True)
class Candidate:
    """A kept generation that is (for now) its prompt's longest trace."""

    digest: bytes
    line: int
    seed_order: int
    record: CurateRecord
    text: str
    tokens: int
    scores: tuple[int, int]
    a1_part: str | None
    a1_tokens: int
    answer_tokens: int


@dataclass
class ScanStats:
    """Counts of one pass (reported in the dataset card)."""

    rows: int = 0
    generations: int = 0
    kept: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    rejected_by_file: list[Counter[str]] = field(default_factory=list)
    kept_by_file: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    problem_count: int = 0
    extra_generation_lines: int = 0
    prompts: int = 0
    winners_by_file: list[int] = field(default_factory=list)
    no_final_format: int = 0
    single_eligible: int = 0
    pair_eligible: int = 0

    def problem(self, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(text)


class TopK:
    """The ``k`` best (largest key) entries, one per digest, with removal by digest."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.heap: list[tuple[tuple[int, ...], bytes, Candidate]] = []
        self.evicted = False

    def offer(self, key: tuple[int, ...], cand: Candidate) -> None:
        if self.k == 0:
            self.evicted = True
            return
        entry = (key, cand.digest, cand)
        if len(self.heap) < self.k:
            heapq.heappush(self.heap, entry)
        elif entry[:2] > self.heap[0][:2]:
            heapq.heapreplace(self.heap, entry)
            self.evicted = True
        else:
            self.evicted = True

    def accepts(self, key: tuple[int, ...]) -> bool:
        """Whether an entry with ``key`` would enter now (keys are unique per row)."""
        ok = self.k > 0 and (len(self.heap) < self.k or key > self.heap[0][0])
        self.evicted = self.evicted or not ok  # something was turned away
        return ok

    def remove(self, digest: bytes) -> bool:
        """Drop ``digest``'s entry; True when one was there."""
        for i, entry in enumerate(self.heap):
            if entry[1] == digest:
                self.heap[i] = self.heap[-1]
                self.heap.pop()
                heapq.heapify(self.heap)
                return True
        return False

    def best_first(self) -> list[Candidate]:
        return [c for _, _, c in sorted(self.heap, key=lambda e: e[:2], reverse=True)]


def preference(cfg: SelectConfig, tokens: int, line: int, order: int) -> int:
    """The first element of every rank and pool key (larger wins) under ``cfg.selection``:
    the token count (``longest``), its negation (``shortest``) or a ``seed``-ed hash of the
    generation's row and file (``random``)."""
    if cfg.selection == "longest":
        return tokens
    if cfg.selection == "shortest":
        return -tokens
    h = hashlib.blake2b(f"{cfg.seed}:{line}:{order}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") >> 1


def single_key(c: Candidate, cfg: SelectConfig) -> tuple[int, ...]:
    """Longest (per ``cfg.selection``) Assistant-1 reasoning first; ties: earlier row, then
    earlier seed file."""
    return (preference(cfg, c.a1_tokens, c.line, c.seed_order), -c.line, -c.seed_order)


def pair_key(c: Candidate, cfg: SelectConfig) -> tuple[int, ...]:
    """Longest (per ``cfg.selection``) trace first; ties: earlier row, then earlier seed file."""
    return (preference(cfg, c.tokens, c.line, c.seed_order), -c.line, -c.seed_order)


@dataclass
class Pools:
    single: TopK
    pair: TopK


def _digest(prompt: str) -> bytes:
    # grouping only, in memory (never stored): sha1 is the fastest hashlib digest here
    return hashlib.sha1(prompt.encode(), usedforsecurity=False).digest()


Rank = tuple[int, int, int]  # (tokens, -seed order, -row index) of a prompt's winner
Flags = tuple[int, bool, bool, bool]  # winner's seed order, final format, single, pair ok


@dataclass
class ScanPart:
    """What one pass over (a span of) the files found; parts of one run merge exactly
    (:func:`flexjudge.curate._shard.merge_parts`)."""

    stats: ScanStats
    pools: Pools
    best: dict[bytes, Rank]  # prompt digest -> its winner's rank
    flags: dict[bytes, Flags]  # prompt digest -> what its winner was eligible for
    inexact: bool


def candidate_rank(c: Candidate, cfg: SelectConfig) -> Rank:
    return (preference(cfg, c.tokens, c.line, c.seed_order), -c.seed_order, -c.line)


def _lockstep(
    input_path: Path, generation_paths: Sequence[Path], cfg: SelectConfig, span: Span | None
) -> Iterator[tuple[Any, ...]]:
    streams = [iter_records(input_path, cfg.input_format, span)]
    streams += [iter_generations(p, span) for p in generation_paths]  # type: ignore[misc]
    return zip_longest(*streams)


def scan(
    input_path: Path,
    generation_paths: Sequence[Path],
    cfg: SelectConfig,
    counter: TokenCounter,
    final_best: dict[bytes, Rank] | None = None,
) -> tuple[ScanStats, Pools, dict[bytes, Rank], bool]:
    """Filter, group and pool every generation; see :func:`flexjudge.curate.select`.

    ``best`` maps a prompt digest to ``(tokens, -seed_order, -line)`` of its winner.  With
    ``final_best`` (a second pass) only those winners enter the pools.  The returned flag
    says whether a later, longer duplicate displaced a pooled entry after the pool had
    already turned candidates away — then the pools are inexact and a second pass runs.
    """
    part = scan_part(input_path, generation_paths, cfg, counter, final_best)
    finish_stats(part.stats, part.best, part.flags)
    return part.stats, part.pools, part.best, part.inexact


def finish_stats(stats: ScanStats, best: dict[bytes, Rank], flags: dict[bytes, Flags]) -> None:
    """Fill the per-prompt counts of ``stats`` from the winners' ``flags``."""
    stats.prompts = len(best)
    for order, fmt_ok, single_ok, pair_ok in flags.values():
        stats.winners_by_file[order] += 1
        stats.no_final_format += not fmt_ok
        stats.single_eligible += single_ok
        stats.pair_eligible += pair_ok


def scan_part(
    input_path: Path,
    generation_paths: Sequence[Path],
    cfg: SelectConfig,
    counter: TokenCounter,
    final_best: dict[bytes, Rank] | None = None,
    span: Span | None = None,
) -> ScanPart:
    """:func:`scan` over the rows of ``span`` (all rows by default), per-prompt counts
    left to :func:`finish_stats`."""
    stats = ScanStats(
        rejected_by_file=[Counter() for _ in generation_paths],
        kept_by_file=[0] * len(generation_paths),
        winners_by_file=[0] * len(generation_paths),
    )
    pools = Pools(TopK(cfg.n_single), TopK(cfg.n_single + cfg.n_pair))
    best: dict[bytes, Rank] = {}
    flags: dict[bytes, Flags] = {}
    inexact = False
    for row in _lockstep(input_path, generation_paths, cfg, span):
        record, gens = row[0], row[1:]
        if cfg.limit is not None and stats.rows >= cfg.limit:
            break
        if record is None:  # generation files longer than the input
            stats.extra_generation_lines += sum(g is not None for g in gens)
            continue
        stats.rows += 1
        if isinstance(record, Problem):
            stats.problem(str(record))
        line_best: dict[str, tuple[tuple[int, int], int, Generation, tuple[int, int]]] = {}
        for order, gen in enumerate(gens):
            stats.generations += 1
            reason = _reject(record, gen, cfg, stats)
            if reason is None:
                assert isinstance(gen, Generation) and isinstance(record, CurateRecord)
                scores, reason = check_agreement(gen.text, record, cfg.agreement)
            if reason is not None:
                stats.rejected[reason] += 1
                stats.rejected_by_file[order][reason] += 1
                continue
            assert isinstance(gen, Generation) and scores is not None
            stats.kept += 1
            stats.kept_by_file[order] += 1
            # aligned files share the row's prompt: settle the row's winner first, so only
            # duplicates across rows ever displace a pooled candidate
            assert isinstance(record, CurateRecord)
            rank2 = (preference(cfg, gen.num_tokens, record.index, order), -order)
            held = line_best.get(gen.prompt)
            if held is None or rank2 > held[0]:
                line_best[gen.prompt] = (rank2, order, gen, scores)
        for prompt, (_, order, gen, scores) in line_best.items():
            assert isinstance(record, CurateRecord)
            digest = _digest(prompt)
            rank = (preference(cfg, gen.num_tokens, record.index, order), -order, -record.index)
            if final_best is not None:
                if final_best[digest] == rank:
                    _consider(pools, digest, order, record, gen, scores, counter, cfg)
                continue
            old = best.get(digest)
            if old is not None and old >= rank:
                continue
            best[digest] = rank
            if old is not None:
                for pool in (pools.single, pools.pair):
                    if pool.remove(digest) and pool.evicted:
                        inexact = True
            usable, single_ok, pair_ok = _consider(
                pools, digest, order, record, gen, scores, counter, cfg
            )
            flags[digest] = (order, usable, single_ok, pair_ok)
    return ScanPart(stats, pools, best, flags, inexact)


def _reject(
    record: CurateRecord | Problem,
    gen: Generation | Problem | None,
    cfg: SelectConfig,
    stats: ScanStats,
) -> Rejection | None:
    if gen is None:
        return Rejection.MISSING
    if isinstance(record, Problem):
        return Rejection.BAD_INPUT
    if isinstance(gen, Problem):
        stats.problem(str(gen))
        return Rejection.MALFORMED
    if cfg.check_alignment and record.question not in gen.prompt:
        stats.problem(
            f"row {record.index} (id {record.record_id}): the generation's prompt does not "
            "contain the row's question"
        )
        return Rejection.MISALIGNED
    return None


def _consider(
    pools: Pools,
    digest: bytes,
    order: int,
    record: CurateRecord,
    gen: Generation,
    scores: tuple[int, int],
    counter: TokenCounter,
    cfg: SelectConfig,
) -> tuple[bool, bool, bool]:
    """Offer a prompt's winner to the pools; returns (usable, single_ok, pair_ok).

    Features are computed only when the candidate could still enter a pool: its pairwise
    key is known up front, and its Assistant-1 part has at most the whole trace's tokens
    (without a tokenizer), so a trace that cannot beat a full pool's minimum is never cut;
    the cut itself stops once the part's end bounds it below that minimum.
    Hence ``single_ok``/``pair_ok`` are False for skipped traces (the card says "at least").
    """
    trace = split_trace(gen.text)
    if trace is None or len(trace.scores) != 2 or not all(1 <= s <= 10 for s in trace.scores):
        return False, False, False
    line = record.index
    # the token bounds below prune only when longer wins; other selections see every trace
    pruned = cfg.selection == "longest"
    pair_rank = (gen.num_tokens, -line, -order)
    answers = -1
    if not pruned or pools.pair.accepts(pair_rank):
        answers = counter.text(record.answer1) + counter.text(record.answer2)
    upper = (gen.num_tokens, -line, -order)
    part: str | None = None
    a1_tokens = 0
    if counter.exact or not pruned:
        part = first_answer_reasoning(trace.reasoning)
    elif pools.single.accepts(upper):
        # once the part's end is bounded (it ends before the first mention of the second
        # answer), its pro-rata count is too: stop there when that cannot enter the pool
        def keep_going(end: int) -> bool:
            bound = round(gen.num_tokens * end / len(gen.text))
            return pools.single.accepts((bound, -line, -order))

        part = first_answer_reasoning(trace.reasoning, keep_going)
    if part is not None:
        a1_tokens = counter.part(part, gen.text, gen.num_tokens)
    cand = Candidate(
        digest, line, order, record, gen.text, gen.num_tokens, scores, part, a1_tokens, answers
    )
    single_ok = part is not None and a1_tokens > cfg.single_min_tokens
    pair_ok = answers > cfg.pair_min_answer_tokens
    if single_ok:
        pools.single.offer(single_key(cand, cfg), cand)
    if pair_ok:
        pools.pair.offer(pair_key(cand, cfg), cand)
    return True, single_ok, pair_ok
