"""Issue 11 items 9, 10 and 14: ``curate select --mode reference`` keeps exactly what
``utils/lrm_process.py`` keeps, in its order; rescale conventions; reference file names and
``ensure_ascii`` JSON."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flexjudge.curate import SelectConfig, generate, select, write_outputs
from flexjudge.curate._generate import GenerateConfig
from flexjudge.errors import InputError


def _prompt(q: str) -> str:
    return f"<|im_start|>user\n[Question]\n{q}\n\n...<|im_start|>assistant\n<think>\n"


def _build(tmp: Path) -> tuple[Path, list[Path], list[dict[str, Any]], list[list[dict[str, Any]]]]:
    """Rows and two seed files that hit every filter the clean policy adds."""
    rows = [
        {"question_body": f"Q{i} é", "answer1_body": "a", "answer2_body": "b", "score": s}
        for i, s in enumerate([[8, 3], [5, 9], [7, 7], [12, 0], [6, 2], [4, 8], [8, 3], [9, 1]])
    ]
    rows[6]["question_body"] = rows[0]["question_body"]  # a duplicate prompt (row 6 = row 0)

    def g(i: int, text: str, n: int) -> dict[str, Any]:
        return {"prompt": _prompt(rows[i]["question_body"]), "text": text, "tokens": [1] * n}

    seed13 = [
        g(0, "<think>r</think><answer>8</answer><answer>3</answer>", 10),
        g(1, "no think tag <answer>5</answer><answer>9</answer>", 20),  # no </think>: kept
        g(2, "<think>x</think><answer>7</answer><answer>6</answer>", 30),  # disagrees
        g(3, "<think>x</think><answer>12</answer><answer>0</answer>", 40),  # off-scale: kept
        g(4, "<think>x</think><answer>6</answer>", 50),  # one score: dropped
        g(5, "<think>x</think><answer>4</answer><answer>8</answer><answer>9</answer>", 60),
        g(6, "<think>longer</think><answer>8</answer><answer>3</answer>", 11),  # same prompt
        {
            "prompt": "unrelated prompt",
            "text": "<answer>9</answer><answer>1</answer>",
            "tokens": [1],
        },
    ]
    seed79 = [
        g(0, "<think>tie on length</think><answer>8</answer><answer>3</answer>", 11),
        g(1, "<think>y</think><answer>5</answer><answer>9</answer>", 5),
        g(2, "<think>y</think><answer>7</answer><answer>7</answer>", 3),  # new prompt (79 only)
        g(3, "<think>y</think><answer>1</answer><answer>1</answer>", 99),
        g(4, "<think>y</think><answer>6</answer><answer>2</answer>", 7),  # new prompt
        g(5, "<think>y</think><answer>4</answer><answer>8</answer>", 61),  # longer: wins
        g(6, "<think>y</think><answer>0</answer><answer>0</answer>", 500),
        g(7, "é <answer>9</answer><answer>1</answer>", 2),
    ]
    inp = tmp / "judgelm_train.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    files = []
    for seed, gens in ((13, seed13), (79, seed79)):
        f = tmp / f"judgelrm_7b_{seed}_0.1.jsonl"
        f.write_text("".join(json.dumps(x) + "\n" for x in gens), encoding="utf-8")
        files.append(f)
    return inp, files, rows, [seed13, seed79]


def _lrm_process(
    rows: list[dict[str, Any]], gens: list[list[dict[str, Any]]]
) -> list[dict[str, str]]:
    """An independent transcription of spec §5 (the authors' loop)."""
    kept: dict[str, list[tuple[str, int]]] = {}
    for per_file in gens:
        for i, d in enumerate(per_file):
            p = [int(x) for x in re.findall(r"<answer>(\d+)</answer>", d["text"])]
            s1, s2 = rows[i]["score"]
            if len(p) >= 2 and p[0] == s1 and p[1] == s2:
                kept.setdefault(d["prompt"], []).append((d["text"], len(d["tokens"])))
    out = []
    for prompt, cands in kept.items():
        best = sorted(cands, key=lambda c: c[1], reverse=True)[0]  # stable: earliest wins
        out.append({"prompt": prompt, "text": best[0]})
    return out


def test_reference_select_keeps_what_lrm_process_keeps(tmp_path: Path) -> None:
    inp, files, rows, gens = _build(tmp_path)
    want = _lrm_process(rows, gens)
    report = select(inp, files, SelectConfig(mode="reference"))
    got = [s.reference_row() for s in report.samples]
    assert got == want
    assert len(got) == 8  # rows 1 (no </think>), 3 (off-scale), 5 (three tags) included
    assert report.stats.kept == 12 and report.stats.prompts == 8
    assert report.stats.rejected == {"disagreement": 3, "fewer_than_two_scores": 1}
    assert any("row 7" in p and "kept" in p for p in report.stats.problems)  # misaligned, kept
    out = tmp_path / "out" / "train.jsonl"
    write_outputs(report, out, plot=False)
    raw = out.read_text(encoding="utf-8")
    assert raw.isascii() and "\\u00e9" in raw  # ensure_ascii=True, as the reference
    assert [json.loads(x) for x in raw.splitlines()] == want
    meta = [json.loads(x) for x in out.with_name("train.meta.jsonl").open()]
    assert [m["seed_file"] for m in meta] == [0, 0, 0, 1, 0, 1, 1, 1]  # row 5: seed 79 longer
    assert meta[0]["line"] == 6  # Q0: rows 0 and 6 share the prompt; 11 tokens, seed 13 first


def test_clean_select_reports_policy_requirements_separately(tmp_path: Path) -> None:
    inp, files, _, _ = _build(tmp_path)
    cfg = SelectConfig(n_single=0, n_pair=50, pair_min_answer_tokens=0)
    report = select(inp, files, cfg)
    # the agreement counts are the reference's; the policy's own requirements are not
    # "rejections" but winners it cannot use
    assert report.stats.rejected["disagreement"] == 3
    assert report.stats.rejected["misaligned"] == 1  # clean checks the alignment
    assert report.stats.no_final_format == 3  # winners with no </think> (2) or off-scale
    assert {s.record_id for s in report.samples} == {"6", "2", "4", "5"}


def test_reference_mode_refuses_direction_agreement() -> None:
    with pytest.raises(InputError, match="agreement"):
        SelectConfig(mode="reference", agreement="direction")
    with pytest.raises(InputError, match="mode"):
        SelectConfig(mode="exact")  # type: ignore[arg-type]


def test_select_cli_reference_mode(tmp_path: Path) -> None:
    from flexjudge.cli import app

    inp, files, rows, gens = _build(tmp_path)
    out = tmp_path / "cli" / "train.jsonl"
    args = ["curate", "select", "--input", str(inp), "--out", str(out), "--mode", "reference"]
    res = CliRunner().invoke(app, [*args, "--no-plot", *map(str, files)])
    assert res.exit_code == 0, res.output
    assert [json.loads(x) for x in out.open()] == _lrm_process(rows, gens)
    assert "--mode reference" in out.with_name("train.card.md").read_text()


def test_generate_reference_file_names_and_ascii(tmp_path: Path) -> None:
    from flexjudge.backends import MockBackend

    inp = tmp_path / "rows.jsonl"
    row = {"question_body": "Café?", "answer1_body": "ja", "answer2_body": "nein", "score": [8, 3]}
    inp.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    backend = MockBackend(
        "teacher", responder=lambda r, i: "<think>é</think><answer>8</answer><answer>3</answer>"
    )
    ref = generate(backend, inp, tmp_path / "ref", GenerateConfig(seeds=(13,)))
    assert [p.name for p in ref.files] == ["judgelrm_7b_13_0.1.jsonl"]  # lrm_process.py's name
    line = ref.files[0].read_text(encoding="utf-8")
    assert line.isascii() and "Caf\\u00e9" in line
    clean = generate(backend, inp, tmp_path / "clean", GenerateConfig(seeds=(13,), mode="clean"))
    assert [p.name for p in clean.files] == ["judgelrm_13_0.1.jsonl"]
    assert "Café" in clean.files[0].read_text(encoding="utf-8")


def test_rescale_conventions() -> None:
    from flexjudge.curate import rescale_10_to_5, rescale_reasoning

    ceil = [rescale_10_to_5(s) for s in range(1, 11)]
    assert ceil == [math.ceil(s / 2) for s in range(1, 11)]  # "divide by 2, halves up"
    assert all(type(x) is int for x in ceil)
    affine = [float(round(1 + (s - 1) * 4 / 9, 1)) for s in range(1, 11)]
    assert [rescale_10_to_5(s, "linear") for s in range(1, 11)] == affine
    assert rescale_reasoning("8/10 or 9 out of 10", "linear") == "4.1/5 or 4.6 out of 5"
    with pytest.raises(InputError, match="rescale"):
        SelectConfig(rescale="round")  # type: ignore[arg-type]


def test_select_linear_rescale_writes_decimal_tags(tmp_path: Path) -> None:
    from flexjudge.curate import rescale_10_to_5

    inp, files, _, _ = _build(tmp_path)
    cfg = SelectConfig(n_single=0, n_pair=50, pair_min_answer_tokens=0, rescale_fraction=1.0)
    linear = select(inp, files, SelectConfig(**{**cfg.to_dict(), "rescale": "linear"}))
    teacher = {"6": (8, 3), "2": (7, 7), "4": (6, 2), "5": (4, 8)}  # the winners' 1-10 scores
    assert {s.record_id for s in linear.samples} == set(teacher)
    for s in linear.samples:
        assert s.scale == 5
        assert s.scores == tuple(rescale_10_to_5(x, "linear") for x in teacher[s.record_id])
        assert s.text.endswith("".join(f"<answer>{x}</answer>" for x in s.scores))
    eight_three = next(s for s in linear.samples if s.record_id == "6")
    assert eight_three.text.endswith("<answer>4.1</answer><answer>1.9</answer>")
    assert "--rescale linear" in linear.equivalent_command("t.jsonl")
