"""``/v1/judge`` requests to judge items (media loaded under the server's limits), and
results back to response bodies."""

from __future__ import annotations

from flexjudge.judge.types import JudgeItem, JudgeResult
from flexjudge.serve.media import (
    MediaBudget,
    MediaLimits,
    RequestRejected,
    load_media,
    load_molecules,
)
from flexjudge.serve.models import JudgeRequest, JudgeResponse


def judge_item(req: JudgeRequest, limits: MediaLimits) -> JudgeItem:
    n = len(req.images) + len(req.videos) + len(req.audios) + len(req.molecules)
    if n > limits.max_media:
        raise RequestRejected(
            413, f"{n} media in one request, over the limit of {limits.max_media}"
        )
    if req.protocol is not None:
        check_protocol(req.protocol)
    budget = MediaBudget(limits)
    return JudgeItem(
        req.question,
        list(req.responses),
        id=req.id,
        task=req.mode,
        protocol=req.protocol,
        fields=dict(req.fields),
        images=load_media("images", req.images, limits, budget=budget),
        videos=load_media("videos", req.videos, limits, budget=budget),
        audios=load_media("audios", req.audios, limits, budget=budget),
        molecules=load_molecules(req.molecules, limits),
    )


def check_protocol(name: str) -> None:
    from flexjudge.errors import FlexJudgeError
    from flexjudge.protocol import get_protocol

    try:
        get_protocol(name)
    except (FlexJudgeError, KeyError, ValueError) as exc:
        raise RequestRejected(422, f"protocol: {exc}") from None


def judge_response(result: JudgeResult, mode: str) -> JudgeResponse:
    return JudgeResponse(
        id=result.id,
        mode=mode,
        protocol=result.protocol,
        status=result.status,
        scores=result.scores,
        preference=result.preference,
        ranking=result.ranking,
        option=result.option,
        agreement=result.agreement,
        n_failed=result.n_failed,
        reasoning=result.reasoning,
        error=result.error,
        seconds=round(result.seconds, 4),
    )
