"""RL reward hooks: TRL ``GRPOTrainer(reward_funcs=...)`` callables and a verl adapter.

TRL 1.16 calls every custom reward function as
``f(prompts=..., completions=..., completion_ids=..., **dataset_columns, trainer_state=...,
log_extra=..., log_metric=...)`` and expects one ``float`` or ``None`` per completion (``None``:
not applicable, TRL turns it into NaN).  Prompts/completions are strings, or message lists
for conversational data.  The trainer awaits callables whose ``__call__`` is ``async``
(:class:`AsyncJudgeReward`) on its own event loop, in parallel with other async rewards.
Completions of one prompt arrive consecutively (``num_generations`` repeats), which the
``group`` mode uses to judge them together with a rank protocol.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from flexjudge.apps._records import score_bounds
from flexjudge.judge.types import JudgeItem, JudgeResult

if TYPE_CHECKING:
    from flexjudge.judge import Judge

RewardMode = Literal["score", "group"]


@dataclass
class RewardConfig:
    """``mode``: ``score`` judges each completion alone (score protocol); ``group`` ranks the
    completions of one prompt together (rank protocol) and maps ranks to [0, 1] (best = 1,
    tied scores share their mean rank).  ``normalize`` maps scores onto [0, 1] by the
    protocol's scale.  ``failure_reward``: the reward of an unparseable judgment (``None``
    lets TRL skip it).  ``media_columns`` are the dataset columns holding media per row."""

    mode: RewardMode = "score"
    protocol: str | None = None
    normalize: bool = True
    failure_reward: float | None = None
    media_columns: tuple[str, ...] = ("images", "image", "videos", "audios")


def text_of(content: Any) -> str:
    """Text of a message ``content``: a string, or the text parts of a content list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            p.get("text", "")
            for p in content
            if isinstance(p, dict) and p.get("type", "text") == "text"
        )
    return str(content)


def question_of(prompt: Any) -> str:
    """The question of a prompt: the string itself, or the last user message's text."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        users = [m for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        if users:
            return text_of(users[-1].get("content"))
        return "\n".join(text_of(m.get("content")) for m in prompt if isinstance(m, dict))
    return text_of(prompt)


def completion_text(completion: Any) -> str:
    """The response text: a string, or the assistant messages of a conversational completion."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(
            text_of(m.get("content"))
            for m in completion
            if isinstance(m, dict) and m.get("role", "assistant") == "assistant"
        )
    return text_of(completion)


def _media_of(kwargs: dict[str, Any], row: int, columns: Sequence[str]) -> dict[str, list[Any]]:
    media: dict[str, list[Any]] = {"images": [], "videos": [], "audios": []}
    for col in columns:
        values = kwargs.get(col)
        if not isinstance(values, list | tuple) or row >= len(values):
            continue
        value = values[row]
        if value is None:
            continue
        key = {"image": "images"}.get(col, col)
        if key not in media:
            continue
        media[key].extend(value if isinstance(value, list | tuple) else [value])
    return media


