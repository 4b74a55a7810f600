"""Chat rendering by hand, so prompts never depend on a checkpoint's template.

``render_chatml`` builds spec P-14 exactly (what the Qwen2.5 / Qwen2.5-VL templates produce for
a system turn plus a text-only user turn).  ``render_llama3`` builds the molecule example's
per-message Llama-3 format (spec §11.3, no "Cutting Knowledge Date" preamble).
"""

from __future__ import annotations

import functools
from typing import Literal

from flexjudge.families import DEFAULT_FAMILY, PLACEHOLDERS, REFERENCE_PLACEHOLDERS
from flexjudge.protocol._spec_prompts import SPEC_PROMPTS

ChatFormat = Literal["chatml", "llama3"]

THINK_PREFIX = "<think>\n"


def render_chatml(system: str, user: str, assistant_prefix: str = "") -> str:
    """Spec P-14, then ``assistant_prefix`` (e.g. ``"<think>\\n"`` for teacher prompts)."""
    before_user, after_user = _chatml_around_user(system)
    return before_user + user + after_user + assistant_prefix


@functools.lru_cache(maxsize=256)
def _chatml_around_user(system: str) -> tuple[str, str]:
    """P-14 with ``system`` filled in, split at the user slot (a batch shares few systems)."""
    template = SPEC_PROMPTS["P-14"]
    text = template.replace("{system_prompt}", system, 1)
    # find the user slot after the system slot so a literal "{user_text}" in the system
    # prompt (there is none in the spec) could never be substituted
    head, sep, tail = text.partition("<|im_start|>user\n")
    before, slot, after = tail.partition("{user_text}")
    if not slot:
        raise AssertionError("spec prompt P-14 has no {user_text} slot")
    return head + sep + before, after


def render_llama3(system: str, user: str, assistant_prefix: str = "") -> str:
    """Spec §11.3: each message rendered separately and concatenated."""
    return (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
        + system
        + "<|eot_id|>"
        + "<|start_header_id|>user<|end_header_id|>\n\n"
        + user
        + "<|eot_id|>"
        + "<|start_header_id|>assistant<|end_header_id|>\n\n"
        + assistant_prefix
    )


def render_chat(
    system: str, user: str, *, chat_format: ChatFormat = "chatml", assistant_prefix: str = ""
) -> str:
    if chat_format == "llama3":
        return render_llama3(system, user, assistant_prefix)
    return render_chatml(system, user, assistant_prefix)


def translate_placeholders(text: str, family: str) -> str:
    """Rewrite the reference (Qwen2.5-VL) image/video placeholders for another family."""
    if family not in PLACEHOLDERS or family == DEFAULT_FAMILY:
        return text
    for kind in ("image", "video"):
        text = text.replace(REFERENCE_PLACEHOLDERS[kind], PLACEHOLDERS[family][kind])
    return text
