"""Prompt builders the catalog composes: system prompts by id, user layouts, template filling."""

from __future__ import annotations

from flexjudge.protocol._clean import spec_prompt
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
    return text.strip()


def _user_pandalm(inputs: PromptInputs, mode: Mode) -> str:
    f = dict(inputs.fields)
    values = {
        "instruction": f.get("instruction", _q(inputs)),
        "input": f.get("input", ""),
        "response1": inputs.responses[0],
        "response2": inputs.responses[1],
    }
    return _fill(spec_prompt("P-28", mode), values)


MOL_TOKENS = "<mol>" * 8


def _user_mol_pampa(inputs: PromptInputs, mode: Mode) -> str:
    return spec_prompt("P-32", mode).replace("<mol>", MOL_TOKENS) + inputs.responses[0]


def _user_mol_pair(inputs: PromptInputs, mode: Mode) -> str:
    text = spec_prompt("P-30", mode)
    text = text.replace("<<QUESTION>>", _q(inputs).replace("<mol>", MOL_TOKENS))
    text = text.replace("<<ANSWER1>>", inputs.responses[0])
    return text.replace("<<ANSWER2>>", inputs.responses[1])
