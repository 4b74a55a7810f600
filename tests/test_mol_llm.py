"""The molecular-encoder backend on the tiny ``mol_llm`` checkpoint: the graph view reaches
the LM through ``<mol>`` embeddings, and mol/pampa and mol/pair run end to end offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flexjudge import Judge
from flexjudge.backends import GenerationRequest, SamplingParams, load_backend
from flexjudge.errors import BackendError
from flexjudge.media import Molecule
from flexjudge.protocol import MOL_TOKENS, PromptInputs, get_protocol

pytest.importorskip("rdkit")
pytest.importorskip("torch")

PAMPA_ANSWER = "The TPSA is low, so it permeates.\n\nFinal answer: High permeability"


@pytest.fixture(scope="module")
def mol_llm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from flexjudge.testing import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("mol") / "tiny", "mol_llm")


@pytest.fixture(scope="module")
def backend(mol_llm_dir: Path):  # type: ignore[no-untyped-def]
    return load_backend("mol-llm", str(mol_llm_dir))


def _pampa_request(smiles: list[str], slots: int = 1) -> GenerationRequest:
    inputs = PromptInputs(None, [PAMPA_ANSWER], family="llama3", molecules=(MOL_TOKENS,) * slots)
    text = get_protocol("mol/pampa").render(inputs, mode="reference").text
    graphs = [Molecule(s).to_graph() for s in smiles]
    return GenerationRequest(text, SamplingParams(0.0, 1.0, 8), molecules=graphs)


def test_the_molecule_conditions_the_logits(backend) -> None:  # type: ignore[no-untyped-def]
    import torch

    assert backend.family == "llama3" and backend.molecule_view == "graph"
    ethanol = backend.next_token_logits(_pampa_request(["CCO"]))
    again = backend.next_token_logits(_pampa_request(["OCC"]))
    phenol = backend.next_token_logits(_pampa_request(["c1ccccc1O"]))
    assert torch.equal(ethanol, again)
    assert (ethanol - phenol).abs().max() > 1e-3


def test_placeholder_count_must_match_the_molecules(backend) -> None:  # type: ignore[no-untyped-def]
    (bad,) = backend.generate([_pampa_request(["CCO", "CCN"])])
    assert bad[0].finish_reason == "error" and "need 16" in bad[0].text
    with pytest.raises(BackendError, match=r"8 <mol> token\(s\) but 0 molecule"):
        backend.next_token_logits(_pampa_request([]))


def test_mol_pampa_and_mol_pair_end_to_end(backend) -> None:  # type: ignore[no-untyped-def]
    judge = Judge(backend, max_tokens=12)
    pampa = judge.score(None, PAMPA_ANSWER, protocol="mol/pampa", molecules=["CCO"])
    assert pampa.status != "error", pampa.error
    assert pampa.samples and pampa.samples[0].num_tokens > 0
    question = f"Describe the structure of {MOL_TOKENS}."
    pair = judge.compare(question, "a", "b", protocol="mol/pair", molecules=["c1ccccc1O"])
    assert pair.status != "error", pair.error
    # a question without a slot gets one in front; two slots for one molecule is an error
    (ok, bad) = judge.run(
        [
            {"question": "Describe it.", "responses": ["a", "b"], "molecules": ["CCO"]},
            {"question": f"{MOL_TOKENS} vs <mol>", "responses": ["a", "b"], "molecules": ["C"]},
        ],
        protocol="mol/pair",
    )
    assert ok.status != "error", ok.error
    assert bad.status == "error" and bad.error_field == "molecules"


def test_cli_judges_a_molecule_with_the_encoder(mol_llm_dir: Path) -> None:
    from flexjudge.cli import app

    args = ["judge", "score", "--model", str(mol_llm_dir), "--backend", "mol-llm"]
    args += ["--protocol", "mol/pampa", "--response", PAMPA_ANSWER, "--molecule", "CCO"]
    res = CliRunner().invoke(app, [*args, "--max-tokens", "6"])
    assert res.exit_code in (0, 1), res.output
    result = json.loads(res.stdout)
    assert result["protocol"] == "mol/pampa" and result["status"] != "error"
