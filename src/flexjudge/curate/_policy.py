"""The final selection policy's building blocks: trace surgery, rescaling, prompt rewriting.

Everything here is a pure function of its arguments (no randomness, no I/O) so the policy in
:mod:`flexjudge.curate._select` is deterministic.  See ``docs/curation.md`` for the rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from flexjudge.curate._agreement import ANSWER_INT
from flexjudge.errors import InputError
from flexjudge.protocol import THINK_PREFIX, PromptInputs, get_protocol, render_chatml

THINK_END = "</think>"

# Mentions are found on the lower-cased reasoning, one keyword + regex per form (each regex
# starts with its keyword): several times faster than one alternation of all forms.
_Form = tuple[str, re.Pattern[str]]
#: a mention of the second answer (or of both answers) ends the Assistant-1 part
_SECOND_FORMS: tuple[_Form, ...] = (
    ("assistant", re.compile(r"assistant\s*(?:2|b|two)\b")),
    ("second", re.compile(r"second\s+(?:assistant|answer|response)")),
    ("other", re.compile(r"other\s+(?:assistant|answer|response)")),
    ("answer", re.compile(r"answer\s*2\b")),
    ("response", re.compile(r"response\s*2\b")),
    ("both", re.compile(r"both\s+(?:assistants|answers|responses)")),
    ("two", re.compile(r"two\s+(?:assistants|answers|responses)")),
    ("the assistants", re.compile(r"the assistants\b")),  # not "the": far too frequent
)
_FIRST_FORMS: tuple[_Form, ...] = (
    ("assistant", re.compile(r"assistant\s*(?:1|a|one)\b")),
    ("first", re.compile(r"first\s+(?:assistant|answer|response)")),
    ("answer", re.compile(r"answer\s*1\b")),
    ("response", re.compile(r"response\s*1\b")),
)


_GAVE_UP = -2


def _find_mention(
    low: str,
    forms: tuple[_Form, ...],
    start: int = 0,
    end: int = -1,
    keep_going: Callable[[int], bool] | None = None,
) -> int:
    """Position of the earliest mention (at a word start) in ``low[start:end]``, or -1.

    ``keep_going(pos)`` is asked each time a closer mention is found (``pos`` then bounds
    the answer from above); when it says no, the search stops and returns ``_GAVE_UP``."""
    stop = len(low) if end < 0 else end
    best = -1
    for keyword, pattern in forms:
        # only a mention before the best so far matters: look for the keyword there first,
        # then let re find the first full match from it (skipping non-matching keywords
        # in C); a match inside a word (rare) is skipped by searching one character later
        pos = low.find(keyword, start, stop if best < 0 else best)
        m = pattern.search(low, pos, stop) if pos >= 0 else None
        while m is not None and (best < 0 or m.start() < best):
            pos = m.start()
            if pos == 0 or not low[pos - 1].isalnum():
                best = pos
                if keep_going is not None and not keep_going(best):
                    return _GAVE_UP
                break
            m = pattern.search(low, pos + 1, stop)
    return best


#: a sentence starts after ., ! or ? plus whitespace, or after a newline
_SENTENCE_ENDS = (". ", "! ", "? ", ".\n", "!\n", "?\n", "\n")
#: renaming "Assistant 1" for a single-answer prompt, possessive first
#: (each pattern starts with a literal, which re finds fast; ``(?<!\wX)`` after literal X
#: is ``\b`` before it)
_RENAMES = (
    (re.compile(r"Assistant(?<!\wAssistant)\s*1's\b"), "the assistant's"),
    (re.compile(r"Assistant(?<!\wAssistant)\s*1\b"), "the assistant"),
    (re.compile(r"The first assistant's(?<!\wThe first assistant's)\b"), "the assistant's"),
    (re.compile(r"the first assistant's(?<!\wthe first assistant's)\b"), "the assistant's"),
    (re.compile(r"The first assistant(?<!\wThe first assistant)\b"), "the assistant"),
    (re.compile(r"the first assistant(?<!\wthe first assistant)\b"), "the assistant"),
)
_THE_ASSISTANT = "the assistant"
#: "8/10" and "8 out of 10" in reasoning, rescaled with the answer tags
_OUT_OF_TEN = re.compile(r"\b(10|[1-9])(\s*/\s*|\s+out\s+of\s+)10\b")

_PAIR_SCALE_10 = "Score assistants 1-10 (higher=better)."
_PAIR_SCALE_5 = "Score assistants 1-5 (higher=better)."


@dataclass(frozen=True)
class Trace:
    """A teacher text split at ``</think>``: ``reasoning`` excludes the tag."""

    reasoning: str
    after: str  # text after </think> (answer tags, with their surrounding whitespace)
    scores: tuple[int, ...]


def split_trace(text: str) -> Trace | None:
    """Split at the first ``</think>``; ``None`` when there is none or no answer follows."""
    reasoning, sep, after = text.partition(THINK_END)
    if not sep:
        return None
    scores = tuple(int(s) for s in ANSWER_INT.findall(after))
    return Trace(reasoning, after, scores)


RescaleMethod = Literal["ceil-half", "linear"]
RESCALE_METHODS: tuple[RescaleMethod, ...] = ("ceil-half", "linear")


def rescale_10_to_5(score: int, method: RescaleMethod = "ceil-half") -> float:
    """A 1–10 score on the 1–5 scale.

    * ``ceil-half`` (default): ``ceil(s / 2)``, the paper's "divide by 2, halves up" —
      1,2→1; 3,4→2; 5,6→3; 7,8→4; 9,10→5 (an ``int``).  Rounding the affine map
      ``1 + (s − 1)·4/9`` to the nearest integer gives the same table: no integer score
      lands on a half.
    * ``linear``: that affine map (1→1, 10→5) kept to one decimal, for conventions that keep
      the 1–10 resolution: 1.0, 1.4, 1.9, 2.3, 2.8, 3.2, 3.7, 4.1, 4.6, 5.0 (a ``float``).

    Raises :class:`InputError` outside 1–10 or for an unknown method.
    """
    if not 1 <= score <= 10:
        raise InputError(f"score {score} is outside 1-10", field="score")
    if method == "ceil-half":
        return -(-score // 2)
    if method == "linear":
        value = 1 + Fraction(score - 1) * 4 / 9
        return float(int(value * 10 + Fraction(1, 2))) / 10  # one decimal, halves up
    raise InputError(f"rescale must be one of {RESCALE_METHODS}, got {method!r}", field="rescale")


def rescale_reasoning(reasoning: str, method: RescaleMethod = "ceil-half") -> str:
    """Rewrite ``N/10`` and ``N out of 10`` mentions to the 1–5 scale (``M/5``)."""

    def repl(m: re.Match[str]) -> str:
        return f"{rescale_10_to_5(int(m.group(1)), method)}{m.group(2)}5"

    if "10" not in reasoning:  # every mention ends in 10; str.find is far faster than re
        return reasoning
    return _OUT_OF_TEN.sub(repl, reasoning)


def _sentence_start_before(text: str, pos: int) -> int:
    """Start of the sentence containing ``text[pos]`` (0 when it is the first)."""
    start = 0
    for sep in _SENTENCE_ENDS:
        # only an end after the latest one found so far can move the start
        found = text.rfind(sep, max(0, start - len(sep) + 1), pos)
        if found >= 0:
            start = max(start, found + len(sep))
    while start < pos and text[start].isspace():
        start += 1
    return start


def first_answer_reasoning(
    reasoning: str, keep_going: Callable[[int], bool] | None = None
) -> str | None:
    """The part of a pairwise reasoning that is about Assistant 1, or ``None``.

    Rule: find the first mention of Assistant 1; the part ends at the start of the first
    sentence (or line) after that mention that mentions the second answer or both answers.
    Sentences before the first Assistant-1 sentence are kept only when none of them
    mentions the second answer (a preamble like "Let me compare both answers" is dropped).
    ``None`` when Assistant 1 is never mentioned, or nothing about it precedes the first
    mention of Assistant 2.  ``keep_going(end)``, given an upper bound of the part's end,
    may stop the work early (``None`` is returned) when no part that short is wanted.
    """
    low = reasoning.lower()
    if len(low) != len(reasoning):  # lower() changed lengths (rare Unicode): no offsets
        return None
    first = _find_mention(low, _FIRST_FORMS)
    if first < 0:
        return None
    a1_start = _sentence_start_before(reasoning, first)
    # the part ends before any mention of the second answer: each one found bounds it
    second = _find_mention(low, _SECOND_FORMS, first + 1, keep_going=keep_going)
    if second < 0:
        return None
    end = _sentence_start_before(reasoning, second)
    if end <= a1_start:
        return None
    begin = a1_start if _find_mention(low, _SECOND_FORMS, 0, a1_start) >= 0 else 0
    part = reasoning[begin:end].strip()
    return part or None


def rename_first_assistant(text: str) -> str:
    """ "Assistant 1" → "the assistant" (capitalised at a sentence start)."""
    for pattern, repl in _RENAMES:
        text = pattern.sub(repl, text)
    # capitalise "the assistant" at a line start or after [.!?] and whitespace
    parts, done, pos = [], 0, text.find(_THE_ASSISTANT)
    while pos >= 0:
        gap_start = pos
        while gap_start > 0 and text[gap_start - 1].isspace():
            gap_start -= 1
        after_mark = gap_start < pos and gap_start > 0 and text[gap_start - 1] in ".!?"
        if pos == 0 or after_mark or "\n" in text[gap_start:pos]:
            parts += [text[done:pos], "The"]
            done = pos + 3
        pos = text.find(_THE_ASSISTANT, pos + 1)
    return "".join(parts) + text[done:]


def single_text(part: str, score: float, trace: Trace) -> str:
    """A single-score continuation: the Assistant-1 reasoning, ``</think>``, one answer tag.

    The whitespace around ``</think>`` and before the answer is copied from the original.
    """
    gap_before = trace.reasoning[len(trace.reasoning.rstrip()) :] or "\n"
    gap_after = trace.after[: len(trace.after) - len(trace.after.lstrip())]
    return f"{part}{gap_before}{THINK_END}{gap_after}<answer>{score}</answer>"


def pair_text(trace: Trace, scores: tuple[float, float]) -> str:
    """A pairwise continuation with the reasoning kept and the answer tags rewritten."""
    gap_after = trace.after[: len(trace.after) - len(trace.after.lstrip())]
    tags = "".join(f"<answer>{s}</answer>" for s in scores)
    return f"{trace.reasoning}{THINK_END}{gap_after}{tags}"


def answer_first(prompt: str, text: str) -> tuple[str, str]:
    """The non-reasoning variant of a ``(prompt, text)`` sample (the Fig. 5 ablation): the
    prompt loses its ``<think>\n`` prefix and the target gives the answer tags first, then
    the same reasoning in ``<think>…</think>``.  Raises :class:`InputError` when the sample
    is not in the reasoning-first layout."""
    reasoning, sep, after = text.partition(THINK_END)
    if not prompt.endswith(THINK_PREFIX) or not sep or not after.strip():
        raise InputError(
            "answer-first needs a prompt ending in <think> and a target with </think> "
            "then the answer",
            field="order",
        )
    head = prompt[: -len(THINK_PREFIX)]
    return head, f"{after.strip()}\n{THINK_PREFIX}{reasoning.strip()}\n{THINK_END}"


@dataclass(frozen=True)
class ChatPrompt:
    """A training prompt: the ChatML string (ending in ``<think>\\n``) and its two turns."""

    text: str
    system: str
    user: str


def single_prompt(question: str, answer: str, scale: int) -> ChatPrompt:
    """The general single-answer protocol (``score-10`` / ``score-5``) with ``<think>\\n``."""
    name = "score-10" if scale == 10 else "score-5"
    rendered = get_protocol(name).render(
        PromptInputs(question, [answer], family="text"), mode="clean", think_prefix=True
    )
    return ChatPrompt(rendered.text, rendered.system, rendered.user)


def pair_prompt(question: str, answer1: str, answer2: str, scale: int) -> ChatPrompt:
    """The teacher prompt (P-01 + P-02 + ``<think>\\n``); for the 1–5 scale the system
    prompt's "Score assistants 1-10" becomes "Score assistants 1-5" (nothing else changes:
    its example ``<answer>3</answer><answer>5</answer>`` is valid on both scales)."""
    rendered = get_protocol("curate/teacher").render(
        PromptInputs(question, [answer1, answer2], family="text"), mode="reference"
    )
    if scale == 10:
        return ChatPrompt(rendered.text, rendered.system, rendered.user)
    if rendered.system.count(_PAIR_SCALE_10) != 1:
        raise InputError("teacher system prompt lost its scale sentence", field="system")
    system = rendered.system.replace(_PAIR_SCALE_10, _PAIR_SCALE_5)
    text = render_chatml(system, rendered.user, assistant_prefix=THINK_PREFIX)
    return ChatPrompt(text, system, rendered.user)
