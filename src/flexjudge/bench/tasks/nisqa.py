"""NISQA speech quality (spec §8.2): MOS 1.0–5.0 on the FOR, LIVETALK and P501 test sets;
metrics per set and combined (utterance level only)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flexjudge.bench._audio import evaluate_audio
from flexjudge.bench._core import BenchRecord, BenchScore, Prediction
from flexjudge.bench._formats import is_tabular_dir, media_cell, sniff
from flexjudge.bench._io import (
    LoadConfig,
    collect_records,
    need,
    parse_number,
    read_csv_rows,
    read_records,
)
from flexjudge.bench._registry import Benchmark, register_benchmark
from flexjudge.errors import InputError
from flexjudge.protocol import Mode


def _set_name(path: Path) -> str:
    for name in ("LIVETALK", "FOR", "P501"):
        if name in str(path):
            return name
    return path.stem


def load(cfg: LoadConfig) -> list[BenchRecord]:
    """``--data``: a NISQA ``*_file.csv`` (columns ``filepath_deg``, ``mos``; paths relative to
    the CSV's folder), a folder searched for ``NISQA_TEST_*/*_file.csv``, or a table in the
    HF layout (parquet/arrow file or ``datasets`` folder) with an ``audio`` column
    (``{bytes, path}``, ``{array, sampling_rate}`` or a path), ``mos`` and optionally ``set``."""
    if cfg.data is None:
        raise InputError("NISQA is read from local files; pass --data", field="data")
    if (cfg.data.is_file() and sniff(cfg.data)) or is_tabular_dir(cfg.data):
        return _load_table(cfg, cfg.data)
    files = sorted(cfg.data.glob("**/*_file.csv")) if cfg.data.is_dir() else [cfg.data]
    if not files:
        raise InputError(f"no NISQA *_file.csv under {cfg.data}", field="data")
    out: list[BenchRecord] = []
    for path in files:
        root = cfg.media_root or path.parent
        for where, row in read_csv_rows(path):
            try:
                rel = row.get("filepath_deg")
                if not rel:
                    raise InputError("missing field", record=where, field="filepath_deg")
                gold = parse_number(row.get("mos"), where, "mos")
                out.append(
                    BenchRecord(
                        f"{_set_name(path)}/{rel}",
                        gold,
                        {"set": _set_name(path)},
                        audios=[str(root / rel)],
                    )
                )
            except InputError as exc:
                out.append(BenchRecord(where, None, {"set": _set_name(path)}, error=str(exc)))
            if cfg.limit is not None and len(out) >= cfg.limit:
                return out
    return out


def _load_table(cfg: LoadConfig, data: Path) -> list[BenchRecord]:
    root = cfg.media_root or (data if data.is_dir() else data.parent)

    def build(record: tuple[str, Any]) -> BenchRecord:
        where, row = record
        key = "audio" if isinstance(row, dict) and "audio" in row else "filepath_deg"
        audio = media_cell(
            need(row, key, where), root=root, media_root=cfg.media_root, where=where, field=key
        )
        mos = need(row, "mos", where, int, float, str)
        gold = parse_number(mos, where, "mos")
        test_set = str(row.get("set") or _set_name(data))
        rid = str(row.get("id") or row.get("filepath_deg") or where)
        return BenchRecord(f"{test_set}/{rid}", gold, {"set": test_set}, audios=[audio])

    def failed(record: tuple[str, Any], exc: InputError) -> BenchRecord:
        return BenchRecord(record[0], None, {"set": _set_name(data)}, error=str(exc))

    return collect_records(read_records(data, "test"), build, failed, cfg.limit)


def evaluate(
    split: str, records: Sequence[BenchRecord], preds: Sequence[Prediction], mode: Mode
) -> BenchScore:
    return evaluate_audio(
        "nisqa",
        split,
        records,
        preds,
        mode,
        protocol="nisqa",
        fallback=3.0,
        round_gt=True,
        system_level=False,
    )


BENCHMARK = register_benchmark(
    Benchmark(
        name="nisqa",
        description="NISQA speech quality MOS (spec 8.2)",
        settings=(
            "Table 6 (audio): 1 sample per utterance; utterance-level LCC/SRCC/MSE per test "
            "set (NISQA has no systems)"
        ),
        splits=("test",),
        protocols={"test": "nisqa"},
        load=load,
        evaluate=evaluate,
        family="omni",
    )
)
