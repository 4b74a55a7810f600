"""General-purpose protocols in the reference house style, with overridable criteria."""

from __future__ import annotations

from flexjudge.protocol._marks import strip_marked
from flexjudge.protocol._protocol import PromptInputs, SystemBuilder, UserBuilder
from flexjudge.protocol._types import Mode, Scale

_HEAD = (
    "You are a helpful assistant. The assistant first performs a detailed, step-by-step "
    "reasoning process in its mind and then provides the user with the answer. The reasoning "
    "process and answer are enclosed within <think> </think> and <answer> </answer> tags, "
    "respectively, i.e., <think> detailed reasoning process here, explaining each step of your "
    "evaluation for {who} </think><answer> answer here </answer>. "
)
DEFAULT_CRITERIA = "Criteria include helpfulness, relevance, accuracy, and level of detail."


def general_system(kind: str, scale: Scale) -> SystemBuilder:
    def build(mode: Mode, criteria: str | None) -> str:
        crit = strip_marked(criteria or DEFAULT_CRITERIA)
        rng = scale.label().replace("-", " to ") if scale.decimals else scale.label()
        if kind == "score":
            example = "3.8" if scale.decimals else "3"
            decimal = " in first decimal" if scale.decimals else ""
            return (
                _HEAD.format(who="the assistant")
                + "Now the user asks you to judge the performance of an AI assistant in "
                f"response to the question. Score the assistant {rng}{decimal} (higher=better). "
                f"{crit} Avoid length, style or other bias. After thinking, when you finally "
                "reach a conclusion, clearly provide your evaluation score within <answer> "
                f"</answer> tags, i.e., for example, <answer>{example}</answer>"
            )
        if kind == "pair":
            return (
                _HEAD.format(who="both assistants")
                + "Now the user asks you to judge the performance of two AI assistants in "
                f"response to the question. Score assistants {rng} (higher=better). {crit} "
                "Avoid order, length, style or other bias. After thinking, when you finally "
                "reach a conclusion, clearly provide your evaluation scores within <answer> "
                "</answer> tags, i.e., for example, <answer>3</answer><answer>5</answer>"
            )
        if kind == "rank":
            return (
                _HEAD.format(who="all assistants")
                + "Now the user asks you to judge the performance of multiple AI assistants in "
                f"response to the question. Score assistants {rng} (higher=better). {crit} "
                "DO NOT assign the same score to multiple assistants. Avoid order, length, "
                "style or other bias. After thinking, when you finally reach a conclusion, "
                "clearly provide one evaluation score per assistant, in order, within <answer> "
                "</answer> tags, i.e., for example, <answer>3</answer><answer>8</answer>"
                "<answer>6</answer>"
            )
        return (  # option
            _HEAD.format(who="both assistants")
            + "Now the user asks you to judge the performance of two AI assistants. You have "
            "only FOUR options:\nOption 1. Model A is better: [[A>B]]\nOption 2. Model B is "
            "better: [[B>A]]\nOption 3. Tie, relatively the same acceptable quality: "
            "[[A=B=Good]]\nOption 4. Both are bad: [[A=B=Bad]]\n"
            f"{crit} Avoid order, length, style or other bias. After thinking, when you "
            "finally reach a conclusion, clearly provide your evaluation option within "
            "<answer> </answer> tags, i.e., for example, <answer>[[B>A]]</answer>."
        )

    return build


def general_user(kind: str) -> UserBuilder:
    def build(inputs: PromptInputs, mode: Mode) -> str:
        q = "[Question]\n" + (inputs.question or "")
        r = inputs.responses
        if kind == "score":
            return q + "\n\n[Assistant's Answer]\n" + r[0]
        if kind == "option":
            return q + "\n\n[Assistant A's Answer]\n" + r[0] + "\n\n[Assistant B's Answer]\n" + r[1]
        blocks = "".join(f"\n\n[Assistant {i}'s Answer]\n{a}" for i, a in enumerate(r, start=1))
        return q + blocks

    return build
