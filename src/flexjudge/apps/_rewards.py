"""RL reward hooks for TRL: ``GRPOTrainer(reward_funcs=...)`` callables.

TRL 1.16 calls every custom reward function as
``f(prompts=..., completions=..., completion_ids=..., **dataset_columns, trainer_state=...,
log_extra=..., log_metric=...)`` and expects one ``float`` or ``None`` per completion (``None``:
not applicable, TRL turns it into NaN).  Prompts/completions are strings, or message lists
for conversational data; images may sit in a dataset column or inside the prompt messages'
content parts (``{"type": "image", "image": PIL}``): both reach the judge.  The trainer
awaits callables whose ``__call__`` is ``async`` (:class:`AsyncJudgeReward`) on its own event
loop, in parallel with other async rewards.

``group`` mode ranks the completions of one prompt together.  TRL spreads a prompt's group
across processes, so with an initialized ``torch.distributed`` process group (accelerate,
torchrun) every rank gathers the global batch, groups are formed over it, each group is
judged once (groups are shared out between ranks) and the rewards are gathered back.

No state is shared between calls: the callables are safe to call from many threads at once
(the judge serializes backend access); ``last_results`` is per thread.  verl adapters live
in :mod:`flexjudge.apps._verl`.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from flexjudge.apps._distributed import all_gather, world
from flexjudge.apps._records import reward_from_score, score_bounds
from flexjudge.apps._reward_inputs import (
    column_media,
    completion_text,
    merge_media,
    prompt_media,
    question_of,
    text_of,
)
from flexjudge.judge.types import JudgeItem, JudgeResult

if TYPE_CHECKING:
    from flexjudge.judge import Judge

RewardMode = Literal["score", "group"]
# (group key, question, response, media) of one completion: what crosses processes
_Row = tuple[str, str, str, dict[str, list[Any]]]


@dataclass
class RewardConfig:
    """``mode``: ``score`` judges each completion alone (score protocol); ``group`` ranks the
    completions of one prompt together (rank protocol) and maps ranks to [0, 1] (best = 1,
    tied scores share their mean rank).  ``normalize`` maps scores onto [0, 1] by the
    protocol's scale.  ``failure_reward``: the reward of an unparseable judgment (``None``
    lets TRL skip it).  ``media_columns`` are the dataset columns holding media per row;
    ``prompt_media`` also takes media from the prompt messages' content parts.
    ``distributed``: gather groups across processes (``None``: whenever a
    ``torch.distributed`` process group with more than one rank is initialized)."""

    mode: RewardMode = "score"
    protocol: str | None = None
    normalize: bool = True
    failure_reward: float | None = None
    media_columns: tuple[str, ...] = ("images", "image", "videos", "audios")
    prompt_media: bool = True
    distributed: bool | None = None
    #: ``score`` mode's reward: the judged score, or ``expected``, its expectation under the
    #: judge's token probabilities (a smoother signal; asks the judge for log-probabilities)
    reward: Literal["score", "expected"] = "score"


def normalized(value: float, protocol: str | None, normalize: bool) -> float:
    """``value`` mapped onto [0, 1] by ``protocol``'s scale when ``normalize``."""
    bounds = score_bounds(protocol) if normalize else None
    if bounds is None or bounds[1] == bounds[0]:
        return value
    return (value - bounds[0]) / (bounds[1] - bounds[0])


def _media_key(value: Any) -> str:
    from flexjudge.media import as_image

    if isinstance(value, str):
        return value
    try:
        return as_image(value).content_hash()
    except Exception:  # not an image (video array, audio): identity is its bytes or repr
        return hashlib.sha256(getattr(value, "tobytes", lambda: repr(value).encode())()).hexdigest()


def _prompt_key(prompt: Any, media: dict[str, list[Any]]) -> str:
    """Identity of a prompt, equal across processes (no object addresses)."""
    if isinstance(prompt, list):
        text = repr(
            [(m.get("role"), text_of(m.get("content"))) for m in prompt if isinstance(m, dict)]
        )
    else:
        text = repr(prompt)
    hashes = [f"{k}:{_media_key(v)}" for k in sorted(media) for v in media[k]]
    return hashlib.sha256("\x1f".join([text, *hashes]).encode()).hexdigest()


def rank_rewards(scores: Sequence[float]) -> list[float]:
    """Scores of one group → rewards in [0, 1] by rank (best 1, worst 0, ties averaged)."""
    n = len(scores)
    if n == 1:
        return [1.0]
    order = sorted(range(n), key=lambda i: -scores[i])
    ranks = [0.0] * n
    pos = 0
    while pos < n:
        end = pos
        while end + 1 < n and scores[order[end + 1]] == scores[order[pos]]:
            end += 1
        for k in range(pos, end + 1):
            ranks[order[k]] = (pos + end) / 2
        pos = end + 1
    return [1.0 - r / (n - 1) for r in ranks]


