"""OpenRLHF ``/get_reward``: full texts → response texts → score judgments → rewards.

OpenRLHF posts ``{"query": [prompt + response, ...], "prompts": [...], "labels": [...]}``
and reads ``rewards`` (plus optional ``scores`` and ``extra_logs``).  ``prompts`` are usually
chat-templated; the question is the last user turn when a ChatML/Llama-3 template is
recognised, else the prompt text.  ``labels`` are echoed nowhere and not used by the judge.
"""

from __future__ import annotations

import re
from typing import Any

from flexjudge.apps._records import score_bounds
from flexjudge.judge.types import JudgeItem, JudgeResult
from flexjudge.serve.media import MediaLimits, RequestRejected, load_media
from flexjudge.serve.models import RewardRequest, RewardResponse

_CHATML_USER = re.compile(r"<\|im_start\|>user\n(.*?)<\|im_end\|>", re.S)
_LLAMA_USER = re.compile(r"<\|start_header_id\|>user<\|end_header_id\|>\n\n(.*?)<\|eot_id\|>", re.S)
_TRAILERS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "</s>")


def split_query(query: str, prompt: str | None) -> tuple[str | None, str]:
    """``(question, response)`` of one OpenRLHF query."""
    response = query
    if prompt and query.startswith(prompt):
        response = query[len(prompt) :]
    changed = True
    while changed:
        changed = False
        for t in _TRAILERS:
            if response.rstrip().endswith(t):
                response = response.rstrip()[: -len(t)]
                changed = True
    if not prompt:
        return None, response.strip()
    turns = _CHATML_USER.findall(prompt) or _LLAMA_USER.findall(prompt)
    return (turns[-1] if turns else prompt).strip(), response.strip()


def reward_items(req: RewardRequest, limits: MediaLimits) -> list[JudgeItem]:
    """Score items for a reward request.  Raises :class:`RequestRejected` for mismatched
    lengths or bad media (naming ``images[i][j]`` etc.)."""
    n = len(req.query)
    for name, values in (
        ("prompts", req.prompts),
        ("labels", req.labels),
        ("images", req.images),
        ("videos", req.videos),
        ("audios", req.audios),
    ):
        if values is not None and len(values) != n:
            raise RequestRejected(422, f"{name}: {len(values)} entries for {n} queries")
    items = []
    for i, query in enumerate(req.query):
        question, response = split_query(query, req.prompts[i] if req.prompts else None)
        media: dict[str, list[Any]] = {}
        total = 0
        for kind in ("images", "videos", "audios"):
            groups = getattr(req, kind)
            entries = groups[i] if groups is not None else []
            total += len(entries)
            if total > limits.max_media:
                raise RequestRejected(413, f"query {i}: more than {limits.max_media} media")
            media[kind] = load_media(kind, entries, limits, prefix=f"query[{i}].")
        items.append(
            JudgeItem(
                question,
                [response],
                id=str(i),
                task="score",
                images=media["images"],
                videos=media["videos"],
                audios=media["audios"],
            )
        )
    return items


def reward_response(
    results: list[JudgeResult], normalize: bool, failure_reward: float
) -> RewardResponse:
    """Rewards (scores mapped to [0, 1] by the protocol scale when ``normalize``), raw scores,
    and ``extra_logs`` with ``judge_ok`` (1/0) per query.  Failures get ``failure_reward``."""
    rewards, scores, ok = [], [], []
    for res in results:
        if res.ok and res.score is not None:
            raw = float(res.score)
            bounds = score_bounds(res.protocol) if normalize else None
            value = (
                raw
                if bounds is None or bounds[0] == bounds[1]
                else ((raw - bounds[0]) / (bounds[1] - bounds[0]))
            )
            rewards.append(value)
            scores.append(raw)
            ok.append(1.0)
        else:
            rewards.append(failure_reward)
            scores.append(failure_reward)
            ok.append(0.0)
    return RewardResponse(rewards=rewards, scores=scores, extra_logs={"judge_ok": ok})
