"""``flexjudge curate generate`` and ``flexjudge curate select``; every command prints JSON."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from flexjudge.cli._common import BackendOpt, BaseUrlOpt, DeviceOpt, DtypeOpt, backend_kwargs, fail
from flexjudge.cli._options import config_options
from flexjudge.curate._generate import GenerateConfig
from flexjudge.errors import FlexJudgeError

MANIFEST = "curate_manifest.json"

curate_app = typer.Typer(
    help="Think once: build the text training set (teacher generation, selection).",
    no_args_is_help=True,
)


def _open_store(path: Path) -> Any:
    try:
        from flexjudge.store import ResultStore
    except ImportError:
        fail(
            "--store needs flexjudge.store.ResultStore, which this install lacks; "
            "rerun without --store (generation still resumes from the output files)"
        )
    return ResultStore(path)


@curate_app.command("generate")
@config_options(GenerateConfig, panel="Generation options")
def generate_command(
    teacher: Annotated[str, typer.Option(help="Teacher checkpoint or model id (JudgeLRM-7B).")],
    input_path: Annotated[Path, typer.Option("--input", help="JudgeLM or PandaLM records.")],
    out: Annotated[Path, typer.Option(help="Output folder for judgelrm_7b_{seed}_{t}.jsonl.")],
    options: dict[str, Any],
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds, one file each.")] = "13,79",
    backend: BackendOpt = "transformers",
    base_url: BaseUrlOpt = None,
    device: DeviceOpt = None,
    dtype: DtypeOpt = None,
    input_format: Annotated[
        str, typer.Option("--format", help="auto | judgelm | pandalm.")
    ] = "auto",
    store: Annotated[Path | None, typer.Option(help="Result store to reuse completions.")] = None,
) -> None:
    """Run the teacher (P-01 + P-02 + '<think>\\n') once per row and seed; resumable."""
    from flexjudge.backends import load_backend
    from flexjudge.curate._generate import generate

    try:
        seed_list = tuple(int(s) for s in seeds.split(",") if s.strip())
    except ValueError:
        fail(f"--seeds must be comma-separated integers, got {seeds!r}")
        return
    try:
        cfg = GenerateConfig(
            seeds=seed_list,
            input_format=input_format,  # type: ignore[arg-type]
            **options,
        )
        model = load_backend(backend, teacher, **backend_kwargs(backend, base_url, device, dtype))
        result_store = _open_store(store) if store is not None else None
        report = generate(
            model,
            input_path,
            out,
            cfg,
            store=result_store,
            progress=lambda name, rows: typer.echo(f"{name}: {rows} rows", err=True),
        )
    except (FlexJudgeError, ValueError, OSError) as exc:
        fail(str(exc))
        return
    manifest = {
        "input": str(input_path.resolve()),
        "format": input_format,
        "files": [p.name for p in report.files],
        "teacher": teacher,
        "backend": backend,
        "seeds": list(seed_list),
        "temperature": cfg.temperature,
        "top_p": cfg.top_p,
        "max_tokens": cfg.max_tokens,
        "limit": cfg.limit,
        "command": shlex.join(["flexjudge", *sys.argv[1:]]),
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    typer.echo(json.dumps(report.to_dict(), indent=2))


@curate_app.command("select")
def select_command(
    out: Annotated[Path, typer.Option(help="train.jsonl to write (sidecars beside it).")],
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="A generation folder (from generate), or generation files."),
    ] = None,
    input_path: Annotated[
        Path | None, typer.Option("--input", help="The rows the generations are aligned with.")
    ] = None,
    generations: Annotated[
        list[Path] | None, typer.Option(help="Generation files in seed order.")
    ] = None,
    agreement: Annotated[
        str, typer.Option(help="exact (reference) | direction | none (no filter).")
    ] = "exact",
    selection: Annotated[
        str,
        typer.Option(help="Which trace wins: longest (paper) | shortest | random (ablations)."),
    ] = "longest",
    n_single: Annotated[int, typer.Option(help="Single-answer examples to keep.")] = 500,
    single_min_tokens: Annotated[
        int, typer.Option(help="Keep single examples whose Assistant-1 reasoning exceeds N tokens.")
    ] = 375,
    n_pair: Annotated[int, typer.Option(help="Pairwise examples to keep.")] = 500,
    pair_min_answer_tokens: Annotated[
        int, typer.Option(help="Keep pairs whose two answers together exceed N tokens.")
    ] = 750,
    rescale_fraction: Annotated[
        float, typer.Option(help="Fraction of each group (seeded) moved to the 1-5 scale.")
    ] = 0.5,
    seed: Annotated[int, typer.Option(help="Seed of the 1-5 rescale choice.")] = 0,
    tokenizer: Annotated[str | None, typer.Option(help="Local tokenizer for counts.")] = None,
    input_format: Annotated[
        str, typer.Option("--format", help="auto | judgelm | pandalm.")
    ] = "auto",
    keep_assistant_name: Annotated[
        bool, typer.Option(help="Keep 'Assistant 1' in singles.")
    ] = False,
    plot: Annotated[bool, typer.Option(help="Write the PNG length histogram.")] = True,
    limit: Annotated[
        int | None, typer.Option(help="Only the first N input rows (default: generate's).")
    ] = None,
    processes: Annotated[
        int, typer.Option(help="Scan with N processes (0: one per CPU for large inputs).")
    ] = 0,
    mode: Annotated[
        str,
        typer.Option(
            help="clean (the 500 + 500 policy) | reference (what lrm_process.py keeps: every "
            "prompt's longest exactly agreeing trace, first-seen order)."
        ),
    ] = "clean",
    rescale: Annotated[
        str,
        typer.Option(
            help="1-10 -> 1-5 mapping: ceil-half (ceil(s/2), the paper's 'divide by 2, halves "
            "up') | linear (1 + (s-1)*4/9 to one decimal)."
        ),
    ] = "ceil-half",
    subsets: Annotated[
        str | None,
        typer.Option(help="Also write nested subsets of these sizes, e.g. 250,500,1000."),
    ] = None,
    order: Annotated[
        str,
        typer.Option(
            help="reasoning-first (the paper) | answer-first (Fig. 5's non-reasoning variant: "
            "answer tags, then the reasoning; judge it with answer_order='answer-first')."
        ),
    ] = "reasoning-first",
) -> None:
    """Agreement filter, longest trace per prompt, then the 500 single + 500 pair policy.

    ``--generations a.jsonl b.jsonl`` and positional files are joined in the order given.
    """
    from flexjudge.curate._config import SelectConfig
    from flexjudge.curate._select import find_generation_files, select, write_outputs

    files = list(generations or []) + list(paths or [])
    try:
        if len(files) == 1 and files[0].is_dir():
            folder = files[0]
            files = find_generation_files(folder)
            manifest = folder / MANIFEST
            if input_path is None and manifest.is_file():
                data = json.loads(manifest.read_text(encoding="utf-8"))
                input_path = Path(data["input"])
                files = [folder / name for name in data["files"]]
                if limit is None:
                    limit = data.get("limit")
        if input_path is None:
            fail("--input is required (no curate_manifest.json in the generation folder)")
            return
        cfg = SelectConfig(
            agreement=agreement,  # type: ignore[arg-type]
            selection=selection,  # type: ignore[arg-type]
            n_single=n_single,
            single_min_tokens=single_min_tokens,
            n_pair=n_pair,
            pair_min_answer_tokens=pair_min_answer_tokens,
            rescale_fraction=rescale_fraction,
            seed=seed,
            tokenizer=tokenizer,
            rename_assistant=not keep_assistant_name,
            input_format=input_format,  # type: ignore[arg-type]
            limit=limit,
            processes=processes,
            mode=mode,  # type: ignore[arg-type]
            rescale=rescale,  # type: ignore[arg-type]
            order=order,  # type: ignore[arg-type]
        )
        sizes = [int(x) for x in subsets.split(",") if x.strip()] if subsets else []
        report = select(input_path, files, cfg)
        write_outputs(report, out, plot=plot)
        if sizes:
            from flexjudge.curate._subsets import write_subsets

            report.outputs["subsets"] = ",".join(
                written["train"] for written in write_subsets(report, out, sizes).values()
            )
    except (FlexJudgeError, ValueError, OSError) as exc:
        fail(str(exc))
        return
    typer.echo(json.dumps(report.summary(), indent=2))


def register(app: typer.Typer) -> None:
    """Add the ``curate`` group to the main ``flexjudge`` app."""
    app.add_typer(curate_app, name="curate")
