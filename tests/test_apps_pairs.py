"""DPO pairs: flip-consistency filter (spec §11.9), expect-first, TRL format, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flexjudge import Judge
from flexjudge.apps import CandidateRecord, PairsConfig, build_pairs
from flexjudge.apps._pairs import decide
from flexjudge.backends import GenerationRequest, MockBackend
from flexjudge.cli import app


def positional(request: GenerationRequest, index: int) -> str:
    """The question says who wins each direction (``fwd=first rev=second``: Answer 1 wins
    forward, Answer 2 wins reversed); forward is the order with r0 shown first."""
    user = request.prompt.split("<|im_end|>", 1)[1]
    plan = dict(re.findall(r"(fwd|rev)=(\w+)", user))
    direction = "fwd" if user.index("r0text") < user.index("r1text") else "rev"
    verdict = plan[direction]
    if verdict == "fail":
        return "<think>\n?\n</think>\nnone"
    a, b = {"first": ("9", "2"), "second": ("2", "9"), "tie": ("5", "5")}[verdict]
    return f"<think>\nok\n</think>\n<answer>{a}</answer><answer>{b}</answer>"


@pytest.fixture
def judge() -> Judge:
    return Judge(MockBackend(responder=positional))


def pair(rid: str, fwd: str, rev: str, images: list[str] | None = None) -> CandidateRecord:
    return CandidateRecord(
        rid,
        f"Q {rid} fwd={fwd} rev={rev}",
        ["r0text low temp", "r1text high temp"],
        media={"images": images} if images else {},
    )


def test_decide_table() -> None:
    cfg = PairsConfig()
    assert decide(0, 1, cfg) == (0, None)
    assert decide(1, 0, cfg) == (1, None)
    assert decide(0, 0, cfg) == (None, "order_dependent")
    assert decide(1, 1, cfg) == (None, "order_dependent")
    assert decide(-1, 1, cfg) == (None, "tie")
    assert decide(1, 0, PairsConfig(expect_first=True)) == (None, "expected_lost")
    assert decide(1, -1, PairsConfig(require_consistent=False)) == (1, None)


def test_only_flip_consistent_pairs_are_kept(judge: Judge) -> None:
    records = [
        pair("keep0", "first", "second"),
        pair("keep1", "second", "first"),
        pair("posbias", "first", "first"),
        pair("tie", "tie", "tie"),
        pair("fail", "fail", "second"),
        pair("revfail", "first", "fail"),
    ]
    report = build_pairs(judge, records)
    reasons = {d.id: d.reason for d in report.decisions}
    assert reasons == {
        "keep0": None,
        "keep1": None,
        "posbias": "order_dependent",
        "tie": "tie",
        "fail": "forward_failed",
        "revfail": "reverse_failed",
    }
    rows = {r["id"]: r for r in report.pairs}
    assert rows["keep0"]["chosen"].startswith("r0") and rows["keep0"]["rejected"].startswith("r1")
    assert rows["keep1"]["chosen"].startswith("r1")
    assert report.summary["kept"] == 2 and report.summary["dropped"] == 4
    fwd_prompt = judge.backend.calls[0].prompt  # type: ignore[attr-defined]
    assert fwd_prompt.index("r0text") < fwd_prompt.index("r1text")
    rev_prompt = judge.backend.calls[1].prompt  # type: ignore[attr-defined]
    assert rev_prompt.index("r1text") < rev_prompt.index("r0text")


def test_expect_first_drops_pairs_the_expected_sample_lost(judge: Judge) -> None:
    report = build_pairs(
        judge,
        [pair("a", "first", "second"), pair("b", "second", "first")],
        PairsConfig(expect_first=True),
    )
    assert [r["id"] for r in report.pairs] == ["a"]
    assert report.summary["dropped_by_reason"]["expected_lost"] == 1


def test_images_and_conversational_format(judge: Judge, tmp_path: Path) -> None:
    from flexjudge.testing import make_test_image

    img = tmp_path / "x.png"
    make_test_image(16, 16).save(img)
    report = build_pairs(
        judge, [pair("v", "first", "second", [str(img)])], PairsConfig(conversational=True)
    )
    row = report.pairs[0]
    assert row["images"] == [str(img)]
    assert row["prompt"][0]["content"][0] == {"type": "image"}
    assert row["chosen"] == [{"role": "assistant", "content": "r0text low temp"}]


def test_missing_image_is_an_input_error_not_a_crash(judge: Judge, tmp_path: Path) -> None:
    report = build_pairs(
        judge,
        [pair("m", "first", "second", [str(tmp_path / "no.png")]), pair("ok", "first", "second")],
    )
    assert report.decisions[0].reason == "input_error" and "images" in (
        report.decisions[0].error or ""
    )
    assert report.summary["kept"] == 1


def test_cli_pairs(tmp_path: Path) -> None:
    src = tmp_path / "two.jsonl"
    rows = [{"question": f"q{i}", "responses": [f"a{i}", f"b{i}"]} for i in range(6)]
    rows.append({"question": "three", "responses": ["a", "b", "c"]})
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "pairs.jsonl"
    res = CliRunner().invoke(
        app, ["pairs", "--model", "m", "--backend", "mock", "--input", str(src), "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(out.with_suffix(".summary.json").read_text())
    assert summary["total"] == 7 and summary["dropped_by_reason"]["input_error"] == 1
    kept = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(kept) == summary["kept"]
    assert all(set(r) >= {"prompt", "chosen", "rejected"} for r in kept)