def _prompt_key(prompt: Any) -> str:
    return repr(prompt)


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

    Never raises for a bad completion: an unjudgeable one gets ``failure_reward``.  The last
    batch's raw :class:`JudgeResult` objects are kept in ``last_results``.
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
        self.last_results: list[JudgeResult] = []

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        return self.compute(prompts, completions, **kwargs)

    def compute(
        self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        """One reward per completion, in order (the synchronous contract)."""
        if len(prompts) != len(completions):
            raise ValueError(f"{len(prompts)} prompts but {len(completions)} completions")
        if self.config.mode == "group":
            return self._group(prompts, completions, kwargs)
        return self._score(prompts, completions, kwargs)

    def _item(
        self, prompt: Any, responses: list[str], row: int, kwargs: dict[str, Any], task: str
    ) -> JudgeItem:
        media = _media_of(kwargs, row, self.config.media_columns)
        return JudgeItem(
            question_of(prompt),
            responses,
            id=str(row),
            task=task,  # type: ignore[arg-type]
            protocol=self.config.protocol,
            images=media["images"],
            videos=media["videos"],
            audios=media["audios"],
        )

    def _normalize(self, value: float, default: str) -> float:
        bounds = score_bounds(self.config.protocol, default) if self.config.normalize else None
        if bounds is None or bounds[1] == bounds[0]:
            return value
        return (value - bounds[0]) / (bounds[1] - bounds[0])

    def _score(
        self, prompts: Sequence[Any], completions: Sequence[Any], kwargs: dict[str, Any]
    ) -> list[float | None]:
        items = [
            self._item(p, [completion_text(c)], i, kwargs, "score")
            for i, (p, c) in enumerate(zip(prompts, completions, strict=True))
        ]
        results = self.judge.run(items, task="score")
        self.last_results = results
        return [
            self._normalize(r.score, "score-10")
            if r.ok and r.score is not None
            else self.config.failure_reward
            for r in results
        ]

    def _group(
        self, prompts: Sequence[Any], completions: Sequence[Any], kwargs: dict[str, Any]
    ) -> list[float | None]:
        groups: list[list[int]] = []
        for i, p in enumerate(prompts):
            if groups and _prompt_key(prompts[groups[-1][0]]) == _prompt_key(p):
                groups[-1].append(i)
            else:
                groups.append([i])
        rewards: list[float | None] = [self.config.failure_reward] * len(prompts)
        multi = [g for g in groups if len(g) > 1]
        single = [g[0] for g in groups if len(g) == 1]
        items = [
            self._item(
                prompts[g[0]], [completion_text(completions[i]) for i in g], g[0], kwargs, "rank"
            )
            for g in multi
        ]
        results = self.judge.run(items, task="rank") if items else []
        for g, res in zip(multi, results, strict=True):
            if not res.ok:
                continue
            if res.scores is not None and len(res.scores) == len(g):
                values = rank_rewards(res.scores)
            elif res.ranking is not None:
                values = rank_rewards([-float(res.ranking.index(k)) for k in range(len(g))])
            else:
                continue
            for i, v in zip(g, values, strict=True):
                rewards[i] = v
        if single:  # a prompt with one completion cannot be ranked: score it alone
            solo = self._score(
                [prompts[i] for i in single],
                [completions[i] for i in single],
                {
                    k: [v[i] for i in single]
                    if isinstance(v, list | tuple) and len(v) == len(prompts)
                    else v
                    for k, v in kwargs.items()
                },
            )
            for i, solo_reward in zip(single, solo, strict=True):
                rewards[i] = solo_reward
        self.last_results = results
        return rewards


class AsyncJudgeReward(JudgeReward):
    """:class:`JudgeReward` with an ``async __call__``: TRL runs it on its event loop, in
    parallel with other async reward functions; the judge runs in a worker thread."""

    async def __call__(  # type: ignore[override]
        self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        return await asyncio.to_thread(self.compute, prompts, completions, **kwargs)


def make_compute_score(
    judge: Judge, config: RewardConfig | None = None
) -> Callable[..., dict[str, Any]]:
    """A verl ``compute_score(data_source, solution_str, ground_truth, extra_info=None)``.

    The question is ``extra_info["question"]`` (or ``["prompt"]``, a string or messages);
    media come from ``extra_info["images"|"videos"|"audios"]``.  Returns
    ``{"score": float, "judge_status": str, ...}`` (verl logs the extra keys); an unparseable
    judgment scores ``failure_reward`` (0.0 when that is ``None``: verl needs a number).
    """
    reward = JudgeReward(judge, config or RewardConfig())

    def compute_score(
        data_source: Any,
        solution_str: str,
        ground_truth: Any,
        extra_info: dict[str, Any] | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        info = extra_info or {}
        prompt = info.get("question", info.get("prompt", ""))
        cols = {k: [info[k]] for k in ("images", "videos", "audios") if k in info}
        value = reward.compute([prompt], [solution_str], **cols)[0]
        res = reward.last_results[0] if reward.last_results else None
        return {
            "score": float(value) if value is not None else 0.0,
            "judge_status": res.status if res is not None else "error",
            "judge_raw_score": res.score if res is not None else None,
        }

    return compute_score
