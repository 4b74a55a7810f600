"""The reasoning-order ablation (paper Fig. 5): ``curate select --order answer-first`` writes
the answer-then-reasoning variant, and judge and bench read it with ``answer_order``."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flexjudge.backends import GenerationRequest, MockBackend
from flexjudge.backends._mock import default_judge_text
from flexjudge.bench import BenchRunConfig, run_benchmark
from flexjudge.cli import app
from flexjudge.curate import GenerateConfig, generate, iter_synthetic_rows, synthetic_responder
from flexjudge.errors import InputError
from flexjudge.judge import Judge, JudgeConfig
from flexjudge.protocol import Format, ParseStatus, get_protocol, parse_answer_first, parse_verdict
from test_bench_e2e import make_data

SELECT = ["--n-single", "30", "--n-pair", "30", "--single-min-tokens", "0",
          "--pair-min-answer-tokens", "0", "--agreement", "direction", "--no-plot"]  # fmt: skip


@pytest.fixture(scope="module")
def selected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """One teacher run selected twice: reasoning-first (default) and answer-first."""
    tmp = tmp_path_factory.mktemp("order")
    rows = list(iter_synthetic_rows(120))
    inp = tmp / "in.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    backend = MockBackend("teacher", responder=synthetic_responder(rows))
    generate(backend, inp, tmp / "gen", GenerateConfig(batch_size=64))
    out: dict[str, list[dict[str, Any]]] = {}
    for order in ("reasoning-first", "answer-first"):
        path = tmp / order / "train.jsonl"
        extra = [] if order == "reasoning-first" else ["--order", order]
        args = ["curate", "select", str(tmp / "gen"), "--input", str(inp), "--out", str(path)]
        res = CliRunner().invoke(app, [*args, *SELECT, *extra])
        assert res.exit_code == 0, res.output
        for suffix in ("", ".messages", ".meta"):
            name = f"train{suffix}.jsonl"
            lines = (path.parent / name).read_text().splitlines()
            out[f"{order}{suffix}"] = [json.loads(line) for line in lines]
        out[f"{order}.card"] = [{"text": (path.parent / "train.card.md").read_text()}]
    return out


def _protocol(meta: dict[str, Any]) -> str:
    return f"score-{meta['scale']}" if meta["format"] == "single" else "curate/teacher"


def test_answer_first_rows_are_the_same_samples_answer_then_reasoning(
    selected: dict[str, list[dict[str, Any]]],
) -> None:
    first, second = selected["reasoning-first"], selected["answer-first"]
    assert len(first) == len(second) == 60
    assert selected["reasoning-first.meta"] == selected["answer-first.meta"]
    for rf, af in zip(first, second, strict=True):
        assert rf["prompt"] == af["prompt"] + "<think>\n"
        assert af["text"].startswith("<answer>") and af["text"].endswith("</think>")
        reasoning, _, tags = rf["text"].partition("</think>")
        assert af["text"] == f"{tags.strip()}\n<think>\n{reasoning.strip()}\n</think>"
    for rf, af in zip(
        selected["reasoning-first.messages"], selected["answer-first.messages"], strict=True
    ):
        assert rf["messages"][:2] == af["messages"][:2]
        assert rf["messages"][2]["content"].startswith("<think>\n")
        assert af["messages"][2]["content"].startswith("<answer>")
    assert "--order answer-first" in selected["answer-first.card"][0]["text"]
    assert "--order" not in selected["reasoning-first.card"][0]["text"]


def test_answer_first_parse_gives_the_reasoning_first_verdicts(
    selected: dict[str, list[dict[str, Any]]],
) -> None:
    metas = selected["reasoning-first.meta"]
    formats = {(m["format"], m["scale"]) for m in metas}
    assert formats == {("single", 10), ("single", 5), ("pair", 10), ("pair", 5)}
    for rf, af, meta in zip(
        selected["reasoning-first"], selected["answer-first"], metas, strict=True
    ):
        protocol = get_protocol(_protocol(meta))
        count = 1 if meta["format"] == "single" else 2
        want = protocol.parse(rf["text"], count=count)
        got = protocol.parse(af["text"], count=count, answer_order="answer-first")
        assert want.status is got.status is ParseStatus.OK
        assert (got.scores, got.preference) == (want.scores, want.preference)
        assert list(got.scores) == meta["scores"]
        assert got.reasoning == want.reasoning and got.raw == af["text"]
        # read in the default order, the answer-first text has no answer after </think>
        assert protocol.parse(af["text"], count=count).status is ParseStatus.NO_ANSWER


def test_answer_first_parser_rules() -> None:
    text = "<answer>7</answer><answer>4</answer>\n<think>\nI would say <answer>1</answer>"
    truncated = parse_answer_first(text, Format.SCORE, count=2, finish_reason="length")
    assert truncated.ok and truncated.scores == (7.0, 4.0)  # quoted tag and cut-off ignored
    reasoned_first = "<think>\nhmm\n</think>\n<answer>7</answer><answer>4</answer>"
    assert parse_answer_first(reasoned_first, Format.SCORE, count=2).status is (
        ParseStatus.NO_ANSWER
    )
    option = parse_answer_first(
        "<answer>[[B>A]]</answer>\n<think>x</think>", Format.OPTION, count=2
    )
    assert option.ok and option.preference == "B"
    # reference mode is untouched: its patterns already take the leading tags
    ref = get_protocol("curate/teacher")
    assert ref.parse(text, mode="reference", answer_order="answer-first") == ref.parse(
        text, mode="reference"
    )
    # the default order is the plain clean parser
    for sample in (text, reasoned_first, "<answer>3</answer>"):
        assert ref.parse(sample) == parse_verdict(sample, ref.format, count=2, scale=ref.scale)


def test_judge_answer_first_renders_without_think_and_parses_leading_answers() -> None:
    reply = "<answer>8</answer><answer>3</answer>\n<think>\nThe first is right.\n</think>"
    backend = MockBackend(outputs=[reply])
    judge = Judge(backend, protocol="text/pair", answer_order="answer-first")
    result = judge.compare("2+2?", "4", "5")
    assert result.status == "ok" and result.preference == "A"
    assert result.samples[0].verdict.scores == (8.0, 3.0)
    assert not backend.calls[0].prompt.endswith("<think>\n")
    assert result.sampling["answer_order"] == "answer-first"
    default = Judge(MockBackend(outputs=[reply]), protocol="text/pair").compare("2+2?", "4", "5")
    assert default.status != "ok"
    assert "answer_order" not in default.sampling  # default keys and records unchanged
    with pytest.raises(ValueError, match="budget forcing"):
        JudgeConfig(answer_order="answer-first", budget_forcing=1)
    with pytest.raises(ValueError, match="answer_order"):
        JudgeConfig(answer_order="sideways")  # type: ignore[arg-type]


def test_select_order_validation() -> None:
    from flexjudge.curate import SelectConfig

    with pytest.raises(InputError) as err:
        SelectConfig(order="sideways")  # type: ignore[arg-type]
    assert err.value.field == "order"
    with pytest.raises(InputError):
        SelectConfig(order="answer-first", mode="reference")


def _answer_first_reply(request: GenerationRequest, index: int) -> str:
    """The mock judge's reasoning-first reply to the reasoning-first prompt, reordered."""
    text = _reasoning_first_reply(request, index)
    reasoning, _, tags = text.partition("</think>")
    return f"{tags.strip()}\n<think>\n{reasoning.removeprefix('<think>').strip()}\n</think>"


