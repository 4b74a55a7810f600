"""SOMOS TTS naturalness (spec §8.4): MOS list with a header line; utterance and system level
(system id = wav stem after the last ``_``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from flexjudge.bench._audio import evaluate_audio, find_dir, mos_list, system_table
from flexjudge.bench._core import BenchRecord, BenchScore, Prediction
from flexjudge.bench._io import LoadConfig
from flexjudge.bench._registry import Benchmark, register_benchmark
from flexjudge.errors import InputError
from flexjudge.protocol import Mode


def system_id(wav: str) -> str:
    return Path(wav).stem.split("_")[-1]


def load(cfg: LoadConfig) -> list[BenchRecord]:
    """``--data``: ``test_mos_list.txt`` (header skipped); audio under ``--media-root`` or the
    nearest ``audios`` folder; ``--gold`` the system CSV (``test_system.csv``)."""
    if cfg.data is None:
        raise InputError("SOMOS is read from local files; pass --data", field="data")
    root = cfg.media_root or find_dir(cfg.data.parent, "audios")
    records = mos_list(cfg.data, root, skip_header=True, system_of=system_id)
    if cfg.gold is not None:
        table = system_table(cfg.gold)
        for r in records:
            if r.meta.get("system") in table:
                r.meta["system_gt"] = table[r.meta["system"]]
    return records[: cfg.limit] if cfg.limit is not None else records


def evaluate(
    split: str, records: Sequence[BenchRecord], preds: Sequence[Prediction], mode: Mode
) -> BenchScore:
    return evaluate_audio(
        "somos",
        split,
        records,
        preds,
        mode,
        protocol="somos",
        fallback=3.0,
        round_gt=True,
        system_level=True,
    )


BENCHMARK = register_benchmark(
    Benchmark(
        name="somos",
        description="SOMOS TTS MOS, utterance and system level (spec 8.4)",
        splits=("test",),
        protocols={"test": "somos"},
        load=load,
        evaluate=evaluate,
        family="omni",
    )
)
