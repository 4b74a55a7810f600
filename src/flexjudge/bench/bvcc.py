"""BVCC (VoiceMOS main track, spec §8.3): MOS with the reference's parse cascade; utterance and
system level (system id = wav stem before the first ``-``)."""

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
    return Path(wav).stem.split("-")[0]


def load(cfg: LoadConfig) -> list[BenchRecord]:
    """``--data``: ``test_mos_list.txt`` (``wav,score``, no header); audio under ``--media-root``
    or the nearest ``wav`` folder; ``--gold`` the system CSV (``mydata_system.csv``)."""
    if cfg.data is None:
        raise InputError("BVCC is read from local files; pass --data", field="data")
    root = cfg.media_root or find_dir(cfg.data.parent, "wav")
    records = mos_list(cfg.data, root, skip_header=False, system_of=system_id)
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
        "bvcc",
        split,
        records,
        preds,
        mode,
        protocol="bvcc",
        fallback=0.0,
        round_gt=True,
        system_level=True,
    )


BENCHMARK = register_benchmark(
    Benchmark(
        name="bvcc",
        description="BVCC MOS, utterance and system level (spec 8.3)",
        splits=("test",),
        protocols={"test": "bvcc"},
        load=load,
        evaluate=evaluate,
        family="omni",
    )
)
