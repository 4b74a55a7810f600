"""``flexjudge bench``: run, score and compare judge benchmarks (prints JSON on stdout)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from flexjudge.cli._common import BackendOpt, BaseUrlOpt, DeviceOpt, DtypeOpt, backend_kwargs, fail
from flexjudge.cli._options import config_options
from flexjudge.errors import FlexJudgeError
from flexjudge.judge.config import JudgeConfig

bench_app = typer.Typer(
    help="Judge benchmarks: run, score existing judgments, compare runs.", no_args_is_help=True
)

DataOpt = Annotated[Path | None, typer.Option(help="Local benchmark file or folder.")]
MediaOpt = Annotated[Path | None, typer.Option("--media-root", help="Folder of media files.")]
GoldOpt = Annotated[Path | None, typer.Option(help="Extra gold file (JudgeLM GPT-4, system CSV).")]
ModeOpt = Annotated[str, typer.Option(help="reference (quirks reproduced) or clean.")]


def _summary(score: object, out: Path | None) -> str:
    from flexjudge.bench._core import BenchScore

    assert isinstance(score, BenchScore)
    d = score.to_dict()
    d.pop("by_category", None)
    if out is not None:
        d["out"] = str(out)
    return json.dumps(d, ensure_ascii=False)


def _mode(mode: str) -> str:
    if mode not in ("reference", "clean"):
        raise typer.BadParameter("mode must be 'reference' or 'clean'")
    return mode


@bench_app.command("run")
@config_options(JudgeConfig, defaults={"mode": "reference"})
def bench_run(
    benchmark: Annotated[str, typer.Argument(help="Benchmark name (flexjudge bench list).")],
    model: Annotated[str, typer.Option("--model", "-m", help="Checkpoint path or model id.")],
    out: Annotated[Path, typer.Option(help="Output folder (predictions, report, plots).")],
    options: dict[str, Any],
    split: Annotated[
        str | None, typer.Option(help="Benchmark split (required when it has several).")
    ] = None,
    backend: BackendOpt = "transformers",
    base_url: BaseUrlOpt = None,
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    trials: Annotated[
        int | None, typer.Option(help="Samples per item (default: the paper's Table 6).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="First N records only.")] = None,
    data: DataOpt = None,
    media_root: MediaOpt = None,
    gold: GoldOpt = None,
    plots: Annotated[bool, typer.Option(help="Write PNG plots (needs matplotlib).")] = True,
) -> None:
    """Judge BENCHMARK (resumable through OUT/store.sqlite) and write its report.

    --protocol defaults to the benchmark's; trial k is seeded with --seed + k.  --votes K and
    --budget-forcing R generate K votes with R "Wait" rounds in one pass, scored at every
    k = 1..K and r = 0..R (scaling.json).

    Exit codes: 0 done (per-item failures are error rows in the report), 2 a run-wide error
    (unknown benchmark, split or protocol, unreadable data file), printed as one line on stderr."""
    from flexjudge.bench._runner import BenchRunConfig, run_benchmark

    mode = _mode(options["mode"])
    try:
        kwargs = backend_kwargs(backend, base_url, device, dtype)
    except FlexJudgeError as exc:
        fail(str(exc))
    cfg = BenchRunConfig(
        benchmark,
        model,
        out,
        split=split,
        backend=backend,
        trials=trials,
        limit=limit,
        mode=mode,  # type: ignore[arg-type]
        data=data,
        media_root=media_root,
        gold=gold,
        plots=plots,
        backend_kwargs=kwargs,
        answer_order=options.pop("answer_order"),
        options=options,
    )
    score = run_benchmark(cfg)  # a FlexJudgeError exits 2 with one message (cli.main)
    typer.echo(_summary(score, out))


@bench_app.command("score")
def bench_score(
    benchmark: Annotated[str, typer.Argument(help="Benchmark name.")],
    predictions: Annotated[Path, typer.Option(help="Predictions / published results file.")],
    split: Annotated[str | None, typer.Option(help="Benchmark split.")] = None,
    format: Annotated[
        str, typer.Option(help="flexjudge | genai-bench | judgelrm | pandalm | mj-bench")
    ] = "flexjudge",
    out: Annotated[Path | None, typer.Option(help="Write the report here.")] = None,
    mode: ModeOpt = "reference",
    data: DataOpt = None,
    media_root: MediaOpt = None,
    gold: GoldOpt = None,
    plots: Annotated[bool, typer.Option(help="Write PNG plots with the report.")] = True,
) -> None:
    """Score a predictions file from any judge; prints the metrics as JSON."""
    from flexjudge.bench._io import LoadConfig
    from flexjudge.bench._registry import get_benchmark
    from flexjudge.bench._report import write_report
    from flexjudge.bench._runner import score_file

    sp = get_benchmark(benchmark).check_split(split)
    score = score_file(
        benchmark,
        sp,
        predictions,
        format,
        _mode(mode),  # type: ignore[arg-type]
        LoadConfig(sp, data, media_root, gold),
    )
    if out is not None:
        write_report(score, out, {"predictions": str(predictions), "format": format}, plots=plots)
    typer.echo(_summary(score, out))


@bench_app.command("report")
def bench_report(
    dirs: Annotated[list[Path], typer.Argument(help="Run folders (each with report.json).")],
    out: Annotated[Path | None, typer.Option(help="Write comparison.md/.json here.")] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(help="A baseline run: gain per dataset vs mean reasoning length."),
    ] = None,
) -> None:
    """Compare several runs side by side (Markdown table on stderr, JSON on stdout).  With
    --out: comparison.md/.json, and for runs made with --votes/--budget-forcing the scaling
    curves (scaling.png, bootstrap CIs) and their tables (scaling.md); with --baseline RUN
    the gain over it per dataset against mean reasoning length (gain_vs_reasoning.*)."""
    from flexjudge.bench._report import compare_runs

    md, table = compare_runs(dirs)
    if baseline is not None:
        from flexjudge.bench._reliability import gain_markdown, gain_vs_reasoning

        gains = gain_vs_reasoning(dirs, baseline)
        md += "\n" + gain_markdown(gains, baseline.name)
    if out is not None:
        from flexjudge.bench._report import write_comparison

        write_comparison(dirs, out, md, table, baseline=baseline)
    typer.echo(md, err=True)
    typer.echo(json.dumps({"runs": table}))


@bench_app.command("list")
def bench_list() -> None:
    """The benchmarks, their splits, protocols and the paper's Table 6 settings (trials,
    order, ties, aggregation; ``--trials`` overrides the trial count)."""
    from flexjudge.bench._registry import list_benchmarks

    typer.echo(
        json.dumps(
            [
                {
                    "name": b.name,
                    "splits": list(b.splits),
                    "protocols": b.protocols,
                    "trials": b.default_trials,
                    "settings": b.settings,
                    "hf": b.hf_id,
                    "formats": ["flexjudge", *sorted(b.formats)],
                    "description": b.description,
                }
                for b in list_benchmarks()
            ]
        )
    )


def register(app: typer.Typer) -> None:
    """Add the ``bench`` group to the ``flexjudge`` app."""
    app.add_typer(bench_app, name="bench")
