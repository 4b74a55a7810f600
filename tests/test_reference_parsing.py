"""Issue 11 items 5-6: the reference parsers convert as the authors' scripts do.

Item 5: integers are parsed with ``int()`` (exact beyond 2**53), so a verdict between two
huge scores does not flip.  Item 6: the molecule pair judge (``get_win_response``) needs
exactly two scores; three answer tags are "no decision".
"""

from __future__ import annotations

import pytest

from flexjudge.bench import BenchRecord, Prediction, get_benchmark
from flexjudge.protocol import ParseStatus, get_protocol, parse_scores

BIG = "<answer>12345678901234567891</answer><answer>12345678901234567890</answer>"


def test_huge_integers_are_compared_exactly() -> None:
    assert float(12345678901234567891) == float(12345678901234567890)  # why float() flipped
    v = parse_scores(BIG, count=2, mode="reference")
    assert v.ok and v.preference == "A"
    assert v.scores == (12345678901234567891, 12345678901234567890)
    assert all(type(s) is int for s in v.scores)
    ranking = parse_scores(BIG, count=2, mode="reference").ranking
    assert ranking == (0, 1)


def _pair(gold: str, **kw: object) -> BenchRecord:
    return BenchRecord("r0", gold, {"original_dataset": "c"}, "q", ["x", "y"], **kw)  # type: ignore[arg-type]


def test_huge_integers_in_every_reference_benchmark_verdict() -> None:
    # MLLM pair: A (the reference's pred "A")
    pair = get_benchmark("mllm-judge").evaluate(
        "pair", [_pair("A")], [Prediction("r0", 0, BIG, (0, 1))], "reference"
    )
    assert pair.rows[0].pred == "A"
    # VL-RewardBench: [0, 1] — the first response preferred
    vl = get_benchmark("vl-rewardbench").evaluate(
        "test", [_pair("A")], [Prediction("r0", 0, BIG, (0, 1))], "reference"
    )
    assert vl.rows[0].pred == "A" and vl.rows[0].correct
    # MJ-Bench: 0 (image0 preferred), not the tie 2
    mj_rec = BenchRecord("r0", "A", {"perspective": "alignment"}, "cap", images=["a", "b"])
    mj = get_benchmark("mj-bench").evaluate(
        "alignment", [mj_rec], [Prediction("r0", 0, BIG, (0, 1))], "reference"
    )
    assert mj.rows[0].pred == "A" and not mj.rows[0].failed
    # MLLM batch: "AB"
    batch_rec = BenchRecord("r0", "AB", {"original_dataset": "c"}, "q", ["x", "y"])
    batch = get_benchmark("mllm-judge").evaluate(
        "batch", [batch_rec], [Prediction("r0", 0, BIG)], "reference"
    )
    assert batch.rows[0].pred == "AB" and batch.rows[0].judge == 0.0


def test_reference_decimal_and_pampa_patterns_stay_float() -> None:
    assert get_protocol("nisqa").parse("<answer>3</answer>", mode="reference").scores == (3.0,)
    pampa = get_protocol("mol/pampa").parse("<answer>7</answer>", mode="reference")
    assert type(pampa.scores[0]) is float  # best_of_N.py: search + float()


@pytest.mark.parametrize(
    ("text", "status", "preference"),
    [
        ("<answer>8</answer><answer>7</answer><answer>9</answer>", ParseStatus.WRONG_COUNT, None),
        ("<answer>8</answer><answer>7</answer>", ParseStatus.OK, "A"),
        ("<answer>7</answer><answer>8.5</answer>", ParseStatus.OK, "B"),
        ("<answer>8</answer>", ParseStatus.WRONG_COUNT, None),
    ],
)
def test_mol_pair_needs_exactly_two_scores(
    text: str, status: ParseStatus, preference: str | None
) -> None:
    v = get_protocol("mol/pair").parse(text, mode="reference")
    assert v.status is status and v.preference == preference
    clean = get_protocol("mol/pair").parse(text, mode="clean")
    assert clean.ok == (status is ParseStatus.OK)


def test_other_pair_protocols_still_ignore_extra_tags() -> None:
    # lrm_process / MLLM pair: "if at least two", extra tags beyond the second ignored
    text = "<answer>8</answer><answer>7</answer><answer>9</answer>"
    v = get_protocol("mllm-judge/pair").parse(text, mode="reference")
    assert v.ok and v.preference == "A" and v.scores == (8, 7)
