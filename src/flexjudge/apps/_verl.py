"""verl reward adapters: per-item, batch and async ``compute_score``.

verl loads the custom reward file in every reward worker (and again on each
``load_reward_manager``) and runs a sync ``compute_score`` concurrently in a thread pool.  So:

* the judge is built lazily, on first use, and once per process: pass a zero-argument
  factory (``lambda: shared_judge(model, ...)``; :func:`shared_judge` caches per process), or
  ``url=`` of a ``flexjudge serve`` instance so all workers share one judge;
* nothing per call is kept on shared objects (results travel with the call), and the judge
  serializes backend access, so concurrent calls are safe;
* :func:`make_batch_compute_score` matches ``BatchRewardManager``'s call
  ``compute_score(data_sources=, solution_strs=, ground_truths=, extra_infos=, **kw)``;
  :func:`make_async_compute_score` returns an ``async def`` for the reward loop.

The question is ``extra_info["question"]`` (or ``["prompt"]``, a string or chat messages); a
missing question is an error row (``judge_status="error"``, the failure score), never an
empty question.  Media come from ``extra_info["images"|"image"|"videos"|"audios"]``, from a
top-level ``images=`` / ``multi_modal_data={"image": [...]}`` keyword, and may be paths, bytes,
PIL images or HF ``{"bytes", "path"}`` dicts.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from flexjudge.apps._reward_inputs import MEDIA_KINDS, media_value, merge_media, question_of
from flexjudge.apps._rewards import RewardConfig, normalized
from flexjudge.errors import InputError
from flexjudge.judge.types import JudgeItem

if TYPE_CHECKING:
    from flexjudge.judge import Judge

_log = logging.getLogger("flexjudge.verl")
_SHARED: dict[str, Judge] = {}
_SHARED_LOCK = threading.Lock()


def shared_judge(model: str, **kwargs: Any) -> Judge:
    """``Judge.from_pretrained(model, **kwargs)``, built once per process for equal
    arguments (verl re-imports the reward file many times in one worker)."""
    from flexjudge.judge import Judge

    key = json.dumps([model, kwargs], sort_keys=True, default=repr)
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = Judge.from_pretrained(model, **kwargs)
        return _SHARED[key]


class _Scorer:
    """The shared core: build items, judge them (locally or over HTTP), shape verl dicts."""

    def __init__(
        self,
        judge: Any,
        config: RewardConfig | None,
        url: str | None,
        timeout: float,
        concurrency: int = 32,
    ) -> None:
        if (judge is None) == (url is None):
            raise TypeError("pass exactly one of a judge (or a factory) and url=")
        self._source = judge
        self._judge: Judge | None = None
        self._lock = threading.Lock()
        self.config = config or RewardConfig()
        self.url = None if url is None else url.rstrip("/")
        self.timeout = timeout
        self.concurrency = concurrency

    def judge(self) -> Judge:
        from flexjudge.judge import Judge

        if self._judge is None:
            with self._lock:
                if self._judge is None:
                    source = self._source
                    self._judge = source if isinstance(source, Judge) else source()
        return self._judge

    def failure(self) -> float:
        value = self.config.failure_reward
        return 0.0 if value is None else float(value)  # verl needs a number

    def item(self, index: int, solution: str, info: Any, extra: dict[str, Any]) -> JudgeItem:
        info = info if isinstance(info, dict) else {}
        prompt = info.get("question", info.get("prompt"))
        if prompt is None or (isinstance(prompt, str) and not prompt.strip()):
            raise InputError("extra_info has no 'question' (or 'prompt')", field="extra_info")
        media = merge_media(_info_media(info), _top_media(extra))
        return JudgeItem(
            question_of(prompt),
            [solution],
            id=str(index),
            task="score",
            protocol=self.config.protocol,
            images=media["images"],
            videos=media["videos"],
            audios=media["audios"],
        )

    def score_many(
        self, solutions: Sequence[str], infos: Sequence[Any], extras: Sequence[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any] | None] = [None] * len(solutions)
        items: list[JudgeItem] = []
        where: list[int] = []
        for i, (solution, info) in enumerate(zip(solutions, infos, strict=True)):
            try:
                items.append(self.item(i, solution, info, extras[i]))
                where.append(i)
            except InputError as exc:
                _log.warning("verl reward item %d: %s", i, exc)
                out[i] = self._row("error", None, str(exc))
        if items:
            judged = self._judge_remote(items) if self.url else self._judge_local(items)
            for i, row in zip(where, judged, strict=True):
                out[i] = row
        return [row for row in out if row is not None]

    def _row(
        self, status: str, raw: float | None, error: str | None, protocol: str | None = None
    ) -> dict[str, Any]:
        ok = status == "ok" and raw is not None
        score = (
            normalized(float(raw), protocol, self.config.normalize)
            if ok and raw is not None
            else None
        )
        return {
            "score": float(score) if score is not None else self.failure(),
            "judge_status": status,
            "judge_raw_score": raw,
            "judge_error": error,
        }

    def _judge_local(self, items: list[JudgeItem]) -> list[dict[str, Any]]:
        results = self.judge().run(items, task="score")
        return [
            self._row(r.status, r.score if r.ok else None, r.error, r.protocol) for r in results
        ]

    def _judge_remote(self, items: list[JudgeItem]) -> list[dict[str, Any]]:
        from flexjudge._util.optional import require

        httpx = require("httpx", "serve")
        from concurrent.futures import ThreadPoolExecutor

        workers = max(1, min(self.concurrency, len(items)))
        limits = httpx.Limits(max_connections=workers)
        with (
            httpx.Client(base_url=self.url or "", timeout=self.timeout, limits=limits) as client,
            ThreadPoolExecutor(workers, thread_name_prefix="flexjudge-verl") as pool,
        ):
            # concurrent requests let the server merge them into backend batches
            return list(pool.map(lambda item: self._post(client, item), items))

    def _post(self, client: Any, item: JudgeItem) -> dict[str, Any]:
        body = {
            "mode": "score",
            "question": item.question,
            "responses": item.responses,
            "protocol": item.protocol,
            **{k: [_wire_media(v) for v in getattr(item, k)] for k in MEDIA_KINDS},
        }
        last = "no attempt"
        for attempt in range(6):
            try:
                response = client.post("/v1/judge", json=body)
            except Exception as exc:  # transport errors: retried, then an error row
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    data = response.json()
                    scores = data.get("scores") or []
                    raw = float(scores[0]) if data.get("status") == "ok" and scores else None
                    return self._row(
                        str(data.get("status")), raw, data.get("error"), data.get("protocol")
                    )
                last = f"HTTP {response.status_code}: {response.text[:200]}"
                if response.status_code not in (408, 429, 502, 503, 504):
                    break
                wait = float(response.headers.get("retry-after", 1) or 1)
                time.sleep(min(30.0, wait * (attempt + 1)))
        return self._row("error", None, f"{self.url}: {last}")


def _info_media(info: dict[str, Any]) -> dict[str, list[Any]]:
    media: dict[str, list[Any]] = {k: [] for k in MEDIA_KINDS}
    for key in ("images", "image", "videos", "video", "audios", "audio"):
        value = info.get(key)
        if value is None:
            continue
        kind = key if key.endswith("s") else key + "s"
        entries = value if isinstance(value, list | tuple) else [value]
        media[kind].extend(media_value(v, f"extra_info.{key}") for v in entries)
    return media


def _top_media(extra: dict[str, Any]) -> dict[str, list[Any]]:
    """verl's image column as a keyword: ``images=[...]`` or ``multi_modal_data={...}``."""
    info: dict[str, Any] = {}
    mm = extra.get("multi_modal_data")
    if isinstance(mm, dict):
        info.update({k: v for k, v in mm.items() if k in ("image", "video", "audio")})
    for key in ("images", "videos", "audios"):
        if extra.get(key) is not None:
            info[key] = extra[key]
    return _info_media(info)


