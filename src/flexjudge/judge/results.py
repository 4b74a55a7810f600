"""What the :class:`~flexjudge.judge.Judge` does without generating: the run-wide checks
before a run, error rows, results read back from a store, and the item of a single
``score``/``compare``/``rank`` call."""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from typing import Any

from flexjudge.backends import Backend
from flexjudge.errors import BackendError, ProtocolError
from flexjudge.judge.config import JudgeConfig
from flexjudge.judge.keys import ResultCache, lookup
from flexjudge.judge.plan import Plan
from flexjudge.judge.types import JudgeItem, JudgeResult, Task
from flexjudge.protocol import get_protocol


def check_run(backend: Backend, cfg: JudgeConfig) -> None:
    """Raise for what would fail every item of a run with ``cfg`` on ``backend``: an unknown
    protocol or one the model family cannot serve, budget forcing on a backend that cannot
    continue a prefix, a backend that cannot be reached (:meth:`Backend.check_ready`)."""
    if cfg.protocol is not None:
        protocol = get_protocol(cfg.protocol)
        if backend.family not in protocol.families:
            raise ProtocolError(
                f"protocol {protocol.name!r} needs a {'/'.join(protocol.families)} "
                f"model; this backend serves {backend.family}"
            )
    if cfg.budget_forcing > 0 and not backend.supports_continuation:
        raise BackendError(
            f"backend {backend.name!r} cannot continue a prefix, so budget forcing "
            "cannot run on it; use --budget-forcing 0 or a backend that can continue"
        )
    backend.check_ready()


def resume(store: ResultCache, plans: list[Plan], results: list[JudgeResult | None]) -> list[Plan]:
    """Fill ``results`` with the stored results of finished plans; return the others."""
    cached = lookup(store, [p.key for p in plans if p.key is not None])
    todo, taken = [], set()
    for plan in plans:
        hit = cached.get(plan.key) if plan.key is not None else None
        if hit is None:
            todo.append(plan)
            continue
        if plan.key in taken:  # equal content under another id shares the key
            hit = copy.copy(hit)
        taken.add(plan.key)
        hit.id = plan.item.id
        results[plan.index] = hit
    return todo


def call_item(
    question: str | None,
    responses: list[str],
    task: Task,
    item_id: str | None,
    media: tuple[Sequence[Any], Sequence[Any], Sequence[Any], Sequence[Any]],
    protocol: str | None,
    fields: dict[str, str] | None,
) -> JudgeItem:
    images, videos, audios, molecules = media
    return JudgeItem(
        question,
        responses,
        id=item_id,
        images=list(images),
        videos=list(videos),
        audios=list(audios),
        molecules=list(molecules),
        protocol=protocol,
        task=task,
        fields=dict(fields or {}),
    )


def error_result(
    raw: Any, index: int, cfg: JudgeConfig, exc: Exception, started: float
) -> JudgeResult:
    item_id = (
        raw.id
        if isinstance(raw, JudgeItem)
        else (str(raw.get("id", index)) if isinstance(raw, dict) else str(index))
    )
    task: Task = raw.resolved_task() if isinstance(raw, JudgeItem) else "score"
    protocol = (raw.protocol if isinstance(raw, JudgeItem) else None) or cfg.protocol or ""
    return JudgeResult(
        id=item_id,
        task=task,
        protocol=protocol,
        mode=cfg.mode,
        status="error",
        error=str(exc),
        error_field=getattr(exc, "field", None),
        seconds=time.perf_counter() - started,
    )
