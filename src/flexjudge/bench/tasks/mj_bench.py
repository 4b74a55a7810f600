"""MJ-Bench (spec §7.3): two images per caption, 1–10 each.  Trial 0 shows ``image0`` first,
every later trial shows ``image1`` first.

Reference mode flips the prediction back only for trial 1; trials ≥ 2 keep the positional
prediction (quirk Q9), and unparsable outputs become the tie ``2`` (Q17).  Metrics follow
MJ-Bench: ``accuracy`` ("with tie": a tie or failed prediction is wrong) and
``accuracy_no_tie`` (rows predicted as ties left out); rows whose human label is a tie are
left out of both (their count is in the notes).  Breakdowns per ``perspective``, ``subset``
(file / HF subset) and ``source``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flexjudge.bench._core import BenchRecord, BenchScore, Prediction
from flexjudge.bench._formats import media_cell
from flexjudge.bench._io import LoadConfig, hf_rows, need, read_records
from flexjudge.bench._pairs import preference_score, score_rows
from flexjudge.bench._registry import Benchmark, register_benchmark
from flexjudge.errors import InputError
from flexjudge.protocol import Mode

HF_ID = "MJ-Bench/MJ-Bench"
SPLITS = ("alignment", "safety", "quality")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_BLUR = (("motion_blur_image", "motion"), ("defocused_blur_image", "defocused"))


def _subset(path: Path) -> str:
    stem = path.stem
    for affix in ("_test", "captions_"):
        stem = stem.replace(affix, "")
    return stem


def _media(root: Path, name: str) -> str:
    for cand in (root / name, root / "images" / name):
        if cand.exists():
            return str(cand)
    return str(root / name)


def load(cfg: LoadConfig) -> list[BenchRecord]:
    """``--data``: one MJ-Bench JSON file or a folder of them (the GitHub release: alignment
    ``*_test.json`` with ``image0``/``image1``/``label``; quality ``captions_*.json`` with
    ``image_0``/``image_1`` or the blur file's ``sharp_image`` + two blurred images, and
    ``label_0``), or the HF release's parquet files (one per subset, ``image0``/``image1`` as
    ``{bytes, path}``).  Without ``--data`` the HF split named like the perspective."""
    out: list[BenchRecord] = []
    if cfg.data is None:
        for where, raw in hf_rows(HF_ID, cfg.split):
            out.extend(_records(raw, where, None, cfg.split, cfg.split, len(out)))
            if cfg.limit is not None and len(out) >= cfg.limit:
                return out[: cfg.limit]
        return out
    files = [cfg.data]
    if cfg.data.is_dir():
        files = sorted(cfg.data.glob("*.json")) or sorted(cfg.data.glob("**/*.parquet"))
        if not files:
            raise InputError(f"no MJ-Bench *.json or *.parquet files in {cfg.data}", field="data")
    for path in files:
        root = cfg.media_root or path.parent
        for pos, (where, raw) in enumerate(read_records(path)):
            out.extend(_records(raw, where, root, cfg.split, _subset(path), pos, cfg.media_root))
            if cfg.limit is not None and len(out) >= cfg.limit:
                return out[: cfg.limit]
    return out


def _records(
    raw: Any,
    where: str,
    root: Path | None,
    split: str,
    subset: str,
    pos: int,
    media_root: Path | None = None,
) -> list[BenchRecord]:
    cats = {"perspective": split, "subset": subset}
    rid = f"{subset}/{raw.get('id', pos)}" if isinstance(raw, dict) else f"{subset}/{pos}"
    try:
        if isinstance(raw, Exception):
            raise raw
        caption = need(raw, "caption", where, str)
        if isinstance(raw, dict) and "source" in raw:
            cats["source"] = str(raw["source"])
        pairs: list[tuple[str, str, str, str]] = []  # (id, field a, field b, gold)
        if "sharp_image" in raw:
            gold = _label0(raw, where)
            for key, name in _BLUR:
                if key in raw:
                    pairs.append((f"{rid}/{name}", "sharp_image", key, gold))
        elif "image_0" in raw:
            need(raw, "image_1", where)
            pairs.append((rid, "image_0", "image_1", _label0(raw, where)))
        else:
            label = need(raw, "label", where, int, str)
            found = {"0": "A", "1": "B", "tie": "tie", "0.5": "tie"}.get(str(label).strip())
            if found is None:
                raise InputError(
                    f"expected 0, 1 or 'tie', got {label!r}", record=where, field="label"
                )
            need(raw, "image0", where)
            need(raw, "image1", where)
            pairs.append((rid, "image0", "image1", found))
        out = []
        for pid, key_a, key_b, gold in pairs:
            images = [
                media_cell(
                    raw[k], root=root, media_root=media_root, where=where, field=k, resolve=_media
                )
                for k in (key_a, key_b)
            ]
            out.append(BenchRecord(pid, gold, dict(cats), caption, [], images=images))
        return out
    except InputError as exc:
        return [BenchRecord(rid, None, cats, error=str(exc))]


def _label0(raw: Any, where: str) -> str:
    value = need(raw, "label_0", where, int, float)
    gold = {1.0: "A", 0.0: "B", 0.5: "tie"}.get(float(value))
    if gold is None:
        raise InputError(f"expected 1, 0 or 0.5, got {value!r}", record=where, field="label_0")
    return gold


def orders(records: Sequence[BenchRecord], trial: int, mode: str) -> list[tuple[int, ...]]:
    return [(0, 1) if trial == 0 else (1, 0) for _ in records]


def _flip_back(trial: int, mode: Mode) -> bool:
    return mode == "clean" or trial <= 1


def evaluate(
    split: str, records: Sequence[BenchRecord], preds: Sequence[Prediction], mode: Mode
) -> BenchScore:
    rows = score_rows(records, preds, mode, f"mj-bench/{split}", flip_back=_flip_back)
    quirks: list[str] = []
    if mode == "reference":
        quirks.append("Q17: unparsable outputs become the tie 2")
        if any(r.trial >= 2 for r in rows):
            quirks.append("Q9: trials >= 2 swap the images but keep the positional prediction")
    score = preference_score(
        "mj-bench",
        split,
        mode,
        records,
        rows,
        ["perspective", "subset", "source"],
        quirks,
        keep=lambda r: r.gold != "tie",
    )
    n_tie = sum(1 for r in records if r.gold == "tie")
    if n_tie:
        score.notes.append(f"{n_tie} records with a human tie are left out of the accuracies")
    score.by_category = {
        k: v for k, v in score.by_category.items() if not (k == "source" and set(v) == {"all"})
    }
    return score


def convert_gpt4v(
    path: Path, split: str, cfg: LoadConfig
) -> tuple[list[BenchRecord], list[Prediction]]:
    """MJ-Bench's ``validation_gpt4score_eval.json``: ``score_0``/``score_1`` are raw rating
    strings (stray text and newlines); the first number of each is the score.  A missing
    number makes the prediction unparsable."""
    records: list[BenchRecord] = []
    preds: list[Prediction] = []
    for pos, (where, raw) in enumerate(read_records(path)):
        rid = str(raw.get("id", pos)) if isinstance(raw, dict) else str(pos)
        try:
            if isinstance(raw, Exception):
                raise raw
            label = str(need(raw, "label", where, str, int)).strip()
            gold = {"0": "A", "1": "B", "tie": "tie"}.get(label)
            if gold is None:
                raise InputError(
                    f"expected '0', '1' or 'tie', got {label!r}", record=where, field="label"
                )
            s = [_NUMBER.search(str(raw.get(k) or "")) for k in ("score_0", "score_1")]
            if s[0] is None or s[1] is None:
                pref = None
            else:
                a, b = float(s[0].group(0)), float(s[1].group(0))
                pref = "A" if a > b else "B" if b > a else "tie"
            records.append(
                BenchRecord(
                    rid,
                    gold,
                    {"perspective": split, "subset": "gpt4v"},
                    str(raw.get("caption", "")),
                )
            )
            text = str(raw.get("reasoning_process") or "")
            preds.append(Prediction(rid, 0, text, extra={"label": pref}))
        except InputError as exc:
            records.append(BenchRecord(rid, None, error=str(exc)))
    return records, preds


BENCHMARK = register_benchmark(
    Benchmark(
        name="mj-bench",
        description="MJ-Bench image preference; trial 0 original, trial 1 swapped (spec 7.3)",
        splits=SPLITS,
        protocols={s: f"mj-bench/{s}" for s in SPLITS},
        load=load,
        evaluate=evaluate,
        default_trials=2,
        settings=(
            "Table 6: 2 samples per item, the original image order then the reverse; the tie "
            "option (equal scores) counts wrong in accuracy with tie"
        ),
        orders=orders,
        hf_id=HF_ID,
        formats={"mj-bench": convert_gpt4v},
        media_slot="images",
    )
)