def _wire_media(value: Any) -> dict[str, str]:
    """A media entry as the server's ``MediaInput``: a path, or inline base64."""
    if isinstance(value, str):
        return {"base64": value} if value.startswith("data:") else {"path": value}
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    from PIL import Image

    if isinstance(value, Image.Image):
        buf = io.BytesIO()
        value.save(buf, format="PNG")
        return {"base64": base64.b64encode(buf.getvalue()).decode()}
    raise InputError(f"cannot send a {type(value).__name__} to the judge server", field="media")


def make_compute_score(
    judge: Any = None,
    config: RewardConfig | None = None,
    *,
    url: str | None = None,
    timeout: float = 600.0,
) -> Callable[..., dict[str, Any]]:
    """A verl ``compute_score(data_source, solution_str, ground_truth, extra_info=None)``.

    ``judge``: a :class:`~flexjudge.Judge` or a zero-argument factory (called once, on first
    use); or ``url`` of a ``flexjudge serve``.  Returns ``{"score": float, "judge_status",
    "judge_raw_score", "judge_error"}`` (verl logs the extra keys); an unjudgeable item
    scores ``failure_reward`` (0.0 when that is ``None``: verl needs a number).
    """
    scorer = _Scorer(judge, config, url, timeout)

    def compute_score(
        data_source: Any,
        solution_str: str,
        ground_truth: Any,
        extra_info: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        return scorer.score_many([solution_str], [extra_info], [extra])[0]

    return compute_score


def make_batch_compute_score(
    judge: Any = None,
    config: RewardConfig | None = None,
    *,
    url: str | None = None,
    timeout: float = 600.0,
) -> Callable[..., list[dict[str, Any]]]:
    """verl ``BatchRewardManager``'s ``compute_score(data_sources=, solution_strs=,
    ground_truths=, extra_infos=, **reward_kwargs)``: one judge call for the whole batch,
    one dict per item (as :func:`make_compute_score`)."""
    scorer = _Scorer(judge, config, url, timeout)

    def compute_score(
        data_sources: Sequence[Any],
        solution_strs: Sequence[str],
        ground_truths: Sequence[Any],
        extra_infos: Sequence[dict[str, Any] | None] | None = None,
        **extra: Any,
    ) -> list[dict[str, Any]]:
        n = len(solution_strs)
        infos = list(extra_infos) if extra_infos is not None else [None] * n
        if not len(data_sources) == len(ground_truths) == len(infos) == n:
            raise ValueError(
                f"batch lengths differ: {len(data_sources)} data_sources, {n} solution_strs, "
                f"{len(ground_truths)} ground_truths, {len(infos)} extra_infos"
            )
        extras = [_row_of(extra, i, n) for i in range(n)]
        return scorer.score_many(list(solution_strs), infos, extras)

    return compute_score


def make_async_compute_score(
    judge: Any = None,
    config: RewardConfig | None = None,
    *,
    url: str | None = None,
    timeout: float = 600.0,
) -> Callable[..., Awaitable[dict[str, Any]]]:
    """An ``async def compute_score(data_source, solution_str, ground_truth, extra_info,
    **kw)`` for verl's reward loop; the judging runs in a worker thread."""
    sync = make_compute_score(judge, config, url=url, timeout=timeout)

    async def compute_score(
        data_source: Any,
        solution_str: str,
        ground_truth: Any,
        extra_info: dict[str, Any] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        return await asyncio.to_thread(
            sync, data_source, solution_str, ground_truth, extra_info, **extra
        )

    return compute_score


def _row_of(extra: dict[str, Any], i: int, n: int) -> dict[str, Any]:
    """Row ``i`` of per-item keyword lists (``images=[...]`` per item); scalars pass."""
    return {k: v[i] if isinstance(v, list | tuple) and len(v) == n else v for k, v in extra.items()}
