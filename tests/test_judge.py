"""Judge core on the deterministic mock backend: typed results, order mapping, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flexjudge import InputError, Judge, JudgeItem, ParseStatus
from flexjudge.backends import GenerationRequest, MockBackend
from flexjudge.cli import app


def scripted(*outputs: str) -> Judge:
    return Judge(MockBackend(outputs=list(outputs)))


def test_compare_result_is_typed_and_explicit_about_order() -> None:
    judge = scripted("<think>B is better</think><answer>3</answer><answer>8</answer>")
    r = judge.compare("q", "first", "second")
    assert r.ok and r.task == "compare" and r.protocol == "pair-10"
    assert r.scores == [3.0, 8.0] and r.preference == "B" and r.ranking == [1, 0]
    assert r.samples[0].order == (0, 1)
    assert r.reasoning == "B is better"
    assert len(r.prompt_sha256) == 1 and r.sampling["temperature"] == 0.6


def test_swap_maps_the_second_order_back() -> None:
    # first order: A(=resp0) wins 9-2; swapped order presents resp1 first and it loses 2-9
    judge = scripted("<answer>9</answer><answer>2</answer>", "<answer>2</answer><answer>9</answer>")
    r = judge.compare("q", "good", "bad", swap=True)
    assert [s.order for s in r.samples] == [(0, 1), (1, 0)]
    assert r.preference == "A" and r.scores == [9.0, 2.0] and r.agreement == 1.0


def test_swap_disagreement_becomes_tie() -> None:
    judge = scripted("<answer>9</answer><answer>2</answer>", "<answer>9</answer><answer>2</answer>")
    r = judge.compare("q", "x", "y", swap=True)
    assert r.preference == "tie"  # each order preferred its first position
    r = scripted(
        "<answer>9</answer><answer>2</answer>", "<answer>8</answer><answer>2</answer>"
    ).compare("q", "x", "y", swap=True, swap_policy="mean")
    assert r.scores == [5.5, 5.0] and r.preference == "A"


def test_votes_keep_every_sample_and_count_failures() -> None:
    judge = scripted("<answer>4</answer>", "<answer>2</answer>", "garbage", "<answer>4</answer>")
    r = judge.score("q", "r", votes=4)
    assert len(r.samples) == 4 and r.n_failed == 1
    assert r.scores == [pytest.approx(10 / 3)] and r.votes == {"4": 2, "2": 1}
    assert r.agreement == pytest.approx(2 / 3)
    assert r.samples[2].verdict.status is ParseStatus.NO_ANSWER
    assert r.sampling["n"] == 4


def test_all_samples_failing_gives_a_parse_status_not_a_tie() -> None:
    r = scripted("<answer>5</answer>").compare("q", "a", "b")
    assert r.status == "wrong_count" and r.preference is None and r.error


def test_rank_borda() -> None:
    judge = scripted("<answer>2</answer><answer>9</answer><answer>5</answer>")
    r = judge.rank("q", ["a", "b", "c"])
    assert r.ranking == [1, 2, 0] and r.scores == [2.0, 9.0, 5.0]


def test_random_order_is_seeded_like_vl_rewardbench() -> None:
    import numpy as np

    judge = Judge(MockBackend())
    items = [JudgeItem("q", ["a", "b"], id=str(i)) for i in range(20)]
    results = judge.run(items, order="random", seed=3)
    rng = np.random.RandomState(3)
    expected = [(0, 1) if rng.uniform() < 0.5 else (1, 0) for _ in items]
    assert [r.samples[0].order for r in results] == expected


def test_budget_forcing_records_each_round() -> None:
    calls: list[str] = []

    def responder(req: GenerationRequest, index: int) -> str:
        calls.append(req.prompt)
        rounds = req.prompt.count("Wait")
        return f"thought {rounds}</think><answer>{rounds + 3}</answer>"

    judge = Judge(MockBackend(responder=responder), budget_forcing=2)
    r = judge.score("q", "a")
    s = r.samples[0]
    assert [v.scores for v in s.rounds] == [(3.0,), (4.0,), (5.0,)]
    assert r.scores == [5.0]
    assert calls[1].endswith("thought 0\nWait") and calls[2].endswith("thought 1\nWait")


def test_bad_items_become_error_rows_and_the_batch_goes_on() -> None:
    judge = Judge(MockBackend())
    results = judge.run(
        [
            {"id": "ok", "question": "q", "responses": ["a", "b"]},
            {"id": "bad", "question": "q", "responses": "not a list"},
            {"id": "img", "question": "q", "responses": ["a"], "images": ["/no/such/file.png"]},
            {"id": "proto", "question": "q", "responses": ["a"], "protocol": "nope"},
        ]
    )
    assert [r.status for r in results] == ["ok", "error", "error", "error"]
    assert "responses" in (results[1].error or "")
    assert results[2].error_field == "images[0]" and "/no/such/file.png" in (results[2].error or "")
    assert "unknown protocol" in (results[3].error or "")


def test_single_call_raises_input_error_naming_the_field() -> None:
    with pytest.raises(InputError, match="images"):
        Judge(MockBackend()).score("q", "a", images=["/missing.png"])


def test_result_round_trips_through_dict() -> None:
    from flexjudge import JudgeResult

    r = Judge(MockBackend()).compare("q", "a", "b", votes=3, swap=True)
    again = JudgeResult.from_dict(json.loads(json.dumps(r.to_dict())))
    assert again.to_dict() == r.to_dict()


def test_cli_run_writes_error_rows(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text(
        "\n".join(
            [
                json.dumps({"id": "a", "question": "q", "responses": ["x", "y"]}),
                "{not json",
                json.dumps(
                    {"id": "c", "question": "q", "responses": ["x"], "images": ["/nope.jpg"]}
                ),
                json.dumps({"id": "d", "question": "q", "responses": ["x", "y", "z"]}),
            ]
        )
        + "\n"
    )
    out = tmp_path / "results.jsonl"
    res = CliRunner().invoke(
        app,
        [
            "judge",
            "run",
            "--model",
            "m",
            "--backend",
            "mock",
            "--input",
            str(items),
            "--output",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "error", "error", "ok"]
    assert rows[0]["id"] == "a" and rows[3]["task"] == "rank"
    assert "items.jsonl:2" in rows[1]["error"]


def test_cli_single_commands_print_json() -> None:
    res = CliRunner().invoke(
        app,
        [
            "judge",
            "compare",
            "--model",
            "m",
            "--backend",
            "mock",
            "--question",
            "q",
            "--response",
            "a",
            "--response",
            "b",
            "--votes",
            "3",
            "--swap",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["task"] == "compare" and len(data["samples"]) == 6
    res = CliRunner().invoke(app, ["protocols", "list"])
    assert "mllm-judge/pair" in res.output and "genai-bench/video" in res.output


def test_undecodable_media_fails_its_item_at_batch_time_only(tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png")
    judge = Judge(MockBackend(), batch_size=8)
    items = [
        {"id": "ok", "question": "q", "responses": ["a", "b"]},
        {"id": "bad", "question": "q", "responses": ["a"], "images": [str(bad)]},
    ]
    results = judge.run(items)
    assert [r.status for r in results] == ["ok", "error"]
    assert results[1].error_field == "images[0]" and str(bad) in (results[1].error or "")
    with pytest.raises(InputError, match="images"):
        judge.score("q", "a", images=[str(bad)])
