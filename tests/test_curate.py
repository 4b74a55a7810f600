"""Curation pipeline: readers, agreement, policy pieces, end to end with the mock teacher."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flexjudge.backends import MockBackend
from flexjudge.cli import app
from flexjudge.curate import (
    CurateRecord,
    GenerateConfig,
    Problem,
    SelectConfig,
    _records,
    check_agreement,
    first_answer_reasoning,
    generate,
    iter_generations,
    iter_json_objects,
    iter_records,
    iter_synthetic_rows,
    pair_prompt,
    rescale_10_to_5,
    rescale_reasoning,
    select,
    single_prompt,
    split_trace,
    synthetic_responder,
    teacher_prompt,
    write_outputs,
)
from flexjudge.curate._policy import rename_first_assistant, single_text
from flexjudge.errors import InputError
from flexjudge.protocol import get_protocol

N_ROWS = 300


def _record(scores: tuple[float, float] | None = (8, 6), label: int | None = None) -> CurateRecord:
    lab = label if label is not None else (None if scores is None else 1)
    return CurateRecord(0, "q0", "What?", "a1", "a2", scores, lab)


# ---------------------------------------------------------------- readers
@pytest.mark.parametrize("stdlib", [False, True])
def test_jsonl_reader_reports_file_and_line_and_keeps_alignment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stdlib: bool
) -> None:
    if stdlib:  # the path taken when orjson is not installed
        monkeypatch.setattr(_records, "fast_loads", lambda: json.loads)
    path = tmp_path / "in.jsonl"
    good = {"question_body": "Q", "answer1_body": "A", "answer2_body": "B", "score": [7, 3]}
    path.write_text(
        json.dumps(good) + "\n"
        + "{broken\n"
        + "\n"  # blank line: skipped, still counted in line numbers
        + json.dumps({"question_body": "Q", "answer1_body": None, "answer2_body": "B"}) + "\n"
        + json.dumps({**good, "score": [7]}) + "\n"
        + json.dumps({**good, "answer2_body": 3.5}) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    items = list(iter_records(path))
    assert [i.index for i in items] == [0, 1, 2, 3, 4]
    assert isinstance(items[0], CurateRecord) and items[0].reference_scores == (7, 3)
    problems = [i for i in items if isinstance(i, Problem)]
    assert [p.where for p in problems] == [f"{path}:2", f"{path}:4", f"{path}:5"]
    assert "invalid JSON" in problems[0].reason
    assert "answer1_body" in problems[1].reason and "score" in problems[2].reason
    # numbers/bools in answer fields are formatted as the reference's str.format would
    last = items[4]
    assert isinstance(last, CurateRecord) and last.answer2 == "3.5"


def test_json_list_reader_streams_across_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_records, "_CHUNK", 7)
    rows = [{"instruction": f"do {i}", "input": "" if i % 2 else "x", "response1": "r1",
             "response2": "r2", "annotator1": i % 3, "annotator2": i % 3, "annotator3": 0,
             "idx": 1000 + i} for i in range(25)]  # fmt: skip
    path = tmp_path / "list.json"
    path.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    got = list(iter_json_objects(path))
    assert [v for _, _, v in got] == rows
    assert got[1][1] == path.read_text().splitlines().index("  {", 2) + 1  # line of 2nd object
    recs = [r for r in iter_records(path) if isinstance(r, CurateRecord)]
    assert len(recs) == 25 and recs[0].record_id == "1000"
    assert recs[0].question == "do 0\n\nx" and recs[1].question == "do 1"
    assert [r.reference_label for r in recs[:3]] == [0, 1, 2]
    path.write_text(json.dumps(rows[:3])[:-30], encoding="utf-8")  # truncated list
    items = list(iter_records(path))
    assert len(items) == 3 and isinstance(items[-1], Problem)


def test_missing_input_file_is_an_input_error(tmp_path: Path) -> None:
    from flexjudge.errors import InputError

    with pytest.raises(InputError, match="cannot open"):
        list(iter_records(tmp_path / "nope.jsonl"))


# ---------------------------------------------------------------- agreement
@pytest.mark.parametrize(
    ("text", "ref", "mode", "kept", "reason"),
    [
        ("<answer>8</answer><answer>6</answer>", (8, 6), "exact", True, None),
        ("<answer>8</answer><answer>6</answer><answer>1</answer>", (8, 6), "exact", True, None),
        ("<answer>8</answer><answer>6</answer>", (8.0, 6.0), "exact", True, None),  # Q24
        ("<answer>8</answer><answer>6</answer>", (8.5, 6), "exact", False, "disagreement"),
        ("<answer>8</answer><answer>5</answer>", (8, 6), "exact", False, "disagreement"),
        ("<answer>9</answer><answer>2</answer>", (8, 6), "direction", True, None),
        ("<answer>6</answer><answer>6</answer>", (8, 6), "direction", False, "disagreement"),
        ("<answer> 8 </answer><answer>6</answer>", (8, 6), "exact", False, "fewer_than_two_scores"),
        ("<answer>8.0</answer><answer>6</answer>", (8, 6), "exact", False, "fewer_than_two_scores"),
        ("<answer>8</answer><answer>6</answer>", None, "exact", False, "no_reference"),
    ],
)
def test_agreement_filter(
    text: str, ref: tuple[float, float] | None, mode: Any, kept: bool, reason: str | None
) -> None:
    scores, why = check_agreement(text, _record(ref), mode)
    assert (scores is not None) == kept
    assert (why.value if why else None) == reason


def test_direction_filter_uses_pandalm_majority_label() -> None:
    rec = CurateRecord(0, "0", "q", "a", "b", None, 2)
    assert check_agreement("<answer>3</answer><answer>7</answer>", rec, "direction")[1] is None
    assert (
        check_agreement("<answer>3</answer><answer>7</answer>", rec, "exact")[1] == "no_reference"
    )


# ---------------------------------------------------------------- policy pieces
def test_rescale_table() -> None:
    # round_half_up(1 + (s - 1) * 4 / 9), by hand: 1.00 1.44 1.89 2.33 2.78 3.22 3.67 4.11 4.56 5
    table = {1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 3, 7: 4, 8: 4, 9: 5, 10: 5}
    assert {s: rescale_10_to_5(s) for s in range(1, 11)} == table
    for bad in (0, 11):
        with pytest.raises(ValueError):
            rescale_10_to_5(bad)
    assert rescale_reasoning("I give it 8/10, maybe 9 out of 10; 10 / 10 never.") == (
        "I give it 4/5, maybe 5 out of 5; 5 / 5 never."
    )


TRACE = (
    "Let me compare both answers carefully.\n"
    "Assistant 1's answer lists three steps. It is accurate and Assistant 1 cites sources.\n"
    "Assistant 1 could add an example. Meanwhile Assistant 2 is brief.\n"
    "Assistant 2 misses a step. Overall the first is better.\n"
    "</think>\n<answer>8</answer><answer>5</answer>"
)


def test_truncation_to_single_score() -> None:
    trace = split_trace(TRACE)
    assert trace is not None and trace.scores == (8, 5)
    part = first_answer_reasoning(trace.reasoning)
    # the preamble mentions both answers, so the part starts at Assistant 1's first sentence
    # and ends before the first sentence that mentions Assistant 2
    assert part == (
        "Assistant 1's answer lists three steps. It is accurate and Assistant 1 cites sources.\n"
        "Assistant 1 could add an example."
    )
    renamed = rename_first_assistant(part)
    assert renamed == (
        "The assistant's answer lists three steps. It is accurate and the assistant cites "
        "sources.\nThe assistant could add an example."
    )
    assert single_text(renamed, 8, trace) == renamed + "\n</think>\n<answer>8</answer>"
    # no Assistant-2 mention, or Assistant 2 first: nothing to cut
    assert first_answer_reasoning("Assistant 1 is good. It is fine.") is None
    assert first_answer_reasoning("Assistant 2 is good. Assistant 1 is fine.") is None
    # a neutral preamble is kept
    assert first_answer_reasoning("Okay. Assistant 1 is long. Assistant 2 is short.") == (
        "Okay. Assistant 1 is long."
    )


def test_rewritten_prompts() -> None:
    teacher = teacher_prompt(_record())
    assert pair_prompt("What?", "a1", "a2", 10).text == teacher
    five = pair_prompt("What?", "a1", "a2", 5)
    assert five.text == teacher.replace("Score assistants 1-10", "Score assistants 1-5")
    assert five.text.endswith("<|im_start|>assistant\n<think>\n")
    single = single_prompt("What?", "a1", 5)
    assert single.system == get_protocol("score-5").system("clean", None)
    assert "[Assistant's Answer]\na1" in single.user and "Assistant 2" not in single.text
    assert single.text.endswith("<|im_start|>assistant\n<think>\n")
    assert "Score the assistant 1-10" in single_prompt("What?", "a1", 10).system


# ---------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """300 synthetic JudgeLM rows plus one malformed line, teacher = mock with traces."""
    tmp = tmp_path_factory.mktemp("curate")
    rows = list(iter_synthetic_rows(N_ROWS))
    inp = tmp / "judgelm.jsonl"
    lines = [json.dumps(r) for r in rows]
    lines.insert(150, '{"question_body": "cut off')  # malformed, at file line 151
    inp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    backend = MockBackend("teacher", responder=synthetic_responder(rows))
    report = generate(backend, inp, tmp / "gen", GenerateConfig(batch_size=64))
    return {"tmp": tmp, "rows": rows, "input": inp, "gen": tmp / "gen", "report": report}


SMALL = {"n_single": 40, "n_pair": 40, "pair_min_answer_tokens": 500}


def test_generate_reference_layout(synthetic: dict[str, Any]) -> None:
    report = synthetic["report"]
    assert [p.name for p in report.files] == [
        "judgelrm_7b_13_0.1.jsonl",
        "judgelrm_7b_79_0.1.jsonl",
    ]
    assert report.generated == {"judgelrm_7b_13_0.1.jsonl": 300, "judgelrm_7b_79_0.1.jsonl": 300}
    assert report.failed == {"judgelrm_7b_13_0.1.jsonl": 1, "judgelrm_7b_79_0.1.jsonl": 1}
    assert report.problems[0].startswith(f"{synthetic['input']}:151: invalid JSON")
    lines = (synthetic["gen"] / "judgelrm_7b_13_0.1.jsonl").read_text().splitlines()
    assert len(lines) == N_ROWS + 1  # aligned: an error line stands in for the bad row
    first = json.loads(lines[0])
    assert first["prompt"].endswith("<|im_start|>assistant\n<think>\n")
    assert "Question 0:" in first["prompt"]
    assert "<|im_end|>" not in first["text"] and first["text"] == first["text"].strip()
    # the mock counts space-separated words as tokens; ids stand in deterministically
    assert len(first["tokens"]) == first["num_tokens"] == len(first["text"].split(" "))
    assert json.loads(lines[150])["error"] and json.loads(lines[150])["text"] is None
    gens = list(iter_generations(synthetic["gen"] / "judgelrm_7b_13_0.1.jsonl"))
    assert isinstance(gens[150], Problem) and gens[150].where.endswith(":151")


def test_generate_resumes_and_reuses_store(synthetic: dict[str, Any], tmp_path: Path) -> None:
    from flexjudge.store import ResultStore

    backend = MockBackend("teacher", responder=synthetic_responder(synthetic["rows"]))
    out = tmp_path / "gen"
    cfg = GenerateConfig(seeds=(13,), batch_size=16)
    store = ResultStore(tmp_path / "store.sqlite")
    generate(backend, synthetic["input"], out, GenerateConfig(seeds=(13,), limit=40), store=store)
    path = out / "judgelrm_7b_13_0.1.jsonl"
    with path.open("a") as handle:
        handle.write('{"prompt": "torn')  # a crash mid-line
    calls_before = len(backend.calls)
    report = generate(backend, synthetic["input"], out, cfg, store=store)
    assert report.resumed == {"judgelrm_7b_13_0.1.jsonl": 40}
    assert len(backend.calls) - calls_before == N_ROWS - 40
    assert path.read_bytes() == (synthetic["gen"] / "judgelrm_7b_13_0.1.jsonl").read_bytes()
    again = generate(backend, synthetic["input"], tmp_path / "gen2", cfg, store=store)
    assert again.from_store == {"judgelrm_7b_13_0.1.jsonl": N_ROWS}
    assert (tmp_path / "gen2" / path.name).read_bytes() == path.read_bytes()


@pytest.mark.slow
def test_select_end_to_end_deterministic(synthetic: dict[str, Any], tmp_path: Path) -> None:
    files = sorted(synthetic["gen"].glob("*.jsonl"))
    cfg = SelectConfig(**SMALL)  # type: ignore[arg-type]
    outs = []
    for run in ("a", "b"):
        report = select(synthetic["input"], files, cfg)
        write_outputs(report, tmp_path / run / "train.jsonl", command="test")
        outs.append(report)
    for name in ("train.jsonl", "train.messages.jsonl", "train.meta.jsonl", "train.card.md"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    report = outs[0]
    assert report.counts() == {"pair-10": 20, "pair-5": 20, "single-10": 20, "single-5": 20}
    st = report.stats
    assert st.rows == N_ROWS + 1 and st.generations == 2 * (N_ROWS + 1)
    assert st.rejected["bad_input"] == 2
    assert st.kept + sum(st.rejected.values()) == st.generations
    assert (tmp_path / "a" / "train.lengths.png").stat().st_size > 1000
    # the reference format and the chat format carry the same data
    train = [json.loads(x) for x in (tmp_path / "a" / "train.jsonl").read_text().splitlines()]
    chats = [
        json.loads(x) for x in (tmp_path / "a" / "train.messages.jsonl").read_text().splitlines()
    ]
    meta = [json.loads(x) for x in (tmp_path / "a" / "train.meta.jsonl").read_text().splitlines()]
    for row, chat, m in zip(train, chats, meta, strict=True):
        assert set(row) == {"prompt", "text"}
        assert row["prompt"].endswith("<|im_start|>assistant\n<think>\n")
        assert "<|im_end|>" not in row["text"]
        system, user, assistant = chat["messages"]
        assert row["prompt"] == (
            f"<|im_start|>system\n{system['content']}<|im_end|>\n<|im_start|>user\n"
            f"{user['content']}<|im_end|>\n<|im_start|>assistant\n<think>\n"
        )
        assert assistant["content"] == "<think>\n" + row["text"]
        trace = split_trace(row["text"])
        assert trace is not None and list(trace.scores) == m["scores"]
        assert all(1 <= s <= m["scale"] for s in m["scores"])
        src = synthetic["rows"][m["line"] if m["line"] < 150 else m["line"] - 1]
        if m["format"] == "single":
            assert len(trace.scores) == 1 and "Assistant 2" not in row["text"]
            assert (
                "[Assistant's Answer]" in row["prompt"] and f"1-{m['scale']}" in system["content"]
            )
            assert m["reasoning_tokens"] > 375
            ref1 = int(src["score"][0])
            assert m["scores"][0] == (ref1 if m["scale"] == 10 else rescale_10_to_5(ref1))
        else:
            assert len(trace.scores) == 2
            assert f"Score assistants 1-{m['scale']}" in system["content"]
            ref = [int(s) for s in src["score"]]
            want = ref if m["scale"] == 10 else [rescale_10_to_5(s) for s in ref]
            assert m["scores"] == want
    singles = [m for m in meta if m["format"] == "single"]
    pairs = [m for m in meta if m["format"] == "pair"]
    assert [m["reasoning_tokens"] for m in singles] == sorted(
        (m["reasoning_tokens"] for m in singles), reverse=True
    )
    assert not {m["line"] for m in singles} & {m["line"] for m in pairs}
    # a different rescale seed picks a different half, same rows
    other = select(synthetic["input"], files, SelectConfig(**SMALL, seed=1))  # type: ignore[arg-type]
    assert [s.line for s in other.samples] == [s.line for s in report.samples]
    assert [s.scale for s in other.samples] != [s.scale for s in report.samples]


def test_select_longest_per_prompt_and_ties(tmp_path: Path) -> None:
    """Reference order: candidates of a prompt are listed file by file, row by row, and the
    longest wins with ties to the earliest listed one."""
    rows = [dict(r, score=[6, 4]) for r in iter_synthetic_rows(3)]
    rows.append(dict(rows[0], question_id=99))  # row 3 repeats row 0's prompt
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))

    def gen_file(name: str, lengths: list[int]) -> Path:
        path = tmp_path / name
        with path.open("w") as handle:
            for row, n in zip(rows, lengths, strict=True):
                rec = CurateRecord(0, "", row["question_body"], row["answer1_body"],
                                   row["answer2_body"], None, None)  # fmt: skip
                text = f"words {n}\n</think>\n<answer>6</answer><answer>4</answer>"
                line = {"prompt": teacher_prompt(rec), "text": text, "tokens": [1] * n}
                handle.write(json.dumps(line) + "\n")
        return path

    a = gen_file("a.jsonl", [5, 7, 7, 9])
    b = gen_file("b.jsonl", [9, 7, 3, 2])
    cfg = SelectConfig(n_single=0, n_pair=10, pair_min_answer_tokens=0, rescale_fraction=0)
    report = select(inp, [a, b], cfg)
    assert report.stats.kept == 8 and report.stats.prompts == 3
    winners = sorted((s.line, s.seed_file, s.reasoning_tokens) for s in report.samples)
    # prompt of rows 0/3: a-row3 (9) ties b-row0 (9) -> a (listed first) wins;
    # row 1: 7 vs 7 -> file a; row 2: 7 vs 3 -> file a
    assert winners == [(1, 0, 7), (2, 0, 7), (3, 0, 9)]
    assert report.stats.winners_by_file == [3, 0]
    # with the files swapped, b's row 0 is listed first and wins the tie
    swapped = select(inp, [b, a], cfg)
    assert sorted((s.line, s.seed_file) for s in swapped.samples) == [(0, 0), (1, 0), (2, 1)]


@pytest.mark.parametrize(("processes", "second_pass"), [(1, True), (2, True), (3, False)])
def test_displaced_pool_entry_triggers_exact_second_pass(
    tmp_path: Path, processes: int, second_pass: bool
) -> None:
    """Pool of one: row 0 (prompt P, 10 tokens) fills it and turns row 1 (Q, 8) away; row 2
    repeats P with a longer but unusable trace (no </think>), so P's winner leaves the pool.
    Only a second pass can bring Q back.  Split over processes, the same holds when rows 0-1
    share a span; with every row its own span nothing was turned away and merging is exact."""
    base = [dict(r, score=[6, 4]) for r in iter_synthetic_rows(2)]
    rows = [base[0], base[1], dict(base[0], question_id=7)]
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    texts = [
        ("x\n</think>\n<answer>6</answer><answer>4</answer>", 10),
        ("y\n</think>\n<answer>6</answer><answer>4</answer>", 8),
        ("z <answer>6</answer><answer>4</answer>", 12),
    ]
    gen = tmp_path / "g.jsonl"
    with gen.open("w") as handle:
        for row, (text, n) in zip(rows, texts, strict=True):
            rec = CurateRecord(0, "", row["question_body"], row["answer1_body"],
                               row["answer2_body"], None, None)  # fmt: skip
            line = {"prompt": teacher_prompt(rec), "text": text, "tokens": [1] * n}
            handle.write(json.dumps(line) + "\n")
    cfg = SelectConfig(
        n_single=0, n_pair=1, pair_min_answer_tokens=0, rescale_fraction=0, processes=processes
    )
    report = select(inp, [gen], cfg)
    assert report.second_pass == second_pass
    assert [(s.line, s.reasoning_tokens) for s in report.samples] == [(1, 8)]
    assert report.stats.no_final_format == 1 and report.stats.prompts == 2


def test_shortfall_is_reported(synthetic: dict[str, Any]) -> None:
    files = sorted(synthetic["gen"].glob("*.jsonl"))
    report = select(synthetic["input"], files, SelectConfig(single_min_tokens=100_000))
    assert report.counts().get("single-10", 0) == 0
    assert report.shortfall["single"] == 500 and report.shortfall["pair"] > 0
    assert report.summary()["shortfall"] == report.shortfall


def test_cli_generate_then_select_folder(synthetic: dict[str, Any], tmp_path: Path) -> None:
    runner = CliRunner()
    gen = tmp_path / "gen"
    res = runner.invoke(
        app,
        ["curate", "generate", "--teacher", "mock-teacher", "--backend", "mock",
         "--input", str(synthetic["input"]), "--seeds", "13,79", "--out", str(gen),
         "--limit", "60"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["generated"]["judgelrm_7b_79_0.1.jsonl"] == 60
    assert (gen / "curate_manifest.json").is_file()
    out = tmp_path / "train.jsonl"
    res = runner.invoke(
        app,
        ["curate", "select", str(gen), "--out", str(out), "--agreement", "direction",
         "--n-single", "5", "--n-pair", "5", "--single-min-tokens", "0",
         "--pair-min-answer-tokens", "0", "--no-plot"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    # the manifest's --limit applies: rows past it are not read
    assert summary["rows"] == 60 and summary["generations"] == 120
    assert "missing_generation" not in summary["rejected"]
    assert out.is_file() and (tmp_path / "train.card.md").is_file()
    card = (tmp_path / "train.card.md").read_text()
    assert "flexjudge curate select --input" in card and "--agreement direction" in card
    assert "--n-single 5" in card and "--limit 60" in card
    # the imported-generations form with explicit files
    res = runner.invoke(
        app,
        ["curate", "select", "--input", str(synthetic["input"]), "--generations",
         str(synthetic["gen"] / "judgelrm_7b_13_0.1.jsonl"),
         str(synthetic["gen"] / "judgelrm_7b_79_0.1.jsonl"), "--out", str(tmp_path / "t2.jsonl"),
         "--no-plot"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["generations"] == 2 * (N_ROWS + 1)
    res = runner.invoke(
        app, ["curate", "select", str(tmp_path), "--out", str(tmp_path / "x.jsonl")]
    )
    assert res.exit_code == 2 and "input" in res.stderr


@pytest.mark.slow
def test_generate_with_tiny_checkpoint(tmp_path: Path) -> None:
    """A real model through the transformers backend: ids and counts come from the model."""
    from flexjudge.backends._transformers import TransformersBackend
    from flexjudge.testing import tiny_model

    model = tiny_model("qwen2")  # built once per process
    backend = TransformersBackend(model, device="cpu", max_batch_size=4)
    inp = tmp_path / "short.jsonl"
    short = [
        {"question_body": f"Name a colour {i}?", "answer1_body": "Red.", "answer2_body": "Blue.",
         "score": [7, 7]} for i in range(5)
    ]  # fmt: skip
    inp.write_text("".join(json.dumps(r) + "\n" for r in short))
    cfg = GenerateConfig(seeds=(13,), max_tokens=8, limit=2, batch_size=2)
    report = generate(backend, inp, tmp_path / "gen", cfg)
    assert report.generated == {"judgelrm_7b_13_0.1.jsonl": 2}
    rows = [json.loads(x) for x in (tmp_path / "gen" / "judgelrm_7b_13_0.1.jsonl").open()]
    assert len(rows) == 2
    for row in rows:
        assert row["prompt"].endswith("<think>\n") and "<|im_end|>" not in row["text"]
        assert 1 <= len(row["tokens"]) == row["num_tokens"] <= 8
        assert all(isinstance(t, int) for t in row["tokens"])
    # a rerun resumes: nothing left to generate
    again = generate(backend, inp, tmp_path / "gen", cfg)
    assert again.resumed == {"judgelrm_7b_13_0.1.jsonl": 2}
    assert again.generated == {"judgelrm_7b_13_0.1.jsonl": 0}
    sel = select(inp, [tmp_path / "gen" / "judgelrm_7b_13_0.1.jsonl"], SelectConfig())
    assert sel.stats.kept + sum(sel.stats.rejected.values()) == sel.stats.generations == 5
    assert sel.stats.rejected["missing_generation"] == 3  # limit 2 of 5 rows


@pytest.mark.parametrize(
    "obj",
    [
        {"prompt": "p", "text": "t", "tokens": [1, 2, 3]},
        {"tokens": [5, -1, 7], "prompt": "p", "text": "t"},
        {"prompt": "p", "text": "t", "tokens": []},
        {"prompt": 'say "tokens": [1, 2]', "text": "t", "tokens": [9]},
        {"prompt": "p", "text": "t", "tokens": None, "meta": {"tokens": [1, 2]}},
        {"prompt": "p", "text": "t", "tokens": [[1, 2], [3]]},
        {"prompt": "p", "text": "t", "tokens": ["a,b", "c"]},
        {"prompt": "p", "text": "t", "num_tokens": 4},
    ],
)
def test_generation_token_counts_match_a_full_decode(obj: dict[str, Any]) -> None:
    from flexjudge.curate._records import generation_from, loads_generation

    for line in (
        json.dumps(obj),
        json.dumps(obj, separators=(",", ":")),
        json.dumps(obj, indent=None).replace(": ", " :  "),
    ):
        fast = generation_from(loads_generation(line.encode()), 0, "f:1")
        full = generation_from(json.loads(line), 0, "f:1")
        assert fast == full, line


def test_a_line_that_is_not_utf8_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "gen.jsonl"
    good = json.dumps({"prompt": "p", "text": "t", "tokens": [1]}).encode()
    path.write_bytes(good + b"\n" + b'{"prompt": "\xff\xfe", "text": "t"}\n' + good + b"\n")
    got = list(iter_generations(path))
    assert isinstance(got[1], Problem) and got[1].where.endswith(":2")
    assert [g.index for g in got] == [0, 1, 2] and not isinstance(got[2], Problem)


@pytest.mark.parametrize(
    "text",
    ["", " ", "one", "one two", " lead", "trail ", "a  b", "a\nb", "a\tb c", "é b", "a\x1fb"],
)
def test_word_count_fast_path_equals_split(text: str) -> None:
    from flexjudge.curate._config import count_words

    assert count_words(text) == len(text.split())


def _comparable(report: Any) -> tuple[Any, ...]:
    st = dict(report.stats.__dict__)
    for lower_bound in ("single_eligible", "pair_eligible"):  # see docs/curation.md
        st.pop(lower_bound)
    rows = [(s.prompt, s.text, s.line, s.seed_file, s.scale, s.scores) for s in report.samples]
    return rows, st, report.shortfall


@pytest.mark.parametrize("processes", [2, 3, 7])
def test_select_on_several_processes_equals_one(
    synthetic: dict[str, Any], tmp_path: Path, processes: int
) -> None:
    files = sorted(synthetic["gen"].glob("*.jsonl"))
    # a blank line inside the input and an extra line at the end of one generation file
    inp = tmp_path / "in.jsonl"
    lines = synthetic["input"].read_text().splitlines(keepends=True)
    inp.write_text("".join(lines[:200]) + "\n" + "".join(lines[200:]))
    extra = tmp_path / files[1].name
    extra.write_text(files[1].read_text() + files[1].read_text().splitlines(keepends=True)[0])
    gens = [files[0], extra]
    one = select(inp, gens, SelectConfig(**SMALL, processes=1))  # type: ignore[arg-type]
    many = select(inp, gens, SelectConfig(**SMALL, processes=processes))  # type: ignore[arg-type]
    assert _comparable(many) == _comparable(one)
    assert one.stats.extra_generation_lines == 1 and one.stats.problem_count >= 1
    assert many.stats.single_eligible >= one.stats.single_eligible


def test_automatic_processes_stay_one_for_small_or_limited_runs(
    synthetic: dict[str, Any],
) -> None:
    from flexjudge.curate._shard import choose_processes

    files = [synthetic["input"], *sorted(synthetic["gen"].glob("*.jsonl"))]
    assert choose_processes(SelectConfig(), files) == 1  # a few hundred KB
    assert choose_processes(SelectConfig(processes=4), files) == 4
    assert choose_processes(SelectConfig(processes=4, limit=10), files) == 1
    with pytest.raises(InputError, match="processes"):
        SelectConfig(processes=-1)


# ---------------------------------------------------------------- fast paths vs. plain rules
_WORDS = ["Assistant 1", "Assistant 1's", "Assistant  1", "xAssistant 1", "_Assistant 1",
          "The first assistant", "the first assistant's", "the assistant", "The assistant",
          "the assistants", "assistant 2", "Assistant B", "the second answer", "both answers",
          "other response", "answer 1", "response 2", "two assistants", ".", "!", "?", "\n",
          " ", "\n ", ". ", "\t", "é", "8/10", "8 out of 10", "<answer>7</answer>", "first",
          "the assistanthe assistant", "1", "'s"]  # fmt: skip


def _random_texts(n: int) -> list[str]:
    import random

    rng = random.Random(7)
    return [
        "".join(rng.choice(_WORDS) + rng.choice(["", " ", "\n", ". "]) for _ in range(k))
        for k in (rng.randint(0, 25) for _ in range(n))
    ]


def test_rename_first_assistant_equals_the_plain_regex_rule() -> None:
    import re

    plain = [
        (re.compile(r"\bAssistant\s*1's\b"), "the assistant's"),
        (re.compile(r"\bAssistant\s*1\b"), "the assistant"),
        (re.compile(r"\b[Tt]he first assistant's\b"), "the assistant's"),
        (re.compile(r"\b[Tt]he first assistant\b"), "the assistant"),
    ]
    sentence = re.compile(r"(^|[.!?]\s+|\n\s*)the assistant", re.MULTILINE)
    for text in _random_texts(5000):
        want = text
        for pattern, repl in plain:
            want = pattern.sub(repl, want)
        want = sentence.sub(lambda m: m.group(1) + "The assistant", want)
        assert rename_first_assistant(text) == want, text


def test_mention_search_equals_a_scan_of_every_position() -> None:
    from flexjudge.curate import _policy

    def plain(low: str, forms: Any, start: int, end: int) -> int:
        stop = len(low) if end < 0 else end
        for pos in range(start, stop):
            if pos and low[pos - 1].isalnum():
                continue
            if any(p.match(low, pos, stop) for _, p in forms):
                return pos
        return -1

    for i, text in enumerate(_random_texts(3000)):
        low = text.lower()
        start, end = (i % 7, -1) if i % 2 else (0, len(low) - i % 5)
        for forms in (_policy._FIRST_FORMS, _policy._SECOND_FORMS):
            assert _policy._find_mention(low, forms, start, end) == plain(low, forms, start, end)


def test_teacher_scores_equal_findall_over_the_whole_text() -> None:
    from flexjudge.curate import ANSWER_INT
    from flexjudge.curate._agreement import teacher_scores

    for text in _random_texts(2000):
        assert teacher_scores(text) == [int(s) for s in ANSWER_INT.findall(text)]


def test_select_with_spawned_workers_equals_one_process(
    synthetic: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The start method where fork is missing or unsafe (Windows, macOS, a tokenizer)."""
    from flexjudge.curate import _shard

    monkeypatch.setattr(_shard, "_start_methods", lambda: ["spawn"])
    files = sorted(synthetic["gen"].glob("*.jsonl"))
    one = select(synthetic["input"], files, SelectConfig(**SMALL, processes=1))  # type: ignore[arg-type]
    two = select(synthetic["input"], files, SelectConfig(**SMALL, processes=2))  # type: ignore[arg-type]
    assert _comparable(two) == _comparable(one)
