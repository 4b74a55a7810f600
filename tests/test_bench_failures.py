"""Issue 11 items 1-3: how every benchmark's metrics count a parse failure, per mode.

Clean mode, the same rule everywhere: a failure is never dropped from a metric.  It counts
as a wrong verdict (classification), the worst distance 1.0 (MLLM batch) or the midpoint of
the protocol's scale (correlations).  So a run where some outputs are garbage must score
exactly like the same run with those outputs replaced by an explicit wrong / fallback answer,
and report the garbage as parse failures.  The test walks ``list_benchmarks()``: a benchmark
registered without an entry here fails it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from flexjudge.bench import BenchRecord, BenchScore, Prediction, get_benchmark, list_benchmarks
from flexjudge.errors import InputError

GARBAGE = "<think>I cannot decide.</think> No verdict."


def _pref_text(rec: BenchRecord, order: tuple[int, ...], *, right: bool) -> str:
    """Scores in presented order: the gold-preferred response gets 9 (2 when ``right`` is
    False), the other the opposite."""
    better = 0 if rec.gold == "A" else 1
    first_is_better = (order or (0, 1))[0] == better
    hi, lo = (9, 2) if right else (2, 9)
    a, b = (hi, lo) if first_is_better else (lo, hi)
    return f"<think>compare</think><answer>{a}</answer><answer>{b}</answer>"


@dataclass(frozen=True)
class Kit:
    """How to build four records of a split and a right / explicitly wrong output."""

    records: Callable[[str], list[BenchRecord]]
    right: Callable[[BenchRecord, tuple[int, ...]], str]
    fallback: Callable[[BenchRecord, tuple[int, ...]], str]
    metrics: tuple[str, ...]
    kind: str = "classification"


def _pairs(category: str, *, media: bool = False) -> Callable[[str], list[BenchRecord]]:
    def build(split: str) -> list[BenchRecord]:
        golds = ["A", "B", "A", "B"]
        return [
            BenchRecord(
                f"r{i}",
                g,
                {category: f"c{i % 2}", "perspective": split, "subset": "s"},
                "question",
                [] if media else ["answer one", "answer two"],
                images=["x.png", "y.png"] if media else ["x.png"],
            )
            for i, g in enumerate(golds)
        ]

    return build


def _scores(golds: list[float], category: str) -> Callable[[str], list[BenchRecord]]:
    def build(split: str) -> list[BenchRecord]:
        return [
            BenchRecord(f"r{i}", g, {category: "all"}, "q", ["answer"]) for i, g in enumerate(golds)
        ]

    return build


def _score_text(rec: BenchRecord, order: tuple[int, ...]) -> str:
    return f"<think>listen</think><answer>{float(rec.gold):.1f}</answer>"


def _midpoint(rec: BenchRecord, order: tuple[int, ...]) -> str:
    return "<think>listen</think><answer>3.0</answer>"


def _genai_records(split: str) -> list[BenchRecord]:
    return [BenchRecord(f"r{i}", g) for i, g in enumerate(["leftvote", "rightvote"] * 2)]


def _genai(rec: BenchRecord, order: tuple[int, ...], *, right: bool) -> str:
    left = (rec.gold == "leftvote") == right
    return f"<answer>{'[[A>B]]' if left else '[[B>A]]'}</answer>"


def _batch_records(split: str) -> list[BenchRecord]:
    return [
        BenchRecord(f"r{i}", "ABCD", {"original_dataset": "all"}, "q", ["a", "b", "c", "d"])
        for i in range(4)
    ]


PREF = ("accuracy", "accuracy_no_tie")
AUDIO = ("lcc", "srcc", "mse")
_AUDIO_GOLD = [1.5, 4.5, 2.0, 4.0]


def _right(rec: BenchRecord, order: tuple[int, ...]) -> str:
    return _pref_text(rec, order, right=True)


def _wrong(rec: BenchRecord, order: tuple[int, ...]) -> str:
    return _pref_text(rec, order, right=False)


def _audio_kit() -> Kit:
    return Kit(_scores(_AUDIO_GOLD, "set"), _score_text, _midpoint, AUDIO, "correlation")


KITS: dict[tuple[str, str], Kit] = {
    ("vl-rewardbench", "test"): Kit(_pairs("task"), _right, _wrong, (*PREF, "macro_accuracy")),
    ("judgelm", "val"): Kit(_pairs("category"), _right, _wrong, PREF),
    ("pandalm", "test"): Kit(_pairs("cmp_key"), _right, _wrong, PREF),
    ("mllm-judge", "pair"): Kit(
        _pairs("original_dataset"), _right, _wrong, ("accuracy_tie", "accuracy_no_tie")
    ),
    ("mllm-judge", "score"): Kit(
        _scores([1.0, 5.0, 2.0, 4.0], "original_dataset"),
        lambda r, o: f"<answer>{int(r.gold)}</answer>",
        lambda r, o: "<answer>3</answer>",
        ("pearson",),
        "correlation",
    ),
    ("mllm-judge", "batch"): Kit(
        _batch_records,
        lambda r, o: "".join(f"<answer>{s}</answer>" for s in (4, 3, 2, 1)),
        lambda r, o: "".join(f"<answer>{s}</answer>" for s in (1, 2, 3, 4)),  # DCBA: 1.0
        ("levenshtein",),
        "distance",
    ),
    **{
        ("mj-bench", s): Kit(_pairs("subset", media=True), _right, _wrong, PREF)
        for s in (
            "alignment",
            "safety",
            "quality",
        )
    },
    **{
        ("genai-bench", s): Kit(
            _genai_records,
            lambda r, o: _genai(r, o, right=True),
            lambda r, o: _genai(r, o, right=False),
            ("accuracy", "majority_accuracy"),
        )
        for s in ("image", "editing", "video")
    },
    **{(name, "test"): _audio_kit() for name in ("nisqa", "bvcc", "somos", "voxsim")},
    ("voxsim", "paper-scale"): Kit(  # 1.0-6.0: the midpoint is 3.5
        _scores(_AUDIO_GOLD, "set"),
        _score_text,
        lambda r, o: "<answer>3.5</answer>",
        AUDIO,
        "correlation",
    ),
}

SPLITS = [(b.name, s) for b in list_benchmarks() for s in b.splits]


def test_every_registered_benchmark_split_has_a_kit() -> None:
    assert set(SPLITS) == set(KITS)


def _run(
    name: str, split: str, outputs: Callable[[int, BenchRecord, tuple[int, ...]], str]
) -> BenchScore:
    bench = get_benchmark(name)
    recs = KITS[(name, split)].records(split)
    preds = []
    for trial in range(bench.default_trials):
        orders = bench.orders(recs, trial, "clean")
        for i, (rec, order) in enumerate(zip(recs, orders, strict=True)):
            preds.append(Prediction(rec.id, trial, outputs(i, rec, order), order))
    return bench.evaluate(split, recs, preds, "clean")


@pytest.mark.parametrize(("name", "split"), SPLITS)
def test_clean_failure_scores_like_an_explicit_wrong_answer(name: str, split: str) -> None:
    kit = KITS[(name, split)]
    trials = get_benchmark(name).default_trials

    def garbage(i: int, rec: BenchRecord, order: tuple[int, ...]) -> str:
        return kit.right(rec, order) if i < 2 else GARBAGE

    def explicit(i: int, rec: BenchRecord, order: tuple[int, ...]) -> str:
        return kit.right(rec, order) if i < 2 else kit.fallback(rec, order)

    failed, wrong = _run(name, split, garbage), _run(name, split, explicit)
    assert failed.counts["parse_failures"] == 2 * trials
    assert wrong.counts["parse_failures"] == 0
    for key in kit.metrics:
        assert not math.isnan(wrong.metrics[key]), key
        assert failed.metrics[key] == pytest.approx(wrong.metrics[key]), key
    if kit.kind == "classification":  # the half that failed is wrong, never left out
        assert failed.metrics[kit.metrics[0]] == pytest.approx(0.5)


@pytest.mark.parametrize(("name", "split"), SPLITS)
def test_clean_all_failed_is_a_number_not_null(name: str, split: str) -> None:
    kit = KITS[(name, split)]
    score = _run(name, split, lambda i, rec, order: GARBAGE)
    assert score.counts["parse_failures"] == score.counts["scored"] > 0
    if kit.kind == "classification":
        assert score.metrics[kit.metrics[0]] == 0.0
        assert score.to_dict()[kit.metrics[0]] == 0.0
    elif kit.kind == "distance":
        assert score.metrics["levenshtein"] == 1.0
    else:  # every row at the midpoint: a constant series, reported as undefined
        assert score.to_dict()["metrics"][kit.metrics[0]] is None


def test_mllm_pair_issue_repro_three_right_three_garbage() -> None:
    bench = get_benchmark("mllm-judge")
    recs = _pairs("original_dataset")(split="pair") + _pairs("original_dataset")("pair")[:2]
    recs = [
        BenchRecord(f"x{i}", r.gold, r.categories, "q", r.responses) for i, r in enumerate(recs)
    ]
    preds = [
        Prediction(r.id, t, _right(r, (0, 1)) if i < 3 else "garbage", (0, 1))
        for t in range(3)
        for i, r in enumerate(recs)
    ]
    clean = bench.evaluate("pair", recs, preds, "clean")
    ref = bench.evaluate("pair", recs, preds, "reference")
    assert clean.counts["parse_failures"] == 9 and clean.counts["wrong"] == 9
    assert clean.metrics["accuracy"] == pytest.approx(0.5)  # was 1.0: failures dropped
    assert ref.counts["parse_failures"] == 9


# ------------------------------------------------------------------ audio, reference (item 2)
def test_reference_audio_metrics_keep_fallback_rows() -> None:
    from flexjudge.bench._metrics import mse, pearson, spearman

    gold = [1.0, 4.2, 2.5, 3.9, 4.8, 1.7]
    texts = ["<answer>1.5</answer>", "<answer>4.0</answer>", "no score", "<answer>3.5</answer>"]
    texts += ["nothing", "<answer>2.0</answer>"]
    for name, fallback, rounds in (
        ("nisqa", 3.0, True),
        ("somos", 3.0, True),
        ("voxsim", 3.5, False),
    ):
        bench = get_benchmark(name)
        recs = [BenchRecord(f"u{i}", g, {"set": "all"}) for i, g in enumerate(gold)]
        preds = [Prediction(r.id, 0, t) for r, t in zip(recs, texts, strict=True)]
        ref = bench.evaluate("test", recs, preds, "reference")
        judge = [1.5, 4.0, fallback, 3.5, fallback, 2.0]
        human = [round(g, 1) for g in gold] if rounds else gold
        assert ref.by_category["utterance (per set)"]["all"]["n"] == 6  # all rows, as audio_eval
        assert ref.metrics["lcc"] == pytest.approx(pearson(judge, human))
        assert ref.metrics["srcc"] == pytest.approx(spearman(judge, human))
        assert ref.metrics["mse"] == pytest.approx(mse(judge, human))
        assert ref.counts["parse_failures"] == 2


def test_reference_bvcc_zero_fallback_stays_in_the_correlation() -> None:
    from flexjudge.bench._metrics import pearson

    bench = get_benchmark("bvcc")
    gold = [1.0, 4.0, 2.0, 3.0]
    recs = [BenchRecord(f"s-{i}.wav", g, {"set": "all"}) for i, g in enumerate(gold)]
    texts = ["<answer>1.5</answer>", "rating: 4", "nothing numeric", "<answer>3</answer>"]
    preds = [Prediction(r.id, 0, t) for r, t in zip(recs, texts, strict=True)]
    ref = bench.evaluate("test", recs, preds, "reference")
    assert ref.metrics["lcc"] == pytest.approx(pearson([1.5, 4.0, 0.0, 3.0], gold))


# -------------------------------------------------------------- undefined categories (item 3)
def _score_records(golds: dict[str, list[float]]) -> list[BenchRecord]:
    return [
        BenchRecord(f"{c}{i}", g, {"original_dataset": c}, "q", ["a"])
        for c, gs in golds.items()
        for i, g in enumerate(gs)
    ]


def test_mllm_score_single_row_category_reference_raises_clean_reports_null() -> None:
    bench = get_benchmark("mllm-judge")
    recs = _score_records({"coco": [1.0, 4.0, 2.0], "solo": [3.0]})
    preds = [Prediction(r.id, t, f"<answer>{int(r.gold)}</answer>") for t in range(3) for r in recs]
    with pytest.raises(InputError, match=r"'solo'.*pearsonr"):
        bench.evaluate("score", recs, preds, "reference")
    clean = bench.evaluate("score", recs, preds, "clean")
    cats = clean.to_dict()["by_category"]["original_dataset"]
    assert cats["solo"]["pearson"] is None and cats["solo"]["n"] == 3  # listed, undefined
    assert cats["coco"]["pearson"] == pytest.approx(1.0)
    assert clean.metrics["pearson"] == pytest.approx(1.0)
    assert any("solo" in n and "undefined" in n for n in clean.notes)


def test_mllm_pair_all_tie_category_reference_raises_clean_reports_null() -> None:
    bench = get_benchmark("mllm-judge")
    recs = [
        BenchRecord("a0", "A", {"original_dataset": "coco"}, "q", ["x", "y"]),
        BenchRecord("a1", "B", {"original_dataset": "coco"}, "q", ["x", "y"]),
        BenchRecord("t0", "tie", {"original_dataset": "ties"}, "q", ["x", "y"]),
        BenchRecord("t1", "tie", {"original_dataset": "ties"}, "q", ["x", "y"]),
    ]
    preds = [Prediction(r.id, t, _right(r, (0, 1)), (0, 1)) for t in range(3) for r in recs[:2]]
    preds += [
        Prediction(r.id, t, "<answer>5</answer><answer>5</answer>", (0, 1))
        for t in range(3)
        for r in recs[2:]
    ]
    with pytest.raises(InputError, match=r"'ties'.*divides by zero"):
        bench.evaluate("pair", recs, preds, "reference")
    clean = bench.evaluate("pair", recs, preds, "clean")
    no_tie = clean.to_dict()["by_category"]["original_dataset (w.o. tie)"]
    assert no_tie["ties"] == {"accuracy": None, "n": 0.0}
    assert clean.metrics["accuracy_no_tie"] == 1.0 and clean.metrics["accuracy_tie"] == 1.0
    assert any("'ties'" in n for n in clean.notes)


# ---------------------------------------------------------------------- VoxSim scale (item 13)
def test_voxsim_reference_prompt_keeps_the_script_scale_and_paper_scale_is_an_option() -> None:
    from flexjudge.protocol import PromptInputs, get_protocol

    inputs = PromptInputs(None, [], n_audios=2, family="qwen2_5_omni")
    script = get_protocol("voxsim").render(inputs, mode="reference").system
    paper = get_protocol("voxsim/paper-scale").render(inputs, mode="reference").system
    assert "from 1.0 to 5.0 in first decimal" in script
    assert paper == script.replace("from 1.0 to 5.0", "from 1.0 to 6.0")
    assert get_protocol("voxsim").parse("<answer>5.5</answer>").status.value == "out_of_range"
    assert get_protocol("voxsim/paper-scale").parse("<answer>5.5</answer>").scores == (5.5,)
    bench = get_benchmark("voxsim")
    assert bench.protocols == {"test": "voxsim", "paper-scale": "voxsim/paper-scale"}
    recs = _scores(_AUDIO_GOLD, "set")("paper-scale")
    preds = [
        Prediction(r.id, 0, t) for r, t in zip(recs, ["<answer>5.8</answer>"] * 4, strict=True)
    ]
    assert bench.evaluate("paper-scale", recs, preds, "clean").counts["parse_failures"] == 0
    assert bench.evaluate("test", recs, preds, "clean").counts["parse_failures"] == 4


def test_reference_audio_single_row_set_raises_and_run_keeps_predictions(tmp_path: Path) -> None:
    from flexjudge.backends import MockBackend
    from flexjudge.bench import BenchRunConfig, run_benchmark
    from flexjudge.judge import Judge
    from flexjudge.testing import write_test_wav

    write_test_wav(tmp_path / "deg" / "a.wav", 0.3, seed=1)
    csv = tmp_path / "NISQA_TEST_FOR_file.csv"
    csv.write_text("filepath_deg,mos\ndeg/a.wav,3.1\n")
    judge = Judge(MockBackend(family="qwen2_5_omni"))
    out = tmp_path / "run"
    with pytest.raises(InputError, match=r"'FOR' has 1 scored row.*--mode clean"):
        run_benchmark(BenchRunConfig("nisqa", "mock", out, data=csv), judge=judge)
    assert (out / "predictions.jsonl").read_text().count("\n") == 1  # kept for rescoring
    clean = run_benchmark(BenchRunConfig("nisqa", "mock", out, data=csv, mode="clean"), judge=judge)
    assert clean.to_dict()["metrics"]["lcc"] is None  # undefined, reported
