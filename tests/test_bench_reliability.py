"""Reliability analyses against humans (paper Figs. 5 right, 11, 12) in the bench report:
length bias and position bias next to the humans', and the gain over a baseline run against
mean reasoning length."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flexjudge.backends import GenerationRequest, MockBackend
from flexjudge.bench import BenchRunConfig, run_benchmark
from flexjudge.cli import app
from flexjudge.judge import Judge


def _data(tmp: Path, n: int = 8) -> Path:
    """Response 1 is the longer one in even items; the humans always prefer the longer."""
    rows = []
    for i in range(n):
        long, short = "a long and detailed answer " * (2 + i), "short"
        first_long = i % 2 == 0
        rows.append(
            {
                "idx": i,
                "instruction": f"Question {i}?",
                "input": "",
                "response1": long if first_long else short,
                "response2": short if first_long else long,
                "annotator1": 1 if first_long else 2,
                "annotator2": 1 if first_long else 2,
                "annotator3": 0,
            }
        )
    path = tmp / "testset-v1.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def _always_first(words: int) -> MockBackend:
    def responder(request: GenerationRequest, index: int) -> str:
        return "<think>\n" + "word " * words + "\n</think>\n<answer>9</answer><answer>2</answer>"

    return MockBackend(responder=responder)


def _always_second() -> MockBackend:
    def responder(request: GenerationRequest, index: int) -> str:
        return "<think>\nhm\n</think>\n<answer>2</answer><answer>9</answer>"

    return MockBackend(responder=responder)


def test_length_and_position_bias_next_to_the_humans(tmp_path: Path) -> None:
    data = _data(tmp_path)
    out = tmp_path / "run"
    score = run_benchmark(
        BenchRunConfig("pandalm", "mock", out, data=data, mode="clean", plots=False),
        Judge(_always_first(3)),
    )
    pb = score.analyses["position_bias"]
    assert pb["judge"] == {"first": 1.0, "second": 0.0, "tie": 0.0}
    assert pb["human"] == {"first": 0.5, "second": 0.5, "tie": 0.0}
    lb = score.analyses["length_bias"]
    assert all(b["human_prefers_longer"] == 1.0 for b in lb)
    by_sign = {b["len_diff"] > 0: b["judge_prefers_longer"] for b in lb}
    assert by_sign == {True: 1.0, False: 0.0}
    assert sum(b["n"] for b in lb) == 8
    md = (out / "report.md").read_text()
    assert "## length bias" in md and "## position bias" in md and "| human |" in md
    report = json.loads((out / "report.json").read_text())
    assert report["analyses"]["position_bias"]["n_judge"] == 8


def test_report_baseline_gain_vs_reasoning_length(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    data = _data(tmp_path)
    runs = {}
    for name, backend in (("base", _always_second()), ("think", _always_first(12))):
        runs[name] = tmp_path / name
        run_benchmark(
            BenchRunConfig("pandalm", "mock", runs[name], data=data, mode="clean"),
            Judge(backend),
        )
    assert (runs["think"] / "position_bias.png").is_file()
    res = CliRunner().invoke(
        app,
        [
            *("bench", "report", str(runs["think"])),
            *("--baseline", str(runs["base"]), "--out", str(tmp_path / "cmp")),
        ],
    )
    assert res.exit_code == 0, res.output
    gains = json.loads((tmp_path / "cmp" / "gain_vs_reasoning.json").read_text())
    assert len(gains) >= 1
    g = gains[0]
    assert g["run"] == "think" and g["gain"] == pytest.approx(g["value"] - g["baseline"])
    # both judges always pick one position and the humans split evenly: no gain
    assert g["value"] == g["baseline"] == 0.5 and g["gain"] == 0.0
    assert g["reasoning_words"] == 12
    assert (tmp_path / "cmp" / "gain_vs_reasoning.png").is_file()
    assert "gain over base" in (tmp_path / "cmp" / "gain_vs_reasoning.md").read_text()
