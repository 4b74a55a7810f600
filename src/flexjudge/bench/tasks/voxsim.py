"""VoxSim speaker similarity (spec §8.5): two audios, judge score 1.0–5.0 correlated with the
human similarity rating (not rounded); utterance level only.

Split ``test`` asks for 1.0–5.0 as the reference script does; split ``paper-scale`` asks for
the paper's 1.0–6.0 (protocol ``voxsim/paper-scale``) on the same data."""

from __future__ import annotations

from collections.abc import Sequence

from flexjudge.bench._audio import evaluate_audio, find_dir
from flexjudge.bench._core import BenchRecord, BenchScore, Prediction
from flexjudge.bench._io import LoadConfig, collect_records, parse_number, read_lines
from flexjudge.bench._registry import Benchmark, register_benchmark
from flexjudge.errors import InputError
from flexjudge.protocol import Mode


def load(cfg: LoadConfig) -> list[BenchRecord]:
    """``--data``: ``voxsim_test_list.txt`` lines ``wav1,wav2,is_same_speaker,_,score``
    (lines with fewer than 5 fields are skipped, as the reference); audio under
    ``--media-root`` or the nearest ``wav`` folder."""
    if cfg.data is None:
        raise InputError("VoxSim is read from local files; pass --data", field="data")
    root = cfg.media_root or find_dir(cfg.data.parent, "wav")
    split_lines = (
        (where, [p.strip() for p in line.split(",")]) for where, line in read_lines(cfg.data)
    )

    def build(row: tuple[str, list[str]]) -> BenchRecord:
        where, parts = row
        gold = parse_number(parts[4], where, "score", "similarity")
        same = "same" if parts[2] == "1" else "different"
        return BenchRecord(
            f"{parts[0]}|{parts[1]}",
            gold,
            {"set": "voxsim", "speaker": same},
            audios=[str(root / parts[0]), str(root / parts[1])],
        )

    def failed(row: tuple[str, list[str]], exc: InputError) -> BenchRecord:
        return BenchRecord(row[0], None, error=str(exc))

    rows = (row for row in split_lines if len(row[1]) >= 5)
    return collect_records(rows, build, failed, cfg.limit)


def evaluate(
    split: str, records: Sequence[BenchRecord], preds: Sequence[Prediction], mode: Mode
) -> BenchScore:
    score = evaluate_audio(
        "voxsim",
        split,
        records,
        preds,
        mode,
        protocol=BENCHMARK.protocols[split],
        fallback=3.5,
        round_gt=False,
        system_level=False,
    )
    score.notes.append(
        "MSE compares a 1-5 judge score with the dataset's own similarity "
        "scale and is not meaningful; LCC/SRCC are"
    )
    return score


BENCHMARK = register_benchmark(
    Benchmark(
        name="voxsim",
        description="VoxSim speaker similarity (spec 8.5)",
        settings=(
            "Table 6 (audio): 1 sample per pair; utterance-level LCC/SRCC (VoxSim has no systems)"
        ),
        splits=("test", "paper-scale"),
        protocols={"test": "voxsim", "paper-scale": "voxsim/paper-scale"},
        load=load,
        evaluate=evaluate,
        family="omni",
    )
)
