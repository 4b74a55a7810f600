"""Shared loading and scoring of the audio benchmarks (spec §8): NISQA, BVCC, SOMOS, VoxSim.

Metrics as ``audio_eval``: utterance level LCC (Pearson), SRCC (Spearman), MSE per test set
and combined; system level (BVCC, SOMOS) on per-system mean predictions against the system
ground-truth CSV (``--gold``; without it the mean of the utterance ground truths).
``reference`` mode: ground truth rounded to one decimal (not VoxSim) and unparsable outputs
replaced by the script's fallback (3.0 NISQA/SOMOS, 0.0 BVCC after its regex cascade, 3.5
VoxSim; Q17), kept in every metric.  ``clean``: unrounded ground truth; unparsable outputs
are counted as parse failures and score the midpoint of the protocol's scale (3.0), so they
are never dropped from a correlation.  Missing audio files are error rows with their own path (the
reference's misaligned metadata, Q11, is not reproduced).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from flexjudge.bench._core import (
    BenchRecord,
    BenchScore,
    Prediction,
    ScoredRow,
    clean_fallback,
    correlation_ci,
    correlation_metrics,
    count_rows,
    judged_value,
    per_trial_correlation,
    scored_categories,
)
from flexjudge.bench._io import LoadConfig, parse_number, read_lines
from flexjudge.bench._trials import scorable_trials, value_row
from flexjudge.errors import InputError
from flexjudge.protocol import Mode, get_protocol


def find_dir(start: Path, name: str, levels: int = 4) -> Path:
    """The first ``name`` folder in ``start`` or one of its parents; ``start`` otherwise."""
    for base in [start, *list(start.parents)[:levels]]:
        if (base / name).is_dir():
            return base / name
    return start


def mos_list(
    path: Path, root: Path, *, skip_header: bool, system_of: Callable[[str], str]
) -> list[BenchRecord]:
    """``wav,score`` lines split at the first comma (BVCC/SOMOS lists)."""
    out: list[BenchRecord] = []
    for where, line in read_lines(path, skip_header=skip_header):
        wav, sep, score = line.partition(",")
        try:
            if not sep:
                raise InputError("expected 'wav,score'", record=where, field="score")
            gold = parse_number(score, where, "score")
            out.append(
                BenchRecord(
                    wav.strip(),
                    gold,
                    {"set": path.stem},
                    audios=[str(root / wav.strip())],
                    meta={"system": system_of(wav.strip())},
                )
            )
        except InputError as exc:
            out.append(BenchRecord(where, None, error=str(exc)))
    return out


def system_table(path: Path) -> dict[str, float]:
    """``system_id,mean`` CSV (first line skipped), as ``audio_eval``'s system mode."""
    table: dict[str, float] = {}
    for where, line in read_lines(path, skip_header=True):
        if "," not in line:
            continue
        sid, _, mean = line.partition(",")
        try:
            table[sid.strip()] = float(mean.split(",")[0])
        except ValueError:
            raise InputError(
                f"system mean {mean!r} is not a number", record=where, field="mean"
            ) from None
    return table


def load_system_mos(
    cfg: LoadConfig,
    *,
    benchmark: str,
    audio_dir: str,
    skip_header: bool,
    system_of: Callable[[str], str],
) -> list[BenchRecord]:
    """A ``wav,score`` MOS list (BVCC, SOMOS) with per-system ground truth from ``--gold``.

    Audio is read from ``--media-root`` or the nearest ``audio_dir`` folder.  Raises
    :class:`InputError` when ``--data`` is missing.
    """
    if cfg.data is None:
        raise InputError(f"{benchmark} is read from local files; pass --data", field="data")
    root = cfg.media_root or find_dir(cfg.data.parent, audio_dir)
    records = mos_list(cfg.data, root, skip_header=skip_header, system_of=system_of)
    if cfg.gold is not None:
        table = system_table(cfg.gold)
        for r in records:
            if r.meta.get("system") in table:
                r.meta["system_gt"] = table[r.meta["system"]]
    return records[: cfg.limit] if cfg.limit is not None else records


