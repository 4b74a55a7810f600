"""Selection ablations of the paper's Fig. 2a: ``curate select --selection shortest|random``
and ``--agreement none`` build the low-quality and random baselines; ``longest`` (the
default) is unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flexjudge.cli import app
from flexjudge.curate import CurateRecord, SelectConfig, iter_synthetic_rows, select, teacher_prompt
from flexjudge.errors import InputError


def _files(tmp: Path, answers: dict[str, list[tuple[int, int]]]) -> tuple[Path, list[Path]]:
    """Four rows (reference scores 6/4); per file, each row's trace length and answer."""
    rows = [dict(r, score=[6, 4]) for r in iter_synthetic_rows(4)]
    inp = tmp / "in.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    gens = []
    for name, per_row in answers.items():
        path = tmp / name
        with path.open("w") as handle:
            for row, (n, first) in zip(rows, per_row, strict=True):
                rec = CurateRecord(0, "", row["question_body"], row["answer1_body"],
                                   row["answer2_body"], None, None)  # fmt: skip
                text = f"{'word ' * n}\n</think>\n<answer>{first}</answer><answer>4</answer>"
                line = {"prompt": teacher_prompt(rec), "text": text, "tokens": [1] * n}
                handle.write(json.dumps(line) + "\n")
        gens.append(path)
    return inp, gens


def _winners(inp: Path, gens: list[Path], **kw: object) -> list[tuple[int, int, int]]:
    cfg = SelectConfig(n_single=0, n_pair=10, pair_min_answer_tokens=0, rescale_fraction=0, **kw)  # type: ignore[arg-type]
    report = select(inp, gens, cfg)
    return sorted((s.line, s.seed_file, s.reasoning_tokens) for s in report.samples)


LENGTHS = {
    "a.jsonl": [(5, 6), (9, 6), (7, 6), (3, 6)],
    "b.jsonl": [(8, 6), (2, 6), (7, 6), (6, 6)],
    "c.jsonl": [(4, 6), (4, 6), (1, 7), (9, 6)],  # row 2's shortest trace disagrees (7 vs 6)
}


def test_longest_and_shortest_per_prompt(tmp_path: Path) -> None:
    inp, gens = _files(tmp_path, LENGTHS)
    assert _winners(inp, gens) == [(0, 1, 8), (1, 0, 9), (2, 0, 7), (3, 2, 9)]
    # shortest: ties (row 2: a 7 = b 7) still go to the file listed first
    assert _winners(inp, gens, selection="shortest") == [(0, 2, 4), (1, 1, 2), (2, 0, 7), (3, 0, 3)]


def test_agreement_none_keeps_disagreeing_traces(tmp_path: Path) -> None:
    inp, gens = _files(tmp_path, LENGTHS)
    # with the filter off, row 2's 1-token trace (7/4, not 6/4) is eligible and is shortest
    got = _winners(inp, gens, selection="shortest", agreement="none")
    assert (2, 2, 1) in got
    cfg = SelectConfig(agreement="none", n_single=0, n_pair=10, pair_min_answer_tokens=0)
    assert select(inp, gens, cfg).stats.kept == 12


def test_random_selection_is_seeded(tmp_path: Path) -> None:
    inp, gens = _files(tmp_path, LENGTHS)
    first = _winners(inp, gens, selection="random", seed=1)
    assert first == _winners(inp, gens, selection="random", seed=1)
    picks = {tuple(_winners(inp, gens, selection="random", seed=s)) for s in range(8)}
    assert len(picks) > 1  # different seeds pick different traces
    assert all(len(p) == 4 for p in picks)  # one winner per prompt whatever the seed


@pytest.mark.parametrize("selection", ["shortest", "random"])
def test_several_processes_equal_one(tmp_path: Path, selection: str) -> None:
    inp, gens = _files(tmp_path, LENGTHS)
    one = _winners(inp, gens, selection=selection, processes=1)
    assert _winners(inp, gens, selection=selection, processes=2) == one


def test_cli_flags_and_bad_values(tmp_path: Path) -> None:
    inp, gens = _files(tmp_path, LENGTHS)
    out = tmp_path / "train.jsonl"
    res = CliRunner().invoke(
        app,
        [
            *("curate", "select", "--input", str(inp), "--out", str(out)),
            *(x for g in gens for x in ("--generations", str(g))),
            *("--selection", "shortest", "--agreement", "none", "--n-single", "0"),
            *("--pair-min-answer-tokens", "0", "--no-plot"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert len(out.read_text().splitlines()) == 4
    with pytest.raises(InputError, match="selection"):
        SelectConfig(selection="median")  # type: ignore[arg-type]


def test_train_result_reports_the_initial_loss(tmp_path: Path) -> None:
    """Fig. 2c compares the initial loss: it is in train_result.json and reads back."""
    from flexjudge.train import TrainResult

    result = TrainResult(
        *("out", "qwen2_5_vl", "sft", 1, 3, 6, 0, 100),
        [(1, 2.5), (2, 2.0), (3, 1.5)],
        *(1.0, 100.0, "log.jsonl", None, [], False, None),
    )
    path = tmp_path / "train_result.json"
    path.write_text(result.to_json())
    assert json.loads(path.read_text())["initial_loss"] == 2.5
    assert TrainResult.from_file(path) == result


def test_nested_subsets_in_one_pass(tmp_path: Path) -> None:
    from flexjudge.curate._scan import ScanStats
    from flexjudge.curate._select import Sample, SelectReport
    from flexjudge.curate._subsets import nested_subset

    def sample(fmt: str, i: int) -> Sample:
        return Sample("p", f"{fmt}{i}", "s", "u", fmt, 10, (6, 4), i, str(i), 0, 100 - i)

    samples = [sample("single", i) for i in range(5)] + [sample("pair", i) for i in range(5)]
    report = SelectReport(
        ScanStats(), samples, {"single": 5, "pair": 5}, {"single": 0, "pair": 0}, False,
        config=SelectConfig(n_single=5, n_pair=5),
    )  # fmt: skip
    subs = {n: [s.text for s in nested_subset(report, n).samples] for n in range(11)}
    assert subs[4] == ["single0", "single1", "pair0", "pair1"]
    assert subs[5] == ["single0", "single1", "pair0", "pair1", "pair2"]
    for n in range(10):
        assert set(subs[n]) <= set(subs[n + 1]) and len(subs[n]) == n  # nested
    assert nested_subset(report, 12).shortfall == {"single": 1, "pair": 1}

    inp, gens = _files(tmp_path, LENGTHS)
    out = tmp_path / "train.jsonl"
    res = CliRunner().invoke(
        app,
        [
            *("curate", "select", "--input", str(inp), "--out", str(out)),
            *(x for g in gens for x in ("--generations", str(g))),
            *("--n-single", "0", "--pair-min-answer-tokens", "0", "--no-plot"),
            *("--subsets", "1,3"),
        ],
    )
    assert res.exit_code == 0, res.output
    full = out.read_text().splitlines()
    one = (tmp_path / "train.1.jsonl").read_text().splitlines()
    three = (tmp_path / "train.3.jsonl").read_text().splitlines()
    assert one == full[:1] and three == full[:3]
    assert (tmp_path / "train.3.card.md").is_file()