class JudgeReward:
    """A TRL reward function backed by a :class:`~flexjudge.Judge`.

    >>> trainer = GRPOTrainer(model=..., reward_funcs=JudgeReward(judge), ...)  # doctest: +SKIP

    Never raises for a bad completion: an unjudgeable one gets ``failure_reward``.
    ``last_results`` holds the raw :class:`JudgeResult` objects of this thread's last call.
    """

    def __init__(
        self,
        judge: Judge,
        config: RewardConfig | None = None,
        *,
        name: str = "flexjudge",
        **options: Any,
    ) -> None:
        if config is not None and options:
            raise TypeError("pass either config or keyword options, not both")
        self.judge = judge
        self.config = config or RewardConfig(**options)
        self.__name__ = name
        self._local = threading.local()

    @property
    def last_results(self) -> list[JudgeResult]:
        results: list[JudgeResult] = getattr(self._local, "results", [])
        return results

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        return self.compute(prompts, completions, **kwargs)

    def compute(
        self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        """One reward per completion, in order (the synchronous contract)."""
        rewards, results = self.evaluate(prompts, completions, **kwargs)
        self._local.results = results
        return rewards

    def evaluate(
        self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> tuple[list[float | None], list[JudgeResult]]:
        """Rewards and the judge's results of this call (nothing is kept on ``self``)."""
        if len(prompts) != len(completions):
            raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
        rows = [
            self._row(p, c, i, kwargs)
            for i, (p, c) in enumerate(zip(prompts, completions, strict=True))
        ]
        if self.config.mode == "group":
            return self._group(rows)
        return self._score(rows)

    def _row(self, prompt: Any, completion: Any, row: int, kwargs: dict[str, Any]) -> _Row:
        media = column_media(kwargs, row, self.config.media_columns)
        if self.config.prompt_media:
            media = merge_media(prompt_media(prompt), media)
        key = _prompt_key(prompt, media) if self.config.mode == "group" else ""
        return key, question_of(prompt), completion_text(completion), media

    def _item(self, rows: list[_Row], ident: int, task: str) -> JudgeItem:
        _, question, _, media = rows[0]
        return JudgeItem(
            question,
            [r[2] for r in rows],
            id=str(ident),
            task=task,  # type: ignore[arg-type]
            protocol=self.config.protocol,
            images=media["images"],
            videos=media["videos"],
            audios=media["audios"],
        )

    def _reward(self, result: JudgeResult) -> float | None:
        """A finite, on-scale score's reward (the expected score with ``reward="expected"``),
        else ``failure_reward``."""
        score = result.expected_score if self.config.reward == "expected" else result.score
        value = reward_from_score(
            score if result.ok else None, result.protocol, normalize=self.config.normalize
        )
        return self.config.failure_reward if value is None else value

    def _logprobs(self) -> int:
        """The judge's ``score_logprobs``, at least 20 when rewards are expected scores."""
        return self.judge.config.score_logprobs or (20 if self.config.reward == "expected" else 0)

    def _score(self, rows: list[_Row]) -> tuple[list[float | None], list[JudgeResult]]:
        items = [self._item([r], i, "score") for i, r in enumerate(rows)]
        results = (
            self.judge.run(items, task="score", score_logprobs=self._logprobs()) if items else []
        )
        return [self._reward(r) for r in results], results

    def _distributed(self) -> bool:
        if self.config.distributed is False:
            return False
        return world()[1] > 1

    def _group(self, rows: list[_Row]) -> tuple[list[float | None], list[JudgeResult]]:
        rank, size = world() if self._distributed() else (0, 1)
        every = all_gather(rows) if size > 1 else [rows]
        offset = sum(len(r) for r in every[:rank])
        flat = [row for part in every for row in part]
        groups: list[list[int]] = []
        for i, row in enumerate(flat):
            if groups and flat[groups[-1][0]][0] == row[0]:
                groups[-1].append(i)
            else:
                groups.append([i])
        mine = [(g, idx) for g, idx in enumerate(groups) if g % size == rank]
        values, results = self._judge_groups(flat, [idx for _, idx in mine])
        decided: dict[int, float | None] = {}
        for (_, idx), vals in zip(mine, values, strict=True):
            decided.update(zip(idx, vals, strict=True))
        if size > 1:
            merged: dict[int, float | None] = {}
            for part in all_gather(decided):
                merged.update(part)
            decided = merged
        return [decided[offset + i] for i in range(len(rows))], results

    def _judge_groups(
        self, flat: list[_Row], groups: list[list[int]]
    ) -> tuple[list[list[float | None]], list[JudgeResult]]:
        """Rewards per group: ranked together, or scored alone for a single completion."""
        fail = self.config.failure_reward
        multi = [g for g in groups if len(g) > 1]
        single = [g for g in groups if len(g) == 1]
        items = [self._item([flat[i] for i in g], g[0], "rank") for g in multi]
        results = self.judge.run(items, task="rank") if items else []
        out: dict[int, list[float | None]] = {}
        for g, res in zip(multi, results, strict=True):
            values: list[float | None] = [fail] * len(g)
            if res.ok and res.scores is not None and len(res.scores) == len(g):
                values = list(rank_rewards(res.scores))
            elif res.ok and res.ranking is not None:
                values = list(rank_rewards([-float(res.ranking.index(k)) for k in range(len(g))]))
            out[g[0]] = values
        # a prompt with one completion cannot be ranked: score it alone
        solo, solo_results = self._score([flat[g[0]] for g in single])
        for g, value in zip(single, solo, strict=True):
            out[g[0]] = [value]
        return [out[g[0]] for g in groups], results + solo_results


class AsyncJudgeReward(JudgeReward):
    """:class:`JudgeReward` with an ``async __call__``: TRL runs it on its event loop, in
    parallel with other async reward functions; the judge runs in a worker thread."""

    async def __call__(  # type: ignore[override]
        self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        return await asyncio.to_thread(self.compute, prompts, completions, **kwargs)