def evaluate_audio(
    name: str,
    split: str,
    records: Sequence[BenchRecord],
    preds: Sequence[Prediction],
    mode: Mode,
    *,
    protocol: str,
    fallback: float,
    round_gt: bool,
    system_level: bool,
) -> BenchScore:
    proto = get_protocol(protocol)
    rows: list[ScoredRow] = []
    for rec, t, p, text in scorable_trials(records, preds, rows):
        v = p.parse(proto, mode)
        value: float | None = v.scores[0] if v.ok and v.scores else None
        failed = value is None
        if failed and mode == "reference":
            value = fallback
        gold = float(rec.gold)
        human = round(gold, 1) if (round_gt and mode == "reference") else gold
        rows.append(value_row(rec, t, value, failed, text, human))
    # reference: failures already hold the script's fallback; clean: the scale midpoint
    impute = clean_fallback(protocol) if mode == "clean" else None
    by_set: dict[str, dict[str, float]] = {}
    for s in scored_categories(rows, "set"):
        by_set[s] = per_trial_correlation(
            [r for r in rows if r.categories.get("set", "all") == s], impute
        )
        if mode == "reference" and by_set[s]["n"] == 1:  # scipy's pearsonr raises there
            raise InputError(
                f"reference mode: test set {s!r} has 1 scored row; "
                "audio_eval's pearsonr raises here (clean mode reports it as undefined)",
                field="set",
            )
    combined = per_trial_correlation(rows, impute)
    metrics = {"lcc": combined["pearson"], "srcc": combined["spearman"], "mse": combined["mse"]}
    by_cat = {
        "utterance (per set)": {
            k: {"lcc": m["pearson"], "srcc": m["spearman"], "mse": m["mse"], "n": m["n"]}
            for k, m in by_set.items()
        }
    }
    notes: list[str] = []
    if system_level:
        sys_metrics = _system_level(records, rows, impute)
        if sys_metrics:
            metrics.update({f"system_{k}": v for k, v in sys_metrics.items() if k != "n"})
            by_cat["system"] = {"all": sys_metrics}
        else:
            notes.append("system level needs >= 2 systems with predictions")
    quirks = []
    if impute is not None and any(r.failed for r in rows):
        notes.append(f"parse failures score the scale midpoint {impute:g} (clean fallback)")
    if mode == "reference":
        quirks.append(f"Q17: unparsable outputs score {fallback} and stay in every metric")
        if round_gt:
            quirks.append("ground truth rounded to one decimal (Q10)")
        quirks.append("Q10 audio amplitude path is a property of the backend's audio loading")
        quirks.append(
            "Q11 not reproduced: a missing audio file is an error row under its own "
            "id instead of shifting the metadata of later rows"
        )
    ci = correlation_ci(rows, fallback=impute)
    return BenchScore(
        name,
        split,
        mode,
        metrics,
        {"lcc": ci["pearson"], "srcc": ci["spearman"]},
        by_cat,
        count_rows(rows, len(records)),
        quirks,
        notes,
        rows=rows,
        kind="correlation",
    )


def _system_level(
    records: Sequence[BenchRecord], rows: Sequence[ScoredRow], fallback: float | None
) -> dict[str, float]:
    system_of = {r.id: r.meta.get("system") for r in records}
    gt_table: dict[str, float] = {}
    gts: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if r.meta.get("system_gt") is not None:
            gt_table[str(r.meta["system"])] = float(r.meta["system_gt"])
        elif r.meta.get("system") is not None and r.gold is not None:
            gts[str(r.meta["system"])].append(float(r.gold))
    preds: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        sid = system_of.get(row.id)
        value = judged_value(row, fallback)
        if value is not None and sid is not None:
            preds[str(sid)].append(value)
    systems = sorted(s for s in preds if s in gt_table or s in gts)
    if len(systems) < 2:
        return {}
    pred = [sum(preds[s]) / len(preds[s]) for s in systems]
    gold = [gt_table[s] if s in gt_table else sum(gts[s]) / len(gts[s]) for s in systems]
    m = correlation_metrics(pred, gold)
    return {"lcc": m["pearson"], "srcc": m["spearman"], "mse": m["mse"], "n": float(len(systems))}


def nan_safe(x: float) -> float:
    return 0.0 if math.isnan(x) else x
