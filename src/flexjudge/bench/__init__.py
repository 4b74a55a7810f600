"""Benchmark harness: loaders, reference/clean metrics, reports and plots for the twelve judge
benchmarks (MLLM-as-a-Judge score/pair/batch, VL-RewardBench, MJ-Bench, GenAI-Bench
image/editing/video, NISQA, BVCC, SOMOS, VoxSim, JudgeLM, PandaLM).  See docs/benchmarks.md."""

from __future__ import annotations

from flexjudge.bench._core import BenchRecord, BenchScore, Prediction, ScoredRow
from flexjudge.bench._io import LoadConfig
from flexjudge.bench._metrics import (
    bootstrap_ci,
    levenshtein,
    normalized_levenshtein,
    pearson,
    precision_recall_f1,
    spearman,
)
from flexjudge.bench._registry import Benchmark, get_benchmark, list_benchmarks
from flexjudge.bench._report import compare_runs, to_markdown, write_report
from flexjudge.bench._runner import BenchRunConfig, read_predictions, run_benchmark, score_file
from flexjudge.bench.tasks import (  # noqa: F401  (importing registers each benchmark)
    bvcc,
    genai_bench,
    judgelm,
    mj_bench,
    mllm_judge,
    nisqa,
    pandalm,
    somos,
    vl_rewardbench,
    voxsim,
)

__all__ = [
    "BenchRecord",
    "BenchRunConfig",
    "BenchScore",
    "Benchmark",
    "LoadConfig",
    "Prediction",
    "ScoredRow",
    "bootstrap_ci",
    "compare_runs",
    "get_benchmark",
    "levenshtein",
    "list_benchmarks",
    "normalized_levenshtein",
    "pearson",
    "precision_recall_f1",
    "read_predictions",
    "run_benchmark",
    "score_file",
    "spearman",
    "to_markdown",
    "write_report",
]
