"""The molecular-encoder backend on the tiny ``mol_llm`` checkpoint: the graph view reaches
the LM through ``<mol>`` embeddings, and mol/pampa and mol/pair run end to end offline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flexjudge import Judge
from flexjudge.backends import GenerationRequest, SamplingParams, load_backend
from flexjudge.errors import BackendError, InputError
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


def test_flex_mol_recipe_keeps_adapters_and_encoder(tmp_path: Path, mol_llm_dir: Path) -> None:
    """Graft a plain-LM judge into a tiny PEFT molecular host (paper B.4): the host's LoRA
    adapter and encoder files are bit-identical afterwards, its base weights are the judge's,
    its extra token rows ([PAD], <mol>...) are its own, and it still judges molecules."""
    import shutil

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from flexjudge.testing import build_tiny_model
    from flexjudge.train._graft_mol import graft_into_mol_host

    host = tmp_path / "host"
    shutil.copytree(mol_llm_dir, host)
    lm = AutoModelForCausalLM.from_pretrained(host)
    peft_lm = get_peft_model(lm, LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    with torch.no_grad():
        for name, param in peft_lm.named_parameters():
            if "lora_B" in name:
                param.normal_()  # a trained adapter is not zero
    peft_lm.save_pretrained(host / "adapter")
    judge_dir = build_tiny_model(tmp_path / "judge", "qwen2", seed=3)
    judge = AutoModelForCausalLM.from_pretrained(judge_dir)
    out = tmp_path / "flex_mol"
    report = graft_into_mol_host(judge.state_dict(), host, out)
    assert report.copied and "model.embed_tokens.weight" in report.row_merged
    for part in ("adapter", "mol_encoder"):
        for f in (host / part).iterdir():
            assert (out / part / f.name).read_bytes() == f.read_bytes()
    grafted = AutoModelForCausalLM.from_pretrained(out).state_dict()
    original = AutoModelForCausalLM.from_pretrained(host).state_dict()
    judge_state = judge.state_dict()
    key = "model.layers.0.self_attn.q_proj.weight"
    assert torch.equal(grafted[key], judge_state[key])
    rows = judge_state["model.embed_tokens.weight"].shape[0]
    emb = grafted["model.embed_tokens.weight"]
    assert torch.equal(emb[:rows], judge_state["model.embed_tokens.weight"])
    assert torch.equal(emb[rows:], original["model.embed_tokens.weight"][rows:])
    backend = load_backend("mol-llm", str(out))
    assert backend.fingerprint() != load_backend("mol-llm", str(host)).fingerprint()
    logits = backend.next_token_logits(_pampa_request(["CCO"]))
    assert torch.isfinite(logits).all()


def test_image_and_text_views_end_to_end_on_tiny_checkpoints() -> None:
    """The image view on a tiny Qwen2.5-VL judge and the text view on a tiny text judge."""
    from flexjudge.testing import tiny_model

    vl = Judge.from_pretrained(str(tiny_model("qwen2_5_vl")), max_tokens=6)
    seen = vl.score("Is it drug-like?", "yes", molecules=["CC(=O)Oc1ccccc1C(=O)O"])
    assert seen.status != "error", seen.error
    text = Judge.from_pretrained(str(tiny_model("qwen2")), max_tokens=6)
    assert text.backend.family == "text"
    card = text.score(None, PAMPA_ANSWER, protocol="mol/pampa", molecules=["CCO"])
    assert card.status != "error", card.error
    # mol/pampa has no image slot: the image view is a clear error naming the field
    with pytest.raises(InputError, match="0 image"):
        text.score(
            None, PAMPA_ANSWER, protocol="mol/pampa", molecules=["CCO"], molecule_view="image"
        )
