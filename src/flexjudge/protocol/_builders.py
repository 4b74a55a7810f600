"""Prompt builders the catalog composes: system prompts by id, user layouts, template filling."""

from __future__ import annotations

import re
from collections.abc import Sequence

from flexjudge.errors import InputError
from flexjudge.families import MOLECULE_PLACEHOLDER, MOLECULE_PLACEHOLDER_COUNT
from flexjudge.protocol._clean import spec_prompt
from flexjudge.protocol._marks import CLOSE, OPEN, strip_marked
from flexjudge.protocol._protocol import PromptInputs, SystemBuilder, UserBuilder
from flexjudge.protocol._types import Mode


def _system(pid: str) -> SystemBuilder:
    def build(mode: Mode, criteria: str | None) -> str:
        return spec_prompt(pid, mode)

    return build


def _system_rescaled(pid: str, old: str, new: str) -> SystemBuilder:
    """A spec system prompt with its scale sentence ``old`` replaced by ``new`` (both modes);
    :class:`ValueError` at catalog build when ``old`` is not there exactly once."""

    def build(mode: Mode, criteria: str | None) -> str:
        text = spec_prompt(pid, mode)
        if text.count(old) != 1:
            raise ValueError(f"{pid} ({mode}) has no single {old!r} to rescale")
        return text.replace(old, new)

    return build


def _fill(template: str, values: dict[str, str]) -> str:
    # single pass so substituted text containing "{answer_2}" etc. is never re-substituted
    out, i = [], 0
    while i < len(template):
        if template[i] == "{":
            j = template.index("}", i)
            out.append(values[template[i + 1 : j]])
            i = j + 1
        else:
            out.append(template[i])
            i += 1
    return "".join(out)


def _q(inputs: PromptInputs) -> str:
    return inputs.question or ""


def _user_qa(pid: str) -> UserBuilder:
    """Layouts with {question}/{answer}/{answer_1}/{answer_2} (or PandaLM/GenAI names)."""

    def build(inputs: PromptInputs, mode: Mode) -> str:
        r = list(inputs.responses)
        values = {
            "question": _q(inputs),
            "prompt": _q(inputs),
            "caption": _q(inputs),
            "answer": r[0] if r else "",
            "answer_1": r[0] if r else "",
            "answer_2": r[1] if len(r) > 1 else "",
            **dict(inputs.fields),
        }
        return _fill(spec_prompt(pid, mode), values)

    return build


def _user_constant(pid: str) -> UserBuilder:
    def build(inputs: PromptInputs, mode: Mode) -> str:
        return spec_prompt(pid, mode)

    return build


def _user_batch(inputs: PromptInputs, mode: Mode) -> str:
    text = _fill(spec_prompt("P-07", mode), {"question": _q(inputs)})
    for i, answer in enumerate(inputs.responses, start=1):
        text += "[Assistant " + str(i) + "'s Answer]\n" + answer + "\n\n"
    return strip_marked(text)  # the reference's text.strip(), through the user-text marks


def _user_pandalm(inputs: PromptInputs, mode: Mode) -> str:
    f = dict(inputs.fields)
    values = {
        "instruction": f.get("instruction", _q(inputs)),
        "input": f.get("input", ""),
        "response1": inputs.responses[0],
        "response2": inputs.responses[1],
    }
    return _fill(spec_prompt("P-28", mode), values)


#: the placeholder token a molecular-encoder LM overwrites with molecule embeddings
MOL_TOKEN = MOLECULE_PLACEHOLDER
#: Mol-LLaMA's query tokens per molecule (spec §11.1): the graph view's slot
MOL_QUERY_TOKENS = MOLECULE_PLACEHOLDER_COUNT
MOL_TOKENS = MOL_TOKEN * MOL_QUERY_TOKENS
#: a run of placeholder tokens is one molecule's slot, whatever its length
_MOL_RUN = re.compile(f"(?:{re.escape(MOL_TOKEN)})+")
#: the reference judges a PAMPA candidate's reasoning, cut before its explicit label (§11.5)
_FINAL_ANSWER = re.compile(r"[Ff]inal [Aa]nswer:")
_MARKER = re.compile(r"<<(QUESTION|ANSWER1|ANSWER2)>>")
# clean mode: a candidate's "<mol>" is text, never a placeholder slot (U+2060 word joiner)
_NEUTRAL_MOL = "<\u2060mol>"


def cut_final_answer(response: str) -> str:
    """The text before the first ``[Ff]inal [Aa]nswer:``, stripped (whole text if none)."""
    match = _FINAL_ANSWER.search(response)
    if match is None:
        return response
    head = response[: match.start()]
    if head.count(OPEN) > head.count(CLOSE):  # cut inside the user-text mark: close it
        head += CLOSE
    return strip_marked(head)


def _candidate(text: str, mode: Mode) -> str:
    return text if mode == "reference" else text.replace(MOL_TOKEN, _NEUTRAL_MOL)


def _user_mol_pampa(inputs: PromptInputs, mode: Mode) -> str:
    # without a molecule the layout keeps the reference's eight literal tokens (its prompt
    # text); with one, the slot holds what its view renders (card or placeholder tokens)
    slot = inputs.molecules[0] if inputs.molecules else MOL_TOKENS
    candidate = _candidate(cut_final_answer(inputs.responses[0]), mode)
    return spec_prompt("P-32", mode).replace(MOL_TOKEN, slot, 1) + candidate


def _mol_question(inputs: PromptInputs) -> str:
    return fill_molecule_slots(_q(inputs), inputs.molecules)


def fill_molecule_slots(question: str, molecules: Sequence[str]) -> str:
    """``question`` with each molecule's slot in place of its run of ``<mol>`` tokens.

    The reference's stored questions already hold eight ``<mol>`` per molecule and are judged
    as they are, so a question is never expanded without molecules (spec §11.8).  A question
    without any ``<mol>`` gets the slots in front; another count of runs than of molecules
    raises :class:`InputError` (field ``molecules``)."""
    slots = list(molecules)
    if not slots:
        return question
    runs = _MOL_RUN.findall(question)
    if not runs:
        return "".join(slot + "\n\n" for slot in slots) + question
    if len(runs) != len(slots):
        raise InputError(
            f"the question has {len(runs)} <mol> slot(s) for {len(slots)} molecule(s)",
            field="molecules",
        )
    filled = iter(slots)
    # a slot is the protocol's frame, not the user's text: it closes the question's user-text
    # mark and reopens it after (see protocol/_marks.py), so its tokens stay real tokens
    if question.startswith(OPEN):
        return _MOL_RUN.sub(lambda _: CLOSE + next(filled) + OPEN, question)
    return _MOL_RUN.sub(lambda _: next(filled), question)


def _user_mol_pair(inputs: PromptInputs, mode: Mode) -> str:
    values = {
        "QUESTION": _mol_question(inputs),
        "ANSWER1": _candidate(inputs.responses[0], mode),
        "ANSWER2": _candidate(inputs.responses[1], mode),
    }
    # one pass: a candidate containing "<<ANSWER2>>" is never filled with its rival's text
    return _MARKER.sub(lambda m: values[m.group(1)], spec_prompt("P-30", mode))
