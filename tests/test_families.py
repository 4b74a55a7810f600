"""flexjudge.families: the one table of families and placeholders, and who reads it."""

from __future__ import annotations

import pytest

from flexjudge import families
from flexjudge.backends import ModelFamily
from flexjudge.families import (
    MODEL_FAMILIES,
    PLACEHOLDER_TOKENS,
    PLACEHOLDERS,
    REFERENCE_PLACEHOLDERS,
    media_family,
    placeholder_tokens,
)
from flexjudge.protocol import PLACEHOLDERS as PROTOCOL_PLACEHOLDERS
from flexjudge.testing._templates import QWEN2_5_OMNI_CHAT_TEMPLATE, QWEN2_5_VL_CHAT_TEMPLATE
from flexjudge.testing._tokenizer import QWEN2_5_OMNI_SPECIAL_TOKENS, QWEN2_5_VL_SPECIAL_TOKENS


def test_public_names_are_the_same_objects() -> None:
    assert PROTOCOL_PLACEHOLDERS is PLACEHOLDERS
    assert ModelFamily is families.ModelFamily
    assert MODEL_FAMILIES == ("qwen2_5_vl", "qwen2_5_omni", "text", "llama3")


def test_placeholders_wrap_the_token_the_processor_expands() -> None:
    assert PLACEHOLDERS["qwen2_5_vl"]["image"] == "<|vision_start|><|image_pad|><|vision_end|>"
    assert PLACEHOLDERS["qwen2_5_omni"]["audio"] == "<|audio_bos|><|AUDIO|><|audio_eos|>"
    for family, tokens in PLACEHOLDER_TOKENS.items():
        for kind, token in tokens.items():
            assert token in PLACEHOLDERS[family][kind]
    assert REFERENCE_PLACEHOLDERS["audio"] == PLACEHOLDERS["qwen2_5_omni"]["audio"]
    assert placeholder_tokens("qwen2_5_vl") == ("<|image_pad|>", "<|video_pad|>", None)
    assert placeholder_tokens("text") == (None, None, None)


@pytest.mark.parametrize(
    ("family", "specials", "template"),
    [
        ("qwen2_5_vl", QWEN2_5_VL_SPECIAL_TOKENS, QWEN2_5_VL_CHAT_TEMPLATE),
        ("qwen2_5_omni", QWEN2_5_OMNI_SPECIAL_TOKENS, QWEN2_5_OMNI_CHAT_TEMPLATE),
    ],
)
def test_tiny_checkpoints_know_every_placeholder(
    family: str, specials: tuple[str, ...], template: str
) -> None:
    for placeholder in PLACEHOLDERS[family].values():
        marks = placeholder.replace("|><|", "|>\0<|").split("\0")
        assert set(marks) <= set(specials)
        assert placeholder in template


def test_model_types_map_to_media_families() -> None:
    assert media_family("qwen2_vl") == media_family("qwen2_5_vl") == "qwen2_5_vl"
    assert media_family("qwen2_5_omni_thinker") == "qwen2_5_omni"
    assert media_family("llama") is None
