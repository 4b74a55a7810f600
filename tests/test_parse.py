"""Parsing: reference regex behaviour (spec §3.3) and the clean parser's robustness."""

from __future__ import annotations

import json

import pytest

from conftest import shared_path
from flexjudge.protocol import (
    ParseStatus,
    Scale,
    extract_reasoning,
    get_protocol,
    parse_mos_cascade,
    parse_option,
    parse_scores,
)


def _judgelrm_result(v) -> int:  # type: ignore[no-untyped-def]
    a, b = v.scores
    return 1 if a > b else 2 if a < b else 0


@pytest.mark.parametrize("name", ["results_judgelrm7b.json", "results_r1_sample.json"])
def test_reference_mode_reproduces_judgelrm_results(name: str) -> None:
    records = json.loads(shared_path("data", "judgelrm", name).read_text())
    assert records
    for rec in records:
        v = parse_scores(rec["output"], count=2, mode="reference")
        assert v.status is ParseStatus.OK, rec["idx"]
        assert _judgelrm_result(v) == rec["result"], rec["idx"]


def test_judgelrm_3b_spaces_need_clean_mode() -> None:
    """JudgeLRM-3B writes ``<answer> 8 </answer>``: the reference regex matches none of those
    (it reports no_answer, never a silent tie); clean mode reproduces every ``result``."""
    records = json.loads(shared_path("data", "judgelrm", "results_judgelrm3b.json").read_text())
    reference_ok = out_of_range = 0
    for rec in records:
        ref = parse_scores(rec["output"], count=2, mode="reference")
        if ref.ok:
            reference_ok += 1
            assert _judgelrm_result(ref) == rec["result"]
        else:
            assert ref.status is ParseStatus.NO_ANSWER and ref.preference is None
        clean = parse_scores(rec["output"], count=2, mode="clean")
        assert clean.ok, rec["idx"]
        assert _judgelrm_result(clean) == rec["result"], rec["idx"]
        checked = parse_scores(rec["output"], count=2, mode="clean", scale=Scale(1, 10))
        if not checked.ok:  # e.g. idx 472 answers 0 and 0 on a 1-10 scale
            assert checked.status is ParseStatus.OUT_OF_RANGE
            out_of_range += 1
    assert reference_ok == 6  # the six 3B outputs without spaces
    assert out_of_range >= 1
    assert len(records) == 800


def test_r1_reasoning_numbers_do_not_leak_into_the_verdict() -> None:
    rec = json.loads(shared_path("data", "judgelrm", "results_r1_sample.json").read_text())[0]
    assert "Assistant 1: 5, Assistant 2: 3" in rec["output"]
    v = parse_scores(rec["output"], count=2, mode="clean")
    assert v.scores == (5.0, 4.0)
    assert v.reasoning is not None and "Assistant 1: 5" in v.reasoning


def test_clean_ignores_answers_quoted_inside_reasoning() -> None:
    text = (
        "<think>I could write <answer>1</answer><answer>9</answer>.</think>"
        "<answer>7</answer><answer>3</answer>"
    )
    assert parse_scores(text, count=2, mode="clean").scores == (7.0, 3.0)
    assert parse_scores(text, count=2, mode="reference").scores == (1.0, 9.0)


def test_clean_anchors_on_last_answer_block_and_tolerates_decimals() -> None:
    text = (
        "draft <answer>2</answer><answer>2</answer> final: "
        "<answer> 8.5 </answer> <answer>6</answer>"
    )
    v = parse_scores(text, count=2, mode="clean", scale=Scale(1, 10))
    assert v.scores == (8.5, 6.0) and v.preference == "A"
    assert parse_scores("<answer>7, 4</answer>", count=2).scores == (7.0, 4.0)


def test_statuses() -> None:
    assert parse_scores("no tags at all", count=1).status is ParseStatus.NO_ANSWER
    assert parse_scores("<answer>3</answer>", count=2).status is ParseStatus.WRONG_COUNT
    assert parse_scores("<answer>12</answer>", count=1, scale=Scale(1, 10)).status is (
        ParseStatus.OUT_OF_RANGE
    )
    assert parse_scores("<answer>eight</answer>", count=1).status is ParseStatus.MALFORMED
    t = parse_scores("<think>still thinking", count=1, finish_reason="length")
    assert t.status is ParseStatus.TRUNCATED and t.reasoning == "still thinking"
    v = parse_scores("<answer>5</answer>", count=2, mode="reference")
    assert v.status is ParseStatus.WRONG_COUNT and v.preference is None


def test_equal_scores_are_an_explicit_tie_not_a_failure() -> None:
    v = parse_scores("<answer>6</answer><answer>6</answer>", count=2)
    assert v.ok and v.preference == "tie"


def test_rankings_and_reference_tie_order() -> None:
    text = "<answer>7</answer><answer>9</answer><answer>7</answer>"
    assert parse_scores(text, count=3, mode="clean").ranking == (1, 0, 2)
    # reference: sorted((score, letter), reverse=True) puts the later letter first on ties
    assert parse_scores(text, count=3, mode="reference").ranking == (1, 2, 0)


def test_option_reference_mapping_and_q18() -> None:
    assert parse_option("<answer>[[B<A]]</answer>", mode="reference").option == "A>B"
    v = parse_option("<answer>[[A=B]]</answer>", mode="reference")
    assert v.option == "A=B=Bad" and v.extra["unrecognised"] == "[[A=B]]"
    assert parse_option("[[A>B]] only", mode="reference").status is ParseStatus.NO_ANSWER
    assert parse_option("<answer>[[A>>B]]</answer>").option == "A>B"
    assert parse_option("<answer> [[a=b=good]] </answer>").option == "A=B=Good"
    assert parse_option("<answer>[[C]]</answer>").status is ParseStatus.MALFORMED


def test_decimal_reference_takes_first_hit() -> None:
    p = get_protocol("nisqa")
    v = p.parse("<answer>3.7</answer> <answer>4.1</answer>", mode="reference")
    assert v.scores == (3.7,)
    assert p.parse("<answer>4.</answer>", mode="reference").scores == (4.0,)


def test_bvcc_cascade() -> None:
    assert parse_mos_cascade("<answer>4.2</answer>").extra["source"] == "answer"
    v = parse_mos_cascade("The rating: 3.5 overall")
    assert v.scores == (3.5,) and v.extra["source"] == "keyword"
    v = parse_mos_cascade("I would say 2 out of five")
    assert v.scores == (2.0,) and v.extra["source"] == "bare"
    assert parse_mos_cascade("nothing here").status is ParseStatus.NO_ANSWER


def test_mllm_score_reference_uses_first_integer() -> None:
    p = get_protocol("mllm-judge/score")
    assert p.parse("<answer>4</answer><answer>2</answer>", mode="reference").scores == (4.0,)


def test_extract_reasoning_variants() -> None:
    assert extract_reasoning("<think> a </think><answer>1</answer>") == "a"
    assert extract_reasoning("prefixed reasoning</think><answer>1</answer>") == "prefixed reasoning"
    assert extract_reasoning("<answer>1</answer>") is None
