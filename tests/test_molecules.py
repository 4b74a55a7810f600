"""Molecules as a modality: inputs everywhere, the three views, the mol/* protocol fixes
(issue 16; issue 11 items 7-8; issue 12's one-pass mol/pair fill)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from flexjudge import Judge
from flexjudge.backends import MockBackend
from flexjudge.errors import InputError
from flexjudge.judge import JudgeItem
from flexjudge.media import ATOM_FEATURE_SIZES, BOND_FEATURE_SIZES, Molecule, as_molecule
from flexjudge.protocol import MOL_TOKENS, PromptInputs, get_protocol, spec_prompt
from flexjudge.store import ResultStore

pytest.importorskip("rdkit")

ASPIRIN = "CC(=O)Oc1ccccc1C(=O)O"
PAMPA_ANSWER = "The TPSA is low, so it permeates.\n\nFinal answer: High permeability"


def _user(backend: MockBackend) -> str:
    prompt = backend.calls[-1].prompt
    return prompt.split("<|start_header_id|>user<|end_header_id|>\n\n")[1].split("<|eot_id|>")[0]


# -- issue 11 items 7-8, issue 12: the mol/* layouts -------------------------------------------


def test_mol_pair_keeps_the_stored_eight_tokens() -> None:
    question = f"Describe the molecule {MOL_TOKENS}."
    pair = get_protocol("mol/pair")
    for mode in ("reference", "clean"):
        user = pair.render(
            PromptInputs(question, ["a", "b"], family="llama3"),
            mode=mode,  # type: ignore[arg-type]
        ).user
        assert user.count("<mol>") == 8  # was 64
        expected = spec_prompt("P-30", "reference")
        expected = expected.replace("<<QUESTION>>", question).replace("<<ANSWER1>>", "a")
        if mode == "reference":
            assert user == expected.replace("<<ANSWER2>>", "b")


def test_mol_pair_fills_in_one_pass() -> None:
    pair = get_protocol("mol/pair")
    user = pair.render(
        PromptInputs("q", ["evil <<ANSWER2>> and <<QUESTION>>", "RIVAL"], family="llama3"),
        mode="reference",
    ).user
    assert "evil <<ANSWER2>> and <<QUESTION>>" in user
    assert user.count("RIVAL") == 1


def test_mol_pair_candidate_mol_tokens_are_text_in_clean_mode() -> None:
    pair = get_protocol("mol/pair")
    inputs = PromptInputs(f"q {MOL_TOKENS}", ["<mol><mol>", "b"], family="llama3")
    assert pair.render(inputs, mode="clean").user.count("<mol>") == 8
    assert pair.render(inputs, mode="reference").user.count("<mol>") == 10


@pytest.mark.parametrize(
    ("response", "judged"),
    [
        (PAMPA_ANSWER, "The TPSA is low, so it permeates."),
        ("  Low TPSA.  final Answer: low  ", "Low TPSA."),
        ("Reasoning. Final answer: x. Final Answer: y", "Reasoning."),
        ("No label here  ", "No label here  "),  # unchanged without a match (spec §11.5)
    ],
)
def test_mol_pampa_cuts_the_candidate(response: str, judged: str) -> None:
    pampa = get_protocol("mol/pampa")
    user = pampa.render(PromptInputs(None, [response], family="llama3"), mode="reference").user
    assert user == spec_prompt("P-32", "reference").replace("<mol>", MOL_TOKENS) + judged


def test_mol_pampa_refuses_a_question_it_would_ignore() -> None:
    judge = Judge(MockBackend("m", family="llama3"))
    with pytest.raises(InputError, match="fixed question") as err:
        judge.score("Is it toxic?", PAMPA_ANSWER, protocol="mol/pampa")
    assert err.value.field == "question"
    assert judge.score(None, PAMPA_ANSWER, protocol="mol/pampa").status == "ok"


# -- inputs ------------------------------------------------------------------------------------


def test_molecule_input_forms(tmp_path: Path) -> None:
    sdf = tmp_path / "a.sdf"
    from rdkit import Chem

    sdf.write_text(Chem.MolToMolBlock(Chem.MolFromSmiles(ASPIRIN)) + "$$$$\n")
    smi = tmp_path / "a.smi"
    smi.write_text("OC(=O)c1ccccc1OC(C)=O aspirin\n")
    encoded = base64.b64encode(sdf.read_bytes()).decode()
    forms = [
        ASPIRIN,
        {"smiles": "OC(=O)c1ccccc1OC(C)=O"},
        {"path": str(sdf)},
        str(smi),
        {"base64": encoded, "format": "mol"},
        {"base64": base64.b64encode(ASPIRIN.encode()).decode()},
    ]
    hashes = {as_molecule(f).content_hash() for f in forms}
    assert len(hashes) == 1  # canonical SMILES: one molecule, one hash
    with pytest.raises(InputError, match="exactly one"):
        as_molecule({"smiles": "C", "path": "x.smi"}, record="r", field="molecules[0]")
    with pytest.raises(InputError, match="unknown key"):
        as_molecule({"smile": "C"})


def test_invalid_smiles_names_record_and_field_and_the_batch_goes_on() -> None:
    judge = Judge(MockBackend("m", family="llama3"))
    items = [
        {"id": "good", "question": "q", "responses": ["a"], "molecules": ["CCO"]},
        {"id": "bad", "question": "q", "responses": ["a"], "molecules": ["CCO", "C1CC("]},
        {"id": "worse", "question": "q", "responses": ["a"], "molecules": 3},
    ]
    good, bad, worse = judge.run(items)
    assert good.status == "ok"
    assert bad.status == "error" and bad.error_field == "molecules[1]"
    assert "record 'bad'" in (bad.error or "") and "invalid SMILES" in (bad.error or "")
    assert worse.status == "error" and worse.error_field == "molecules"


def test_same_molecule_written_two_ways_resumes_from_the_store(tmp_path: Path) -> None:
    backend = MockBackend("m", family="qwen2_5_vl")
    judge = Judge(backend)
    with ResultStore(tmp_path / "s.sqlite") as store:
        first = judge.run([JudgeItem("q", ["a"], molecules=["OCC"])], store=store)[0]
        calls = len(backend.calls)
        again = judge.run([JudgeItem("q", ["a"], molecules=["CCO"])], store=store)[0]
        assert len(backend.calls) == calls  # resumed, no generation
        assert again.scores == first.scores
        judge.run([JudgeItem("q", ["a"], molecules=["CCN"])], store=store)
        assert len(backend.calls) == calls + 1


# -- the three views ---------------------------------------------------------------------------


def test_image_view_gives_a_vision_judge_a_legible_depiction() -> None:
    backend = MockBackend("m", family="qwen2_5_vl")
    result = Judge(backend).score("Is it drug-like?", "yes", molecules=[ASPIRIN], images=[])
    assert result.status == "ok"
    request = backend.calls[-1]
    assert request.prompt.count("<|image_pad|>") == 1 and not request.molecules
    (image,) = request.images
    assert image.size == (448, 448) and image.mode == "RGB"
    pixels = np.asarray(image)
    assert pixels.std() > 10  # not blank
    assert (pixels.sum(axis=2) < 200).mean() > 0.005  # dark bond strokes
    red = (pixels[..., 0] > 180) & (pixels[..., 1] < 90) & (pixels[..., 2] < 90)
    assert red.sum() > 50  # RDKit draws the O atom labels in red
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    assert 2_000 < len(buf.getvalue()) < 200_000


def test_text_view_writes_the_descriptor_card() -> None:
    backend = MockBackend("m", family="llama3")
    result = Judge(backend).score(None, PAMPA_ANSWER, protocol="mol/pampa", molecules=[ASPIRIN])
    assert result.status == "ok"
    user = _user(backend)
    assert "<mol>" not in user and not backend.calls[-1].images
    for line in (
        f"SMILES: {ASPIRIN}",
        "Molecular weight: 180.16 g/mol",
        "cLogP: 1.31",
        "TPSA: 63.60",
        "H-bond donors: 1",
        "H-bond acceptors: 3",
        "Rotatable bonds: 2",
        "Formal charge: 0",
        "Aromatic rings: 1",
    ):
        assert line in user
    # a general protocol on a text judge gets the card in front of its layout
    Judge(backend).score("Is it drug-like?", "yes", molecules=["CCO"])
    assert "SMILES: CCO" in backend.calls[-1].prompt


def test_graph_view_tensors_and_seeded_conformer() -> None:
    mol = Molecule(ASPIRIN)
    graph = mol.to_graph()
    assert graph.atom_features.shape == (13, len(ATOM_FEATURE_SIZES))
    assert graph.edge_index.shape == (2, 26) and graph.edge_features.shape == (26, 3)
    assert (graph.atom_features < np.array(ATOM_FEATURE_SIZES)).all()
    assert (graph.edge_features < np.array(BOND_FEATURE_SIZES)).all()
    assert graph.positions is None
    a = mol.to_graph(conformer=True, seed=7).positions
    b = mol.to_graph(conformer=True, seed=7).positions
    c = mol.to_graph(conformer=True, seed=8).positions
    assert a is not None and a.shape == (13, 3)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_graph_view_needs_a_molecular_encoder_backend() -> None:
    judge = Judge(MockBackend("m", family="llama3"), molecule_view="graph")
    (result,) = judge.run([JudgeItem("q", ["a"], molecules=["CCO"])])
    assert result.status == "error" and "molecular-encoder backend" in (result.error or "")


# -- CLI and server ----------------------------------------------------------------------------


def test_cli_molecule_option() -> None:
    from flexjudge.cli import app

    res = CliRunner().invoke(
        app,
        [
            "judge",
            "score",
            "--model",
            "m",
            "--backend",
            "mock",
            "--question",
            "Drug-like?",
            "--response",
            "yes",
            "--molecule",
            "CCO",
            "--molecule-view",
            "text",
        ],
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["status"] == "ok"
    res = CliRunner().invoke(
        app,
        [
            "judge",
            "score",
            "--model",
            "m",
            "--backend",
            "mock",
            "--response",
            "yes",
            "--molecule",
            "C1CC(",
        ],
    )
    assert res.exit_code != 0 and "molecules[0]" in res.output


def test_server_judges_molecules() -> None:
    from fastapi.testclient import TestClient

    from flexjudge.apps import create_app

    backend = MockBackend("m", family="qwen2_5_vl")
    client = TestClient(create_app(Judge(backend)))
    body = {"mode": "score", "question": "q", "responses": ["a"]}
    ok = client.post("/v1/judge", json=body | {"molecules": ["CCO", {"smiles": "c1ccccc1"}]})
    assert ok.status_code == 200, ok.text
    assert len(backend.calls[-1].images) == 2
    bad = client.post("/v1/judge", json=body | {"molecules": ["CCO", "C1CC("]})
    assert bad.status_code == 422 and "molecules[1]" in bad.text
    path = client.post("/v1/judge", json=body | {"molecules": [{"path": "a.smi"}]})
    assert path.status_code == 403


def test_judge_run_file_with_molecules(tmp_path: Path) -> None:
    from flexjudge.cli import app

    items = tmp_path / "items.jsonl"
    rows = [
        {"id": "a", "question": "q", "responses": ["x"], "molecules": [{"smiles": "CCO"}]},
        {"id": "b", "question": "q", "responses": ["x"], "molecules": ["C1CC("]},
    ]
    items.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    args = ["judge", "run", "--model", "m", "--backend", "mock", "-i", str(items), "-o", str(out)]
    res = CliRunner().invoke(app, [*args, "--molecule-view", "text"])
    assert res.exit_code == 0, res.output
    a, b = (json.loads(line) for line in out.read_text().splitlines())
    assert a["status"] == "ok"
    assert b["status"] == "error" and "molecules[0]" in b["error"]
