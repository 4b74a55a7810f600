"""Metric definitions, quirks and schema drift of the benchmark harness on synthetic data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from flexjudge.bench import (
    BenchRecord,
    LoadConfig,
    Prediction,
    bootstrap_ci,
    get_benchmark,
    normalized_levenshtein,
    pearson,
    precision_recall_f1,
    spearman,
)
from flexjudge.bench.tasks.vl_rewardbench import task_group


def test_correlations_match_scipy() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x = rng.integers(1, 6, 50).astype(float)
    y = x + rng.normal(0, 1.5, 50)
    assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y)[0])
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y)[0])
    assert math.isnan(pearson([3, 3, 3], [1, 2, 3]))


def test_macro_f1_matches_sklearn_with_failures() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    gold = [0, 1, 2, 1, 2, 2, 0, 1]
    pred = [0, 2, 2, 1, -1, 2, 1, 1]  # -1: an unparsable output
    ours = precision_recall_f1(pred, gold, [0, 1, 2])
    p, r, f, _ = metrics.precision_recall_fscore_support(
        gold, pred, labels=[0, 1, 2], average="macro", zero_division=0
    )
    assert (ours["precision"], ours["recall"], ours["f1"]) == pytest.approx((p, r, f))


def test_levenshtein_and_bootstrap() -> None:
    assert normalized_levenshtein("", "ABCD") == 1.0
    assert normalized_levenshtein("ABDC", "ABCD") == pytest.approx(2 / 4)
    assert normalized_levenshtein("ABCDE", "ABCD") == pytest.approx(1 / 5)
    vals = [1.0] * 30 + [0.0] * 70
    lo, hi = bootstrap_ci(vals, seed=3)
    assert (lo, hi) == bootstrap_ci(vals, seed=3)
    assert lo < 0.3 < hi


def _pair_records(n: int, gold: str = "A") -> list[BenchRecord]:
    return [
        BenchRecord(
            str(i), gold, {"perspective": "alignment", "subset": "s"}, "cap", images=["a", "b"]
        )
        for i in range(n)
    ]


def test_mj_bench_q9_trials_beyond_one_are_not_flipped_back_in_reference() -> None:
    bench = get_benchmark("mj-bench")
    recs = _pair_records(4)
    first = "<answer>9</answer><answer>2</answer>"  # the first shown image is better
    preds = []
    for k in range(3):
        order = (0, 1) if k == 0 else (1, 0)
        preds += [Prediction(r.id, k, first, order) for r in recs]
    ref = bench.evaluate("alignment", recs, preds, "reference")
    clean = bench.evaluate("alignment", recs, preds, "clean")
    by_trial = {k: [r.pred for r in ref.rows if r.trial == k] for k in range(3)}
    # trial 1 flipped back to record order (image1 = "B"), trial 2 left positional (Q9)
    assert by_trial == {0: ["A"] * 4, 1: ["B"] * 4, 2: ["A"] * 4}
    assert [r.pred for r in clean.rows if r.trial == 2] == ["B"] * 4
    assert any("Q9" in q for q in ref.quirks)
    assert ref.metrics["accuracy"] == pytest.approx(2 / 3)
    assert clean.metrics["accuracy"] == pytest.approx(1 / 3)


def test_failures_are_ties_in_reference_and_parse_failures_in_clean() -> None:
    bench = get_benchmark("vl-rewardbench")
    recs = [
        BenchRecord(f"povid_{i}", "A", {"task": "hallucination"}, "q", ["x", "y"], images=["i"])
        for i in range(2)
    ]
    recs.append(
        BenchRecord("mathverse_9", "B", {"task": "reasoning"}, "q", ["x", "y"], images=["i"])
    )
    preds = [
        Prediction("povid_0", 0, "<answer>7</answer><answer>3</answer>", (0, 1)),
        Prediction("povid_1", 0, "I cannot decide", (1, 0)),
        Prediction("mathverse_9", 0, "<answer>7</answer><answer>3</answer>", (1, 0)),
    ]
    ref = bench.evaluate("test", recs, preds, "reference")
    clean = bench.evaluate("test", recs, preds, "clean")
    assert [r.pred for r in ref.rows] == ["A", "tie", "B"]
    assert [r.pred for r in clean.rows] == ["A", None, "B"]
    assert ref.metrics["accuracy"] == pytest.approx(2 / 3)
    assert ref.metrics["macro_accuracy"] == pytest.approx((0.5 + 1.0) / 2)
    assert clean.counts["parse_failures"] == 1 and clean.counts["wrong"] == 1
    assert task_group("RLAIF-V_12") == "hallucination" and task_group("wildvision_1") == "general"


def test_genai_reference_vs_clean_equivalences_and_majority() -> None:
    bench = get_benchmark("genai-bench")
    recs = [BenchRecord("0", "tievote"), BenchRecord("1", "leftvote")]
    outs = {
        ("0", 0): "<answer>[[A=B]]</answer>",
        ("0", 1): "<answer>[[A=B=Good]]</answer>",
        ("0", 2): "<answer>[[A=B]]</answer>",
        ("1", 0): "none here",
        ("1", 1): "<answer>[[A>B]]</answer>",
        ("1", 2): "none at all",
    }
    preds = [Prediction(i, k, t) for (i, k), t in outs.items()]
    ref = bench.evaluate("image", recs, preds, "reference")
    clean = bench.evaluate("image", recs, preds, "clean")
    # reference: [[A=B]] -> bothbad_vote (Q18), no match -> "none"
    assert [r.pred for r in ref.rows] == [
        "bothbad_vote",
        "tievote",
        "bothbad_vote",
        "none",
        "leftvote",
        "none",
    ]
    assert ref.metrics["accuracy"] == pytest.approx((0.0 + 1.0 + 0.0) / 3)  # per trial, mean
    assert ref.metrics["majority_accuracy"] == 0.0  # bothbad wins; "none" wins item 1
    assert clean.metrics["accuracy"] == pytest.approx((0.5 + 1.0 + 0.5) / 3)  # [[A=B]] ~ tie
    assert clean.metrics["majority_accuracy"] == 1.0


def test_audio_fallback_rounding_and_system_level(tmp_path: Path) -> None:
    wav = tmp_path / "wav"
    wav.mkdir()
    lst = tmp_path / "list.txt"
    lst.write_text("sysA-1.wav,3.26\nsysA-2.wav,4.0\nsysB-1.wav,2.04\nsysC-1.wav,1.5\nbad\n")
    gold = tmp_path / "sys.csv"
    gold.write_text("system,mean\nsysA,3.5\nsysB,2.0\nsysC,1.4\n")
    bench = get_benchmark("bvcc")
    recs = bench.load(LoadConfig("test", lst, gold=gold))
    assert recs[-1].error is not None and "score" in recs[-1].error
    texts = ["<answer>3.5</answer>", "rating: 4", "nothing numeric", "<answer>1.2</answer>"]
    preds = [Prediction(r.id, 0, t) for r, t in zip(recs, texts, strict=False)]
    ref = bench.evaluate("test", recs, preds, "reference")
    judge = [r.judge for r in ref.rows if r.error is None]
    assert judge == [3.5, 4.0, 0.0, 1.2]  # BVCC cascade, then 0.0 (Q17)
    assert [r.human for r in ref.rows if r.error is None] == [3.3, 4.0, 2.0, 1.5]
    assert ref.counts["errors"] == 1
    want = pearson([3.75, 0.0, 1.2], [3.5, 2.0, 1.4])
    assert ref.metrics["system_lcc"] == pytest.approx(want)
    clean = bench.evaluate("test", recs, preds, "clean")
    assert [r.judge for r in clean.rows if r.error is None] == [3.5, None, None, 1.2]
    assert clean.counts["parse_failures"] == 2


def test_mllm_schema_drift_and_errors(tmp_path: Path) -> None:
    rows = [
        {
            "id": 1,
            "score_id": 0,
            "image_path": "image/1.jpg",
            "original_dataset": "coco",
            "instruction": "q",
            "answer": "a",
            "name": "m",
            "human": "4",
        },
        {
            "id": 2,
            "score_id": 1,
            "image_path": "2.jpg",
            "original_dataset": "coco",
            "instruction": "q",
            "answer": "a",
            "name": "m",
            "human": 3,
        },
        {
            "id": 3,
            "score_id": 2,
            "image_path": "3.jpg",
            "instruction": "q",
            "answer": "a",
            "human": "four",
        },
        {"id": 4, "score_id": 3, "instruction": "q", "answer": "a", "human": 2},
    ]
    (tmp_path / "image").mkdir()
    data = tmp_path / "score.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recs = get_benchmark("mllm-judge").load(LoadConfig("score", data))
    assert [r.gold for r in recs[:2]] == [4.0, 3.0]
    assert recs[0].images == [str(tmp_path / "image" / "1.jpg")]  # Q19: no doubled image/
    assert "field 'human'" in str(recs[2].error) and "score.jsonl:3" in str(recs[2].error)
    assert "field 'image_path'" in str(recs[3].error)


def test_score_cli_prints_metrics_json(tmp_path: Path) -> None:
    from flexjudge.cli import app

    rows = [
        {
            "idx": i,
            "instruction": "x",
            "input": "",
            "response1": "a",
            "response2": "b",
            "annotator1": g,
            "annotator2": g,
            "annotator3": 0,
            "output": f"<answer>{s[0]}</answer><answer>{s[1]}</answer>",
        }
        for i, (g, s) in enumerate([(1, (8, 3)), (2, (8, 3)), (2, (2, 9)), (0, (5, 5))])
    ]
    path = tmp_path / "results.json"
    path.write_text(json.dumps(rows))
    res = CliRunner().invoke(
        app,
        [
            "bench",
            "score",
            "pandalm",
            "--predictions",
            str(path),
            "--format",
            "judgelrm",
            "--out",
            str(tmp_path / "rep"),
            "--no-plots",
        ],
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout.strip().splitlines()[-1])
    assert d["accuracy"] == 0.75 and d["f1"] == pytest.approx((1.0 + 2 / 3 + 2 / 3) / 3)
    assert {"precision", "recall", "parse_failure_rate", "counts"} <= set(d)
    assert (tmp_path / "rep" / "report.md").read_text().startswith("# pandalm / test")
    bad = CliRunner().invoke(
        app, ["bench", "score", "pandalm", "--predictions", str(path), "--format", "genai-bench"]
    )
    assert bad.exit_code != 0 and "genai-bench" in str(bad.exception or bad.output)


def test_genai_pairwise_file_with_bad_records(tmp_path: Path) -> None:
    from flexjudge.bench import score_file

    path = tmp_path / "pairwise.jsonl"
    path.write_text(
        json.dumps({"idx": 0, "response": "so [[A>>B]]", "human_vote": "leftvote"})
        + "\n"
        + json.dumps({"idx": 1, "response": "[[A=B]] ok", "human_vote": "maybe"})
        + "\n{oops\n"
        + json.dumps({"idx": 3, "response": 7, "human_vote": "tievote"})
        + "\n"
    )
    score = score_file("genai-bench", "image", path, "genai-bench", "reference")
    assert score.metrics["accuracy"] == 1.0
    assert score.counts["errors"] == 3 and score.counts["scored"] == 1
    reasons = " ".join(str(r.error) for r in score.rows if r.error)
    assert "human_vote" in reasons and "not valid JSON" in reasons and "'response'" in reasons


def test_hub_loading_offline_is_a_clear_input_error() -> None:
    from flexjudge.errors import InputError

    with pytest.raises(InputError, match="--data"):
        get_benchmark("vl-rewardbench").load(LoadConfig("test"))
    with pytest.raises(InputError, match="--data"):
        get_benchmark("nisqa").load(LoadConfig("test"))
