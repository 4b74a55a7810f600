"""Best-of-N selection (spec §11.6) on a scripted mock judge: selection, ties, drops, N curve."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flexjudge import Judge
from flexjudge.apps import BestOfNConfig, CandidateRecord, best_of_n, write_best_of_n
from flexjudge.backends import GenerationRequest, MockBackend
from flexjudge.cli import app


def scripted(request: GenerationRequest, index: int) -> str:
    """Answers with the ``score=N`` values written in the responses, in presentation order."""
    user = request.prompt.split("<|im_end|>", 1)[1]
    values = re.findall(r"score=(\w+)", user)
    if "bad" in values:
        return "<think>\nI cannot decide.\n</think>\nno verdict"
    return "<think>\nweighing\n</think>\n" + "".join(f"<answer>{v}</answer>" for v in values)


@pytest.fixture
def judge() -> Judge:
    return Judge(MockBackend(responder=scripted))


def rec(rid: str, scores: list[str], labels: list[bool] | None = None) -> CandidateRecord:
    responses = [f"candidate {i} score={s}" for i, s in enumerate(scores)]
    return CandidateRecord(
        rid, "Which molecule?", responses, None if labels is None else [float(x) for x in labels]
    )


def test_score_strategy_picks_max_and_breaks_ties_at_random_with_a_seed(judge: Judge) -> None:
    records = [
        rec("a", ["3", "9", "9", "1"], [False, True, True, False]),
        rec("b", ["2", "bad", "7", "5"], [False, True, True, False]),
    ]
    report = best_of_n(judge, records, BestOfNConfig(trials=20, seed=1))
    a, b = report.records
    assert a.scores == [3.0, 9.0, 9.0, 1.0]
    assert set(a.selected) == {1, 2}  # the tie is broken both ways over 20 trials
    assert b.scores[1] is None and set(b.selected) == {2}
    assert report.summary["unparseable_candidates"] == 1
    again = best_of_n(judge, records, BestOfNConfig(trials=20, seed=1))
    assert again.records[0].selected == a.selected  # same seed, same picks
    curve = {c["n"]: c for c in report.summary["accuracy_vs_n"]}
    assert sorted(curve) == [1, 2, 4]
    assert curve[4]["accuracy_mean"] == 1.0 and curve[4]["accuracy_std"] == 0.0
    assert curve[1]["accuracy_mean"] < 1.0
    corr = report.summary["score_label_correlation"]
    assert corr["n"] == 7 and corr["pearson"] > 0.5


def test_record_without_scored_candidate_is_left_out_of_accuracy(judge: Judge) -> None:
    records = [rec("a", ["bad", "bad"], [True, False]), rec("b", ["1", "8"], [False, True])]
    report = best_of_n(judge, records, BestOfNConfig(trials=3))
    assert report.records[0].selected == [None, None, None]
    assert report.summary["records_without_scored_candidate"] == 1
    full = report.summary["accuracy_vs_n"][-1]
    assert full["accuracy_per_trial"] == [1.0, 1.0, 1.0]  # 1/1, not 1/2


def test_pairwise_tournament_finds_the_best(judge: Judge) -> None:
    records = [rec("a", ["2", "6", "9", "4", "1"], [False, False, True, False, False])]
    report = best_of_n(judge, records, BestOfNConfig(strategy="pairwise-tournament", trials=4))
    assert report.records[0].selected == [2, 2, 2, 2]
    assert report.summary["accuracy_vs_n"][-1]["accuracy_mean"] == 1.0
    assert report.summary["coin_flips"] == 0
    assert report.records[0].scores[2] == 1.0  # won every match it played


def test_bad_records_are_reported_not_fatal(judge: Judge) -> None:
    from flexjudge.errors import InputError

    report = best_of_n(judge, [InputError("invalid JSON", record="f:2"), rec("ok", ["5"])])
    assert report.records[0].error is not None and report.records[1].selected[0] == 0
    assert report.summary["input_errors"] == 1


def test_cli_writes_summary_and_plot(tmp_path: Path) -> None:
    lines = [
        {"question": "q1", "responses": ["x score=2", "y score=8"], "labels": [0, 1]},
        {
            "question": "q2",
            "responses": ["x score=5", "y score=3", "z score=bad"],
            "labels": [True, False, False],
        },
        {"question": "q3", "responses": "not a list"},
    ]
    src = tmp_path / "cands.jsonl"
    src.write_text("\n".join(json.dumps(x) for x in lines) + "\n{broken\n")
    out = tmp_path / "bon"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "bon",
            "--model",
            "mock",
            "--backend",
            "mock",
            "--input",
            str(src),
            "--out",
            str(out),
            "--trials",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["input_errors"] == 2 and summary["labelled_records"] == 2
    assert (out / "accuracy_vs_n.png").stat().st_size > 1000
    assert len((out / "judgments.jsonl").read_text().splitlines()) == 5
    rows = [json.loads(x) for x in (out / "selections.jsonl").read_text().splitlines()]
    assert rows[0]["scores"] is not None and len(rows) == 4


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        BestOfNConfig(strategy="vote")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        BestOfNConfig(trials=0)


def test_write_without_labels_has_no_plot(judge: Judge, tmp_path: Path) -> None:
    paths = write_best_of_n(best_of_n(judge, [rec("a", ["1", "2"])]), tmp_path)
    assert "plot" not in paths and paths["summary"].exists()
