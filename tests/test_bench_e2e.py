"""End-to-end ``flexjudge bench run`` on synthetic local files: every benchmark on the tiny
checkpoints (few, small), plus mock-backend runs for resume, bad input and reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flexjudge.backends import MockBackend
from flexjudge.bench import BenchRunConfig, run_benchmark
from flexjudge.cli import app
from flexjudge.judge import Judge
from flexjudge.testing import make_test_image, write_test_video, write_test_wav


def _img(path: Path, seed: int) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    make_test_image(48, 48, seed=seed).save(path)
    return path.name


def _jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def make_data(tmp: Path, bench: str, split: str) -> list[str]:
    """Synthetic local files for ``bench``/``split``; returns the extra CLI arguments."""
    d = tmp / f"{bench}-{split}"
    d.mkdir(parents=True, exist_ok=True)
    if bench == "mllm-judge":
        for i in range(2):
            _img(d / "image" / f"{i}.jpg", i)
        base = [
            {
                "id": i,
                "image_path": f"image/{i}.jpg",
                "original_dataset": "coco",
                "instruction": "What is shown?",
            }
            for i in range(2)
        ]
        if split == "score":
            rows = [
                {**b, "score_id": i, "answer": "A gradient.", "name": "x", "human": ["4", 2][i]}
                for i, b in enumerate(base)
            ]
        elif split == "pair":
            rows = [
                {
                    **b,
                    "pair_id": i,
                    "answer1": {"name": "a", "answer": "one"},
                    "answer2": {"name": "b", "answer": "two words"},
                    "human": "AB"[i],
                }
                for i, b in enumerate(base)
            ]
        else:
            rows = [
                {
                    **b,
                    "answers": [{"name": n, "answer": f"answer {n}"} for n in "wxyz"],
                    "human_answer": "CDAB",
                }
                for b in base
            ]
        return ["--data", str(_jsonl(d / f"{split}.jsonl", rows))]
    if bench == "vl-rewardbench":
        rows = [
            {
                "id": f"mathverse_{i}",
                "query": "Which is right?",
                "response": ["yes", "no"],
                "human_ranking": [0, 1],
                "image_path": _img(d / f"{i}.png", i),
            }
            for i in range(2)
        ]
        return ["--data", str(_jsonl(d / "vlrb.jsonl", rows))]
    if bench == "mj-bench":
        rows = [
            {
                "id": i,
                "source": "pick_a_pic",
                "caption": "a cat",
                "image0": _img(d / f"{i}a.jpg", i),
                "image1": _img(d / f"{i}b.jpg", i + 5),
                "label": i % 2,
            }
            for i in range(2)
        ]
        (d / "actions_test.json").write_text(json.dumps(rows))
        return ["--data", str(d / "actions_test.json")]
    if bench == "genai-bench":
        votes = ["leftvote", "tievote"]
        if split == "video":
            rows = [
                {
                    "prompt": "waves",
                    "left_video": str(write_test_video(d / f"{i}l.mp4", 4, 56, 56, seed=i)),
                    "right_video": str(write_test_video(d / f"{i}r.mp4", 4, 56, 56, seed=i + 3)),
                    "vote_type": votes[i],
                }
                for i in range(2)
            ]
        elif split == "editing":
            rows = [
                {
                    "source_prompt": "a dog",
                    "target_prompt": "a red dog",
                    "instruct_prompt": "make it red",
                    "source_image": _img(d / f"{i}s.png", i),
                    "left_output_image": _img(d / f"{i}l.png", i + 1),
                    "right_output_image": _img(d / f"{i}r.png", i + 2),
                    "vote_type": votes[i],
                }
                for i in range(2)
            ]
        else:
            rows = [
                {
                    "prompt": "a dog",
                    "left_image": _img(d / f"{i}l.png", i),
                    "right_image": _img(d / f"{i}r.png", i + 2),
                    "vote_type": votes[i],
                }
                for i in range(2)
            ]
        return ["--data", str(_jsonl(d / f"{split}.jsonl", rows))]
    if bench == "nisqa":
        write_test_wav(d / "deg" / "a.wav", 0.5, seed=1)
        write_test_wav(d / "deg" / "b.wav", 0.5, seed=2)
        (d / "NISQA_TEST_FOR_file.csv").write_text(
            "filepath_deg,mos\ndeg/a.wav,3.14\ndeg/b.wav,1.9\n"
        )
        return ["--data", str(d / "NISQA_TEST_FOR_file.csv")]
    if bench in ("bvcc", "somos"):
        names = (
            ["sysA-u1.wav", "sysB-u2.wav"] if bench == "bvcc" else ["u1_sysA.wav", "u2_sysB.wav"]
        )
        wav_dir = d / ("wav" if bench == "bvcc" else "audios")
        for i, n in enumerate(names):
            write_test_wav(wav_dir / n, 0.5, seed=i)
        header = "" if bench == "bvcc" else "utteranceId,mean\n"
        (d / "list.txt").write_text(header + f"{names[0]},3.25\n{names[1]},2.0\n")
        return ["--data", str(d / "list.txt")]
    if bench == "voxsim":
        write_test_wav(d / "wav" / "a.wav", 0.5, seed=1)
        write_test_wav(d / "wav" / "b.wav", 0.5, seed=2)
        (d / "voxsim.txt").write_text("a.wav,b.wav,1,x,3.2\nb.wav,a.wav,0,x,1.5\nshort,line\n")
        return ["--data", str(d / "voxsim.txt")]
    if bench == "judgelm":
        rows = [
            {"question_id": i, "question_body": "2+2?", "answer1_body": "4", "answer2_body": "5"}
            for i in range(2)
        ]
        _jsonl(
            d / "judgelm_val_5k_gpt4.jsonl",
            [{"question_id": i, "score": [9, 2 + 7 * i]} for i in range(2)],
        )
        return ["--data", str(_jsonl(d / "judgelm_val_5k.jsonl", rows))]
    rows = [
        {
            "idx": i,
            "cmp_key": "a_b",
            "instruction": "Say hi",
            "input": "",
            "response1": "hi",
            "response2": True,
            "annotator1": i,
            "annotator2": i,
            "annotator3": 2,
        }
        for i in range(2)
    ]
    (d / "testset-v1.json").write_text(json.dumps(rows))
    return ["--data", str(d / "testset-v1.json")]


VL_CASES = [
    ("mllm-judge", "score"),
    ("mllm-judge", "pair"),
    ("mllm-judge", "batch"),
    ("vl-rewardbench", "test"),
    ("mj-bench", "alignment"),
    ("genai-bench", "image"),
    ("genai-bench", "editing"),
    ("genai-bench", "video"),
    ("judgelm", "val"),
    ("pandalm", "test"),
]
OMNI_CASES = [("nisqa", "test"), ("bvcc", "test"), ("somos", "test"), ("voxsim", "test")]


def _run_cli(model: Path, bench: str, split: str, tmp: Path) -> dict[str, Any]:
    args = make_data(tmp, bench, split)
    out = tmp / "out" / f"{bench}-{split}"
    trials = 2 if bench in ("mj-bench", "mllm-judge") else 1  # keep the slow part small
    res = CliRunner().invoke(
        app,
        [
            "bench",
            "run",
            bench,
            "--split",
            split,
            "--model",
            str(model),
            "--out",
            str(out),
            "--limit",
            "2",
            "--trials",
            str(trials),
            "--max-tokens",
            "6",
            "--no-plots",
            *args,
        ],
    )
    assert res.exit_code == 0, res.output
    summary: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    preds = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 2 * trials, preds
    assert all(p["status"] == "ok" and isinstance(p["text"], str) for p in preds), preds
    assert (out / "report.md").is_file() and (out / "report.csv").is_file()
    return summary


@pytest.mark.slow
def test_every_vision_and_text_benchmark_runs_on_tiny_vl(tiny_vl: Path, tmp_path: Path) -> None:
    for bench, split in VL_CASES:
        s = _run_cli(tiny_vl, bench, split, tmp_path)
        assert s["benchmark"] == bench and s["split"] == split
        assert s["counts"]["records"] == 2
        # a random tiny model yields outputs (maybe unparsable), never error rows
        assert s["counts"]["errors"] == 0, (bench, split, s)


@pytest.mark.slow
def test_every_audio_benchmark_runs_on_tiny_omni(tiny_omni: Path, tmp_path: Path) -> None:
    for bench, split in OMNI_CASES:
        s = _run_cli(tiny_omni, bench, split, tmp_path)
        assert s["counts"]["records"] == 2 and s["counts"]["errors"] == 0, (bench, s)


def test_mock_run_resumes_from_store_and_counts_errors(tmp_path: Path) -> None:
    args = make_data(tmp_path, "mllm-judge", "pair")
    data = Path(args[1])
    lines = data.read_text().splitlines()
    broken = json.loads(lines[1])
    broken["image_path"] = "image/missing.jpg"
    data.write_text(lines[0] + "\n" + json.dumps(broken) + "\n{not json\n")
    backend = MockBackend()
    cfg = BenchRunConfig(
        "mllm-judge", "mock", tmp_path / "run", split="pair", trials=3, data=data, plots=False
    )
    score = run_benchmark(cfg, judge=Judge(backend))
    assert score.counts["records"] == 3
    assert score.counts["errors"] == 6  # missing image x3 trials, bad JSON line x3 trials
    assert score.counts["scored"] == 3
    reasons = {r.error for r in score.rows if r.error}
    assert any("missing.jpg" in str(e) for e in reasons)
    assert any("not valid JSON" in str(e) for e in reasons)
    n_calls = len(backend.calls)
    assert n_calls == 3
    again = run_benchmark(cfg, judge=Judge(backend))
    assert len(backend.calls) == n_calls  # every judged item came from the store
    assert again.metrics == score.metrics
    md = (tmp_path / "run" / "report.md").read_text()
    assert "error rows" in md and "Q17" in md and "missing.jpg" in md


def test_mock_run_vl_rewardbench_orders_follow_numpy_seed(tmp_path: Path) -> None:
    import numpy as np

    args = make_data(tmp_path, "vl-rewardbench", "test")
    run = tmp_path / "vl"
    run_benchmark(
        BenchRunConfig("vl-rewardbench", "mock", run, trials=2, data=Path(args[1]), plots=False),
        judge=Judge(MockBackend()),
    )
    preds = [json.loads(x) for x in (run / "predictions.jsonl").read_text().splitlines()]
    for k in (0, 1):
        np.random.seed(k)
        want = [[0, 1] if np.random.uniform() < 0.5 else [1, 0] for _ in range(2)]
        assert [p["order"] for p in preds if p["trial"] == k] == want


def test_bench_report_compares_runs(tmp_path: Path) -> None:
    args = make_data(tmp_path, "pandalm", "test")
    dirs = []
    for mode in ("reference", "clean"):
        out = tmp_path / mode
        run_benchmark(
            BenchRunConfig(
                "pandalm",
                "mock",
                out,
                mode=mode,  # type: ignore[arg-type]
                data=Path(args[1]),
            ),
            judge=Judge(MockBackend()),
        )
        dirs.append(str(out))
        assert (out / "confusion.png").is_file() and (out / "position_bias.png").is_file()
    res = CliRunner().invoke(app, ["bench", "report", *dirs, "--out", str(tmp_path / "cmp")])
    assert res.exit_code == 0, res.output
    runs = json.loads(res.stdout.strip().splitlines()[-1])["runs"]
    assert [r["mode"] for r in runs] == ["reference", "clean"]
    md = (tmp_path / "cmp" / "comparison.md").read_text()
    assert "pandalm/test f1" in md and "pandalm/test cmp_key: a_b (accuracy)" in md


def test_mock_omni_run_bvcc_system_level_and_scatter(tmp_path: Path) -> None:
    args = make_data(tmp_path, "bvcc", "test")
    gold = tmp_path / "sys.csv"
    gold.write_text("system,mean\nsysA,3.1\nsysB,2.2\n")
    out = tmp_path / "bvcc"
    score = run_benchmark(
        BenchRunConfig("bvcc", "mock", out, data=Path(args[1]), gold=gold),
        judge=Judge(MockBackend(family="qwen2_5_omni")),
    )
    assert score.counts == {
        "records": 2,
        "rows": 2,
        "scored": 2,
        "errors": 0,
        "parse_failures": 0,
        "correct": 0,
        "wrong": 0,
    }
    assert "system_lcc" in score.metrics and (out / "scatter.png").is_file()
    report = json.loads((out / "report.json").read_text())
    assert report["plots"] == {"scatter": "scatter.png"}
    assert any("Q11" in q for q in report["quirks"])


def test_mock_run_mj_bench_swaps_the_images_in_trial_one(tmp_path: Path) -> None:
    import numpy as np

    args = make_data(tmp_path, "mj-bench", "alignment")
    backend = MockBackend()
    run_benchmark(
        BenchRunConfig(
            "mj-bench", "mock", tmp_path / "mj", "alignment", data=Path(args[1]), plots=False
        ),
        judge=Judge(backend),
    )
    means = [[float(np.asarray(im).mean()) for im in call.images] for call in backend.calls]
    assert len(means) == 4  # 2 records x trials 0 (original) and 1 (swapped)
    assert means[2] == means[0][::-1] and means[3] == means[1][::-1]
