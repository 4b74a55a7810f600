"""Inference-time scaling from one generation pass (paper Fig. 6): ``bench run --votes K
--budget-forcing R`` scores every k = 1..K and r = 0..R, every sample is used, and the sweep
costs the backend exactly what one K-vote run costs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flexjudge.backends import GenerationRequest, MockBackend
from flexjudge.bench import BenchRunConfig, run_benchmark, score_file
from flexjudge.bench._core import Prediction
from flexjudge.bench._io import LoadConfig
from flexjudge.cli import app
from flexjudge.judge import Judge

# every item's gold is A (response 1).  Vote 0 first says B, votes 1 and 2 say A; after one
# "Wait" round every vote says A.  So: k=1 -> wrong, k=2 -> tie (wrong), k=3 -> right;
# round 1 -> right whatever k.
_A = "<answer>8</answer><answer>3</answer>"
_B = "<answer>3</answer><answer>8</answer>"


def _responder(request: GenerationRequest, index: int) -> str:
    vote = index + (request.sampling.seed or 0)  # n votes in one request, or seed + vote
    if request.prompt.rstrip().endswith("Wait"):
        return " let me check again.\n</think>\n" + _A
    return "<think>\nfirst look\n</think>\n" + (_B if vote == 0 else _A)


def _pandalm(tmp: Path, n: int = 4) -> Path:
    rows = [
        {
            "idx": i,
            "motivation_app": "x",
            "cmp_key": "a_b",
            "instruction": f"Question {i}?",
            "input": "",
            "response1": "good answer",
            "response2": "bad answer",
            "annotator1": 1,
            "annotator2": 1,
            "annotator3": 1,
        }
        for i in range(n)
    ]
    path = tmp / "testset-v1.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    return path


def _completions(backend: MockBackend) -> int:
    return sum(call.sampling.n for call in backend.calls)


def _cfg(tmp: Path, name: str, data: Path, **kw: Any) -> BenchRunConfig:
    return BenchRunConfig("pandalm", "mock", tmp / name, data=data, mode="clean", **kw)


def _grid(out: Path) -> dict[tuple[int, int], float]:
    table = json.loads((out / "scaling.json").read_text())
    return {(g["votes"], g["round"]): g["metrics"]["accuracy"] for g in table["grid"]}


def test_vote_sweep_from_one_pass_costs_one_k_vote_run(tmp_path: Path) -> None:
    data = _pandalm(tmp_path)
    backend = MockBackend(responder=_responder)
    score = run_benchmark(_cfg(tmp_path, "k3", data, votes=3, plots=False), Judge(backend))
    assert score.metrics["accuracy"] == 1.0  # the headline is the 3-vote majority
    assert _grid(tmp_path / "k3") == {(1, 0): 0.0, (2, 0): 0.0, (3, 0): 1.0}
    sweep_work = _completions(backend)
    assert sweep_work == 4 * 3  # every sample generated once ...
    preds = [
        json.loads(x) for x in (tmp_path / "k3" / "predictions.jsonl").read_text().splitlines()
    ]
    assert all(len(p["extra"]["samples"]) == 3 for p in preds)  # ... and every one used
    # the same backend work as a plain 3-vote judge run of the same items
    plain = MockBackend(responder=_responder)
    Judge(plain).run(
        [{"question": "q", "responses": ["a", "b"], "protocol": "pandalm"}] * 4, votes=3
    )
    assert _completions(plain) == sweep_work
    # and k = 1 is exactly what a separate 1-vote run scores
    one = run_benchmark(
        _cfg(tmp_path, "k1", data, plots=False), Judge(MockBackend(responder=_responder))
    )
    assert one.metrics["accuracy"] == _grid(tmp_path / "k3")[(1, 0)]
    assert not (tmp_path / "k1" / "scaling.json").exists()


def test_round_sweep_scores_the_verdict_after_each_wait(tmp_path: Path) -> None:
    data = _pandalm(tmp_path)
    backend = MockBackend(responder=_responder)
    score = run_benchmark(
        _cfg(tmp_path, "bf", data, votes=3, budget_forcing=1, plots=False), Judge(backend)
    )
    grid = _grid(tmp_path / "bf")
    assert grid[(1, 0)] == 0.0 and grid[(2, 0)] == 0.0 and grid[(3, 0)] == 1.0
    assert grid[(1, 1)] == grid[(2, 1)] == grid[(3, 1)] == 1.0
    assert score.metrics["accuracy"] == grid[(3, 1)]
    assert _completions(backend) == 4 * 3 * 2  # each vote: the first pass and one Wait round
    md = (tmp_path / "bf" / "scaling.md").read_text()
    assert "| votes | round 0 | round 1 |" in md and re.search(r"\| 3 \| 1\.0000", md)


def test_a_judge_with_votes_from_python_keeps_every_sample(tmp_path: Path) -> None:
    """The issue's 120 backend calls -> 12 scored rows: each vote now counts."""
    data = _pandalm(tmp_path)
    judge = Judge(MockBackend(responder=_responder), votes=3)
    score = run_benchmark(_cfg(tmp_path, "py", data, plots=False), judge)
    assert score.metrics["accuracy"] == 1.0
    assert set(_grid(tmp_path / "py")) == {(1, 0), (2, 0), (3, 0)}


def test_score_file_rescoring_and_report_curves(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    data = _pandalm(tmp_path)
    dirs = []
    for name, rounds in (("a", 0), ("b", 1)):
        run_benchmark(
            _cfg(tmp_path, name, data, votes=3, budget_forcing=rounds),
            Judge(MockBackend(responder=_responder)),
        )
        dirs.append(str(tmp_path / name))
    assert (tmp_path / "b" / "scaling.png").is_file()
    again = score_file(
        "pandalm",
        "test",
        tmp_path / "b" / "predictions.jsonl",
        "flexjudge",
        "clean",
        LoadConfig("test", data),
    )
    assert again.metrics["accuracy"] == 1.0  # the stored aggregate verdict is what is scored
    res = CliRunner().invoke(app, ["bench", "report", *dirs, "--out", str(tmp_path / "cmp")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "cmp" / "scaling.png").is_file()
    md = (tmp_path / "cmp" / "scaling.md").read_text()
    assert "## a" in md and "## b" in md


def test_prediction_verdict_round_trips() -> None:
    from flexjudge.protocol import get_protocol

    v = get_protocol("pandalm").parse(_A, mode="clean", count=2)
    p = Prediction("1", 0, _B, (0, 1), verdict=v)
    back = Prediction.from_dict(json.loads(json.dumps(p.to_dict())))
    assert back.verdict is not None and back.verdict.preference == "A"
    assert back.parse(get_protocol("pandalm"), "clean", 2).preference == "A"


def test_rescoring_rederives_the_aggregate_from_the_samples(tmp_path: Path) -> None:
    """`bench score` re-parses: a stored aggregate is never trusted over the samples."""
    data = _pandalm(tmp_path)
    run_benchmark(
        _cfg(tmp_path, "k3", data, votes=3, plots=False), Judge(MockBackend(responder=_responder))
    )
    path = tmp_path / "k3" / "predictions.jsonl"
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    for r in rows:  # forge the stored aggregate: every item "B"
        r["verdict"]["preference"] = "B"
        r["verdict"]["scores"] = [1.0, 9.0]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for mode in ("clean", "reference"):
        again = score_file("pandalm", "test", path, "flexjudge", mode, LoadConfig("test", data))
        assert again.metrics["accuracy"] == 1.0, mode
