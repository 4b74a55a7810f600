"""The paper's molecule loop as commands on tiny models: ``sample`` (temperatures, seeds,
store/resume) → ``pairs`` (molecules through the judge's view, --expect-first) → ``dpo``
(TRL DPOTrainer, 2 steps), and the saved policy loads back and generates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flexjudge import Judge
from flexjudge.apps._pairs import PairsConfig, build_pairs, write_pairs
from flexjudge.apps._records import parse_candidates
from flexjudge.backends import GenerationRequest, MockBackend, SamplingParams, load_backend

pytest.importorskip("rdkit")
pytest.importorskip("trl")

PROMPTS = [
    {"id": "m1", "question": "Describe the molecule <mol>.", "molecules": ["CCO"]},
    {"id": "m2", "question": "Is it aromatic?", "molecules": ["c1ccccc1O"]},
    {"id": "t1", "question": "Name a gas."},
]


def _invoke(args: list[str]) -> dict:  # type: ignore[type-arg]
    from flexjudge.cli import app

    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_sample_mock_temperatures_seeds_and_resume(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(p) + "\n" for p in PROMPTS) + "not json\n")
    out, store = tmp_path / "cands.jsonl", tmp_path / "s.sqlite"
    args = ["sample", "-m", "m", "--backend", "mock", "-i", str(prompts), "-o", str(out)]
    args += ["--n", "2", "--temperatures", "0.8,1.2", "--seed", "5", "--store", str(store)]
    first = _invoke(args)
    assert first["generated"] == 12 and first["errors"] == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows[:3]] == ["m1", "m2", "t1"] and "error" in rows[3]
    assert rows[0]["temperatures"] == [0.8, 0.8, 1.2, 1.2]
    assert rows[0]["seeds"] == [5, 6, 5, 6] and len(rows[0]["responses"]) == 4
    assert rows[0]["molecules"] == ["CCO"]
    again = _invoke(args)
    assert again["generated"] == 0 and again["from_store"] == 12
    assert [json.loads(line) for line in out.read_text().splitlines()] == rows


def test_sample_shows_molecules_through_the_policy_view() -> None:
    from flexjudge.curate._sample import SampleConfig, sample_candidates

    text_policy = MockBackend("p", family="text")
    sample_candidates(text_policy, [PROMPTS[0]], SampleConfig())
    prompt = text_policy.calls[-1].prompt
    assert "SMILES: CCO" in prompt and "<mol>" not in prompt
    vl_policy = MockBackend("p", family="qwen2_5_vl")
    sample_candidates(vl_policy, [PROMPTS[1]], SampleConfig())
    assert len(vl_policy.calls[-1].images) == 1


@pytest.mark.slow
def test_sample_pairs_dpo_end_to_end(tmp_path: Path) -> None:
    from flexjudge.testing import build_tiny_model

    policy = build_tiny_model(tmp_path / "policy", "qwen2")
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text("".join(json.dumps(p) + "\n" for p in PROMPTS))
    cands = tmp_path / "cands.jsonl"
    summary = _invoke(
        [
            "sample",
            "-m",
            str(policy),
            "-i",
            str(prompts),
            "-o",
            str(cands),
            "--temperatures",
            "0.8,1.2",
            "--max-tokens",
            "6",
        ]
    )
    assert summary["generated"] == 6 and summary["errors"] == 0

    # a judge that prefers the 0.8 sample in both orders: forward A, reverse B
    judge = Judge(
        MockBackend(
            "j",
            family="text",
            outputs=[
                "<think>x</think><answer>8</answer><answer>3</answer>",
                "<think>x</think><answer>3</answer><answer>8</answer>",
            ],
        )
    )
    records = [
        parse_candidates(json.loads(line), exact=2)
        for line in cands.read_text().split("\n")
        if line
    ]
    report = build_pairs(judge, records, PairsConfig(protocol="mol/pair", expect_first=True))
    assert report.summary["kept"] == 3 and report.summary["chosen_first"] == 3
    judged = judge.backend.calls  # type: ignore[attr-defined]
    assert any("SMILES: CCO" in r.prompt for r in judged)  # molecules reach the judge
    pairs_file = tmp_path / "pairs.jsonl"
    write_pairs(report, pairs_file)
    assert json.loads(pairs_file.read_text().splitlines()[0])["molecules"] == ["CCO"]

    trained = tmp_path / "dpo"
    result = _invoke(
        [
            "dpo",
            "--policy",
            str(policy),
            "--pairs",
            str(pairs_file),
            "--output",
            str(trained),
            "--max-steps",
            "2",
            "--per-device-batch-size",
            "1",
            "--lora",
            "--device",
            "cpu",
        ]
    )
    assert result["steps"] == 2 and result["beta"] == 0.1 and len(result["losses"]) == 2
    back = load_backend("transformers", str(trained), device="cpu")
    (completions,) = back.generate(
        [
            GenerationRequest(
                "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
                SamplingParams(0.0, 1.0, 4),
            )
        ]
    )
    assert completions[0].finish_reason != "error" and completions[0].num_tokens > 0


@pytest.mark.slow
def test_vl_and_mol_llm_policies_sample_and_vl_dpo(tmp_path: Path) -> None:
    from flexjudge.curate._sample import SampleConfig, sample_candidates
    from flexjudge.testing import build_tiny_model, make_test_image
    from flexjudge.train._dpo import DPOSettings, run_dpo

    image = tmp_path / "img.png"
    make_test_image(28, 28).save(image)
    vl = build_tiny_model(tmp_path / "vl", "qwen2_5_vl")
    policy = load_backend("transformers", str(vl), device="cpu")
    prompt = {"id": "a", "question": "What is it?", "images": [str(image)], "molecules": ["CCO"]}
    rows, counts = sample_candidates(policy, [prompt], SampleConfig(max_tokens=4))
    assert counts["generated"] == 1 and "error" not in rows[0]  # photo + depiction

    mol_policy = load_backend("mol-llm", str(build_tiny_model(tmp_path / "m", "mol_llm")))
    rows, counts = sample_candidates(
        mol_policy, [{"id": "m", "question": "Describe it.", "molecules": ["CCO"]}],
        SampleConfig(max_tokens=4),
    )  # fmt: skip
    assert counts["generated"] == 1 and "error" not in rows[0]

    pairs = tmp_path / "pairs.jsonl"
    row = {"prompt": "What is it?", "chosen": "a cat", "rejected": "a dog", "images": [str(image)]}
    pairs.write_text("".join(json.dumps(row | {"id": str(i)}) + "\n" for i in range(2)))
    settings = DPOSettings(
        policy=str(vl), pairs=str(pairs), output=str(tmp_path / "vl-dpo"), max_steps=2,
        per_device_batch_size=1, device="cpu",
    )  # fmt: skip
    result = run_dpo(settings)
    assert result["steps"] == 2
    assert (tmp_path / "vl-dpo" / "processor_config.json").is_file()
    back = load_backend("transformers", str(tmp_path / "vl-dpo"), device="cpu")
    assert back.family == "qwen2_5_vl"


@pytest.mark.slow
def test_dpo_runs_two_processes(tmp_path: Path) -> None:
    """`--launch 2`: two torchrun ranks (gloo on CPU) train one policy; rank 0 saves it."""
    from flexjudge.testing import build_tiny_model

    policy = build_tiny_model(tmp_path / "policy", "qwen2")
    pairs = tmp_path / "pairs.jsonl"
    row = {"prompt": "Name a gas.", "chosen": "helium", "rejected": "rock"}
    pairs.write_text("".join(json.dumps(row | {"id": str(i)}) + "\n" for i in range(4)))
    result = _invoke(
        [
            "dpo",
            "--policy",
            str(policy),
            "--pairs",
            str(pairs),
            "--output",
            str(tmp_path / "o"),
            "--max-steps",
            "2",
            "--per-device-batch-size",
            "1",
            "--device",
            "cpu",
            "--launch",
            "2",
        ]
    )
    assert result["world_size"] == 2 and result["steps"] == 2
    assert (tmp_path / "o" / "model.safetensors").is_file()