def _reasoning_first_reply(request: GenerationRequest, index: int) -> str:
    prompt = (
        request.prompt if request.prompt.endswith("<think>\n") else request.prompt + "<think>\n"
    )
    return default_judge_text(replace(request, prompt=prompt), index)


def test_bench_scores_both_variants_alike(tmp_path: Path) -> None:
    args = make_data(tmp_path, "pandalm", "test")
    scores = {}
    for order, responder in (
        ("reasoning-first", _reasoning_first_reply),
        ("answer-first", _answer_first_reply),
    ):
        out = tmp_path / order
        cfg = BenchRunConfig(
            "pandalm", "mock", out, mode="clean", data=Path(args[1]), plots=False,
            answer_order=order,  # type: ignore[arg-type]
        )  # fmt: skip
        scores[order] = run_benchmark(cfg, judge=Judge(MockBackend(responder=responder)))
        preds = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
        assert all(p.get("answer_order", "reasoning-first") == order for p in preds)
    first, second = scores["reasoning-first"], scores["answer-first"]
    assert second.counts == first.counts and second.metrics == first.metrics
    assert second.counts["scored"] > 0
    # rescoring the stored predictions reads them in their recorded order
    res = CliRunner().invoke(
        app,
        ["bench", "score", "pandalm", "--predictions", str(tmp_path / "answer-first" /
         "predictions.jsonl"), "--data", args[1], "--mode", "clean"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout.strip().splitlines()[-1])["metrics"] == first.metrics
