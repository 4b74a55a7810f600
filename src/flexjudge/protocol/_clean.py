"""Clean-mode prompt variants: the reference prompts with the defects of spec §12 fixed.

Each fix is a literal ``(old, new)`` replacement on the reference string, so every change is
visible here and a test checks that each ``old`` really occurs.  Prompts without an entry are
identical in both modes.
"""

from __future__ import annotations

from flexjudge.families import PLACEHOLDERS
from flexjudge.protocol._spec_prompts import SPEC_PROMPTS

_EXAMPLE_SPACE = ("for example,<answer>", "for example, <answer>")
_GENAI = [
    ("You have only FOUR Option:", "You have only FOUR options:"),
    ("Consider inappropriateness the following", "Consider the following"),
]

CLEAN_FIXES: dict[str, list[tuple[str, str]]] = {
    "P-01": [_EXAMPLE_SPACE, ("Criteria includes", "Criteria include")],
    "P-03": [
        ("evaluation for both assistants", "evaluation for the assistant"),
        ("an AI assistants", "an AI assistant"),
        ("Score assistants 1-5", "Score the assistant 1-5"),
        ("Criteria includes", "Criteria include"),
        ("provide your evaluation scores", "provide your evaluation score"),
    ],
    "P-04": [("Criteria includes", "Criteria include")],
    "P-08": [
        ("the user withthe answer", "the user with the answer"),
        (
            "enclosed within <think> reasoning process here",
            "enclosed within <think> </think> and <answer> </answer> tags, respectively, i.e., "
            "<think> detailed reasoning process here",
        ),
        ("Criteria includes", "Criteria include"),
    ],
    "P-09": [_EXAMPLE_SPACE],
    "P-10": [_EXAMPLE_SPACE, ("generated from given prompt", "generated from the given prompt")],
    "P-11": [_EXAMPLE_SPACE, ("generated from given prompt", "generated from the given prompt")],
    "P-13": [
        # the reference mixes Qwen2.5-VL's marks around Omni's image token
        ("<|vision_start|><|IMAGE|><|vision_end|>", PLACEHOLDERS["qwen2_5_omni"]["image"]),
    ],
    "P-15": [*_GENAI, ("Coherentand Dynamic", "Coherent and Dynamic")],
    "P-16": [*_GENAI, ("editied images", "edited images")],
    "P-17": list(_GENAI),
    "P-20": [("[Assistant Edited B's Image]", "[Assistant B's Edited Image]")],
    "P-21": [("FISRT DECIMAL", "FIRST DECIMAL")],
    "P-23": [
        ("evaluation for both assistants", "evaluation for an AI assistant"),
        _EXAMPLE_SPACE,
    ],
    "P-27": [("Criteria includes", "Criteria include")],
    "P-29": [_EXAMPLE_SPACE, ("both assitants", "both assistants")],
    "P-31": [
        ("FISRT DECIMAL", "FIRST DECIMAL"),
        ("A high degree of rigidity often permeate", "Rigid molecules often permeate"),
    ],
}


def clean_prompt(prompt_id: str) -> str:
    """The clean variant of a spec prompt (the reference text when it has no defects)."""
    text = SPEC_PROMPTS[prompt_id]
    for old, new in CLEAN_FIXES.get(prompt_id, []):
        if old not in text:  # pragma: no cover - guarded by tests
            raise AssertionError(f"{prompt_id}: clean fix target {old!r} not found")
        text = text.replace(old, new)
    return text


def spec_prompt(prompt_id: str, mode: str) -> str:
    """The spec prompt in ``reference`` (byte-exact) or ``clean`` form."""
    if prompt_id not in SPEC_PROMPTS:
        raise KeyError(f"unknown spec prompt {prompt_id!r}")
    return SPEC_PROMPTS[prompt_id] if mode == "reference" else clean_prompt(prompt_id)
