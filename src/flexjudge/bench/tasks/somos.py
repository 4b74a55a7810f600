"""SOMOS TTS naturalness (spec §8.4): MOS list with a header line; utterance and system level
(system id = wav stem after the last ``_``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from flexjudge.bench._audio import evaluate_audio, load_system_mos
from flexjudge.bench._core import BenchRecord, BenchScore, Prediction
from flexjudge.bench._io import LoadConfig
from flexjudge.bench._registry import Benchmark, register_benchmark
from flexjudge.protocol import Mode


def system_id(wav: str) -> str:
    return Path(wav).stem.split("_")[-1]


def load(cfg: LoadConfig) -> list[BenchRecord]:
    """``--data``: ``test_mos_list.txt`` (header skipped); audio under ``--media-root`` or the
    nearest ``audios`` folder; ``--gold`` the system CSV (``test_system.csv``)."""
    return load_system_mos(
        cfg, benchmark="SOMOS", audio_dir="audios", skip_header=True, system_of=system_id
    )


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
        settings=(
            "Table 6 (audio): 1 sample per utterance; system-level LCC/SRCC/MSE on per-system"
            " mean scores, utterance level beside it"
        ),
        splits=("test",),
        protocols={"test": "somos"},
        load=load,
        evaluate=evaluate,
        family="omni",
    )
)
