"""Prompts (reference + clean), chat rendering, formats and scales, output parsing.

This layer knows nothing of models or backends.
"""

from flexjudge.families import PLACEHOLDERS
from flexjudge.protocol import _catalog  # noqa: F401  (registers the built-in protocols)
from flexjudge.protocol._builders import (
    MOL_QUERY_TOKENS,
    MOL_TOKEN,
    MOL_TOKENS,
    cut_final_answer,
    fill_molecule_slots,
)
from flexjudge.protocol._chatml import (
    THINK_PREFIX,
    render_chat,
    render_chatml,
    render_llama3,
    translate_placeholders,
)
from flexjudge.protocol._clean import CLEAN_FIXES, clean_prompt, spec_prompt
from flexjudge.protocol._expect import answer_distributions, expected_value, p_first_better
from flexjudge.protocol._general import DEFAULT_CRITERIA
from flexjudge.protocol._order import (
    ANSWER_ORDERS,
    AnswerOrder,
    leading_answer_region,
    parse_answer_first,
)
from flexjudge.protocol._parse import (
    backend_error_verdict,
    extract_reasoning,
    parse_scores,
    preference_from_scores,
    ranking_from_scores,
)
from flexjudge.protocol._protocol import (
    MediaPrepSpec,
    PromptInputs,
    Protocol,
    RenderedPrompt,
    SamplingDefaults,
)
from flexjudge.protocol._registry import (
    DEFAULT_PROTOCOLS,
    get_protocol,
    list_protocols,
    protocol_for,
    register,
)
from flexjudge.protocol._spec_prompts import SPEC_PROMPTS, SPEC_SHA256, SPEC_TITLES
from flexjudge.protocol._types import (
    MODES,
    OPTIONS,
    Format,
    Mode,
    ParseStatus,
    Preference,
    Scale,
    Verdict,
)
from flexjudge.protocol._verdicts import parse_mos_cascade, parse_option, parse_verdict


def export_prompts(mode: Mode = "reference") -> dict[str, str]:
    """Every spec prompt by id (``P-01`` … ``P-32``) in the given mode."""
    return {pid: spec_prompt(pid, mode) for pid in SPEC_PROMPTS}


__all__ = [
    "ANSWER_ORDERS",
    "CLEAN_FIXES",
    "DEFAULT_CRITERIA",
    "DEFAULT_PROTOCOLS",
    "MODES",
    "MOL_QUERY_TOKENS",
    "MOL_TOKEN",
    "MOL_TOKENS",
    "OPTIONS",
    "PLACEHOLDERS",
    "SPEC_PROMPTS",
    "SPEC_SHA256",
    "SPEC_TITLES",
    "THINK_PREFIX",
    "AnswerOrder",
    "Format",
    "MediaPrepSpec",
    "Mode",
    "ParseStatus",
    "Preference",
    "PromptInputs",
    "Protocol",
    "RenderedPrompt",
    "SamplingDefaults",
    "Scale",
    "Verdict",
    "answer_distributions",
    "backend_error_verdict",
    "clean_prompt",
    "cut_final_answer",
    "expected_value",
    "export_prompts",
    "extract_reasoning",
    "fill_molecule_slots",
    "get_protocol",
    "leading_answer_region",
    "list_protocols",
    "p_first_better",
    "parse_answer_first",
    "parse_mos_cascade",
    "parse_option",
    "parse_scores",
    "parse_verdict",
    "preference_from_scores",
    "protocol_for",
    "ranking_from_scores",
    "register",
    "render_chat",
    "render_chatml",
    "render_llama3",
    "spec_prompt",
    "translate_placeholders",
]
