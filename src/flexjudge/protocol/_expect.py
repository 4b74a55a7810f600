"""Score distributions from token log-probabilities at the answer positions.

Given a generation as tokens, each with its most likely alternatives, the distribution of a
score is read at the token where the number inside an answer tag starts: every alternative
that spells a value of the scale adds its probability to that value, and the result is
renormalized over the valid values.  A two-token value (``10`` when digits are tokenized one
by one) gets the first token's probability times the probability that the next token
continues it, when the generation took that path; otherwise the first digit's mass stays on
the one-digit value (the model's continuation there was never computed).  ``None``: no
answer tag was generated, or no alternative at its position is a valid value: never an
invented expectation.  Integer scales only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from flexjudge.protocol._types import Scale

#: one generated token: its text and its alternatives as ``(text, log-probability)``
Token = tuple[str, Sequence[tuple[str, float]]]
Distribution = dict[int, float]


def scale_values(scale: Scale | None) -> list[int] | None:
    if scale is None or scale.decimals:
        return None
    return list(range(math.ceil(scale.low), math.floor(scale.high) + 1))


def answer_distributions(
    tokens: Sequence[Token], *, count: int, scale: Scale | None, prefix: str = ""
) -> list[Distribution] | None:
    """One distribution per answer (the last ``count`` answer tags after the last
    ``</think>``), or ``None`` (see the module docstring).  ``prefix``: text the generation
    continued (budget forcing), which holds no alternatives."""
    values = scale_values(scale)
    if values is None or not tokens:
        return None
    names = {str(v): v for v in values}
    starts, pos = [], len(prefix)
    for text, _ in tokens:
        starts.append(pos)
        pos += len(text)
    joined = prefix + "".join(text for text, _ in tokens)
    think = joined.rfind("</think>")
    region = 0 if think < 0 else think + len("</think>")
    tags = []
    at = joined.find("<answer>", region)
    while at >= 0:
        tags.append(at + len("<answer>"))
        at = joined.find("<answer>", at + 1)
    if len(tags) < count:
        return None
    out = []
    for p in tags[-count:]:
        while p < len(joined) and joined[p].isspace():
            p += 1
        dist = _at(tokens, starts, p, names)
        if dist is None:
            return None
        out.append(dist)
    return out


def _at(
    tokens: Sequence[Token], starts: list[int], p: int, names: dict[str, int]
) -> Distribution | None:
    i = next(
        (k for k, s in enumerate(starts) if s <= p < s + len(tokens[k][0])),
        None,
    )
    if i is None:
        return None  # the number lies in the prefix: not generated here
    chosen, top = tokens[i]
    lead = chosen[: p - starts[i]]
    mass: Distribution = {}
    for text, logprob in top:
        if not text.startswith(lead):
            continue
        digits = text[len(lead) :].strip()
        if not digits.isdigit():
            continue
        prob = math.exp(logprob)
        longer = [n for n in names if n.startswith(digits) and n != digits]
        if longer and text == chosen and i + 1 < len(tokens):
            follow = {t.strip(): math.exp(lp) for t, lp in tokens[i + 1][1]}
            for name in longer:
                q = follow.get(name[len(digits) :], 0.0)
                mass[names[name]] = mass.get(names[name], 0.0) + prob * q
            if digits in names:
                rest = 1.0 - sum(v for t, v in follow.items() if t[:1].isdigit())
                mass[names[digits]] = mass.get(names[digits], 0.0) + prob * max(rest, 0.0)
        elif digits in names:
            mass[names[digits]] = mass.get(names[digits], 0.0) + prob
    total = sum(mass.values())
    if total <= 0 or not math.isfinite(total):
        return None
    return {v: m / total for v, m in sorted(mass.items())}


def expected_value(dist: Distribution) -> float:
    return sum(v * p for v, p in dist.items())


def p_first_better(first: Distribution, second: Distribution) -> float:
    """P(first > second) + ½ P(tie), the two scores taken as independent."""
    win = sum(p * q for a, p in first.items() for b, q in second.items() if a > b)
    tie = sum(p * second.get(a, 0.0) for a, p in first.items())
    return win + tie / 2
