"""BVCC (VoiceMOS main track, spec §8.3): MOS with the reference's parse cascade; utterance and
system level (system id = wav stem before the first ``-``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from flexjudge.bench._audio import evaluate_audio, load_system_mos
from flexjudge.bench._core import BenchRecord, BenchScore, Prediction
from flexjudge.bench._io import LoadConfig
from flexjudge.bench._registry import Benchmark, register_benchmark
from flexjudge.protocol import Mode


def system_id(wav: str) -> str:
    return Path(wav).stem.split("-")[0]


def load(cfg: LoadConfig) -> list[BenchRecord]:
    """``--data``: ``test_mos_list.txt`` (``wav,score``, no header); audio under ``--media-root``
    or the nearest ``wav`` folder; ``--gold`` the system CSV (``mydata_system.csv``)."""
    return load_system_mos(
        cfg, benchmark="BVCC", audio_dir="wav", skip_header=False, system_of=system_id
    )


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
        settings=(
            "Table 6 (audio): 1 sample per utterance; system-level LCC/SRCC/MSE on per-system"
            " mean scores, utterance level beside it"
        ),
        splits=("test",),
        protocols={"test": "bvcc"},
        load=load,
        evaluate=evaluate,
        family="omni",
    )
)
