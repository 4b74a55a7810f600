"""Spec prompts are byte-exact, clean variants fix exactly the listed defects, rendering is P-14."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from conftest import shared_path
from flexjudge.errors import InputError, ProtocolError
from flexjudge.protocol import (
    CLEAN_FIXES,
    SPEC_PROMPTS,
    SPEC_SHA256,
    PromptInputs,
    clean_prompt,
    export_prompts,
    get_protocol,
    list_protocols,
    render_chatml,
    render_llama3,
)


def test_every_spec_prompt_matches_its_hash() -> None:
    assert sorted(SPEC_PROMPTS) == [f"P-{i:02d}" for i in range(1, 33)]
    exported = export_prompts("reference")
    for pid, text in exported.items():
        assert hashlib.sha256(text.encode("utf-8")).hexdigest() == SPEC_SHA256[pid], pid


def test_hashes_equal_the_spec_appendix() -> None:
    spec = shared_path("spec", "reference-protocol.md").read_text(encoding="utf-8")
    appendix = spec[spec.index("## Appendix A") :]
    rows = re.findall(r"\| (P-\d+) \| (\d+) \| `([0-9a-f]{64})` \|", appendix)
    table = {pid: digest for pid, _chars, digest in rows}
    assert len(table) == 32
    for pid, text in export_prompts("reference").items():
        assert hashlib.sha256(text.encode()).hexdigest() == table[pid], pid


def test_cli_export_prints_exact_strings(capsys: pytest.CaptureFixture[str]) -> None:
    from typer.testing import CliRunner

    from flexjudge.cli import app

    out = CliRunner().invoke(app, ["protocols", "export", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data == SPEC_PROMPTS
    assert all(hashlib.sha256(v.encode()).hexdigest() == SPEC_SHA256[k] for k, v in data.items())


def test_quirks_survive_in_reference_mode() -> None:
    assert "withthe answer" in SPEC_PROMPTS["P-08"]
    assert "FISRT DECIMAL" in SPEC_PROMPTS["P-21"]
    assert "Coherentand Dynamic" in SPEC_PROMPTS["P-15"]
    assert "[Assistant Edited B's Image]" in SPEC_PROMPTS["P-20"]
    assert "for example,<answer>3</answer>" in SPEC_PROMPTS["P-01"]
    assert "1 \u2013 Very Bad" in SPEC_PROMPTS["P-23"]
    assert SPEC_PROMPTS["P-22"].startswith("\n\n[Question]")


@pytest.mark.parametrize("pid", sorted(CLEAN_FIXES))
def test_clean_fixes_apply_and_remove_the_defect(pid: str) -> None:
    clean = clean_prompt(pid)
    assert clean != SPEC_PROMPTS[pid]
    for old, new in CLEAN_FIXES[pid]:
        if old not in new:
            assert old not in clean
        assert new in clean


def test_prompts_without_defects_are_identical_in_clean_mode() -> None:
    for pid in set(SPEC_PROMPTS) - set(CLEAN_FIXES):
        assert clean_prompt(pid) == SPEC_PROMPTS[pid]


def test_p14_wrapper() -> None:
    assert render_chatml("SYS", "USER") == (
        "<|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\nUSER<|im_end|>\n<|im_start|>assistant\n"
    )
    assert render_chatml("a {user_text}", "b").count("{user_text}") == 1


def test_llama3_format_has_no_date_preamble() -> None:
    text = render_llama3("S", "U", "<think>")
    assert text == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n<think>"
    )


def test_mllm_batch_layout_strips_the_tail() -> None:
    p = get_protocol("mllm-judge/batch")
    r = p.render(PromptInputs("Q", [" a1", "a2  "], n_images=1), mode="reference")
    assert r.user == (
        "<|vision_start|><|image_pad|><|vision_end|>\n\n[Question]\nQ\n\n"
        "[Assistant 1's Answer]\n a1\n\n[Assistant 2's Answer]\na2"
    )


def test_pandalm_empty_input_keeps_trailing_space() -> None:
    r = get_protocol("pandalm").render(
        PromptInputs(None, ["r1", "r2"], fields={"instruction": "Do it", "input": ""}),
        mode="reference",
    )
    assert r.user.startswith("[Question]\n(Instruction:) Do it (Input:) \n\n[Assistant 1's Answer]")


def test_substituted_text_is_never_resubstituted() -> None:
    r = get_protocol("text/pair").render(PromptInputs("{answer_2}", ["{question}", "B"]))
    assert "[Question]\n{answer_2}\n\n[Assistant 1's Answer]\n{question}\n\n" in r.user


def test_teacher_prompt_ends_with_think() -> None:
    r = get_protocol("curate/teacher").render(PromptInputs("q", ["a", "b"]), mode="reference")
    assert r.text.endswith("<|im_start|>assistant\n<think>\n")
    assert r.system == SPEC_PROMPTS["P-01"]


def test_omni_family_translates_placeholders_but_mj_omni_keeps_q14_text() -> None:
    r = get_protocol("mllm-judge/pair").render(
        PromptInputs("q", ["a", "b"], n_images=1, family="qwen2_5_omni"), mode="reference"
    )
    assert r.user.startswith("<|vision_bos|><|IMAGE|><|vision_eos|>")
    r = get_protocol("mj-bench/quality-omni").render(
        PromptInputs("cap", [], n_images=2, family="qwen2_5_omni"), mode="reference"
    )
    assert "<|vision_start|><|IMAGE|><|vision_end|>" in r.user
    r = get_protocol("mj-bench/quality-omni").render(
        PromptInputs("cap", [], n_images=2, family="qwen2_5_omni"), mode="clean"
    )
    assert "<|vision_bos|><|IMAGE|><|vision_eos|>" in r.user


def test_wrong_inputs_name_the_field() -> None:
    with pytest.raises(InputError, match="responses"):
        get_protocol("mllm-judge/pair").render(PromptInputs("q", ["a"], n_images=1))
    with pytest.raises(InputError, match="images"):
        get_protocol("mllm-judge/pair").render(PromptInputs("q", ["a", "b"]))
    with pytest.raises(InputError, match="audios"):
        get_protocol("score-5").render(PromptInputs("q", ["a"], n_audios=1))
    with pytest.raises(InputError, match="source_prompt"):
        get_protocol("genai-bench/editing").render(PromptInputs("q", [], n_images=3))
    with pytest.raises(ProtocolError, match="unknown protocol"):
        get_protocol("nope")


def test_general_protocols_take_criteria_and_free_media() -> None:
    p = get_protocol("score-5")
    r = p.render(PromptInputs("q", ["a"], n_images=2, n_videos=1), criteria="Be strict.")
    assert "Be strict." in r.system and "1-5" in r.system
    assert r.user.startswith(
        "<|vision_start|><|image_pad|><|vision_end|>" * 2
        + "<|vision_start|><|video_pad|><|vision_end|>\n\n[Question]\nq"
    )
    with pytest.raises(ProtocolError):
        get_protocol("mllm-judge/pair").render(
            PromptInputs("q", ["a", "b"], n_images=1), criteria="x"
        )


def test_every_protocol_renders() -> None:
    for p in list_protocols():
        n = 3 if p.n_responses is None else max(p.n_responses, 0)
        if p.fixed_text or p.response_media is not None:
            n = 0
        media = p.media or ()
        family = (
            "qwen2_5_omni"
            if "audio" in media or "qwen2_5_omni" in p.families[:1]
            else (p.families[0] if p.families[0] in ("llama3",) else "qwen2_5_vl")
        )
        fields = {f: f for f in p.required_fields}
        inputs = PromptInputs(
            "q",
            ["r"] * n,
            n_images=media.count("image"),
            n_videos=media.count("video"),
            n_audios=media.count("audio"),
            fields=fields,
            family=family,
        )
        for mode in ("reference", "clean"):
            r = p.render(inputs, mode=mode)  # type: ignore[arg-type]
            assert r.text and r.system in r.text
