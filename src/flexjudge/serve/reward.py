"""OpenRLHF ``/get_reward``: full texts → response texts → score judgments → rewards.

OpenRLHF posts ``{"query": [prompt + response, ...], "prompts": [...], "labels": [...]}``
(0.8: the whole batch in one body; 0.11: one body per finished sample) and reads ``rewards``,
``scores`` (dynamic filtering, default range (0, 1)) and ``extra_logs``.  ``prompts`` are
usually chat-templated.  With a vision-language policy OpenRLHF decodes the query from token
ids in which ``<|image_pad|>`` is already expanded, so the query no longer starts with the
prompt: the response is then what follows the query's last assistant turn header.  The
question is the last user turn (ChatML or Llama-3), with vision/audio placeholder runs
removed; OpenRLHF sends no media, so the judge sees text only unless the body carries
``images``/``videos``/``audios``.  ``labels`` are not used by the judge.
"""

from __future__ import annotations

import re
from typing import Any

from flexjudge.apps._records import reward_from_score
from flexjudge.judge.types import JudgeItem, JudgeResult
from flexjudge.serve.media import MediaBudget, MediaLimits, RequestRejected, load_media
from flexjudge.serve.models import RewardRequest, RewardResponse

_CHATML_USER = re.compile(r"<\|im_start\|>user\n(.*?)<\|im_end\|>", re.S)
_LLAMA_USER = re.compile(r"<\|start_header_id\|>user<\|end_header_id\|>\n\n(.*?)<\|eot_id\|>", re.S)
_ASSISTANT_HEADERS = (
    "<|im_start|>assistant\n",
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
)
_TRAILERS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "</s>")
# a media block (Qwen2.5-VL / Omni) with its expanded pad run, or a bare pad run
_MEDIA_RUN = re.compile(
    r"<\|(?:vision_start|vision_bos|audio_bos)\|>.*?<\|(?:vision_end|vision_eos|audio_eos)\|>"
    r"|(?:<\|(?:image_pad|video_pad|IMAGE|VIDEO|AUDIO)\|>)+",
    re.S,
)
_STATUSES = ("ok", "no_answer", "wrong_count", "out_of_range", "truncated", "malformed", "error")


def strip_media_placeholders(text: str) -> str:
    """``text`` without vision/audio placeholder blocks or pad runs."""
    return _MEDIA_RUN.sub("", text)


def _strip_trailers(text: str) -> str:
    changed = True
    while changed:
        changed = False
        for t in _TRAILERS:
            if text.rstrip().endswith(t):
                text = text.rstrip()[: -len(t)]
                changed = True
    return text


def split_query(query: str, prompt: str | None) -> tuple[str | None, str]:
    """``(question, response)`` of one OpenRLHF query.

    The response is the query minus the prompt when the query starts with it, else what
    follows the query's last assistant header (a VL policy's expanded pads), else the whole
    query.  The question is the last user turn of the prompt (of the query's part before
    the response when the prompt does not match), without
    media placeholders; ``None`` when there is neither a prompt nor a chat template.
    """
    response = query
    source = prompt
    if prompt and query.startswith(prompt):
        response = query[len(prompt) :]
    else:
        cut = max(query.rfind(h) + len(h) if h in query else -1 for h in _ASSISTANT_HEADERS)
        if cut >= 0:
            source = query[:cut]  # the query holds the whole (expanded) prompt
            response = query[cut:]
    response = _strip_trailers(response)
    if not source:
        return None, response.strip()
    turns = _CHATML_USER.findall(source) or _LLAMA_USER.findall(source)
    question = turns[-1] if turns else source
    return strip_media_placeholders(question).strip(), response.strip()


def reward_items(
    req: RewardRequest, limits: MediaLimits, protocol: str | None = None
) -> list[JudgeItem]:
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
    budget = MediaBudget(limits)  # one account for the whole request, all queries
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
            media[kind] = load_media(kind, entries, limits, prefix=f"query[{i}].", budget=budget)
        items.append(
            JudgeItem(
                question,
                [response],
                id=str(i),
                task="score",
                protocol=protocol,
                images=media["images"],
                videos=media["videos"],
                audios=media["audios"],
            )
        )
    return items


def reward_response(
    results: list[JudgeResult],
    normalize: bool,
    failure_reward: float,
    raw_scores: bool = False,
    *,
    expected: bool = False,
) -> RewardResponse:
    """``rewards`` (scores mapped to [0, 1] by the protocol scale when ``normalize``),
    ``scores`` (the same, or the raw scale with ``raw_scores``) and ``extra_logs``: per query
    ``judge_ok`` (1/0), ``judge_raw_score`` (NaN-free: the failure value when unjudged) and
    one 0/1 column ``judge_status_<status>`` per parse status.  Failures get
    ``failure_reward`` in both ``rewards`` and ``scores``.  ``expected``: the expected score
    instead of the judged one (a result without token probabilities is then a failure)."""
    rewards: list[float] = []
    scores: list[float] = []
    raw: list[float] = []
    logs: dict[str, list[float]] = {"judge_ok": []}
    logs.update({f"judge_status_{s}": [] for s in _STATUSES})
    for res in results:
        value = (res.expected_score if expected else res.score) if res.ok else None
        checked = reward_from_score(value, res.protocol, normalize=False)
        if checked is not None:  # finite and on the scale (reference verdicts are not checked)
            unit = reward_from_score(checked, res.protocol, normalize=True)
            unit = checked if unit is None else unit
            rewards.append(unit if normalize else checked)
            scores.append(checked if raw_scores else unit)
            raw.append(checked)
        else:
            rewards.append(failure_reward)
            scores.append(failure_reward)
            raw.append(failure_reward)
        logs["judge_ok"].append(0.0 if checked is None else 1.0)
        status = res.status if res.status in _STATUSES else "error"
        for s in _STATUSES:
            logs[f"judge_status_{s}"].append(1.0 if s == status else 0.0)
    logs["judge_raw_score"] = raw
    return RewardResponse(rewards=rewards, scores=scores, extra_logs=logs)
