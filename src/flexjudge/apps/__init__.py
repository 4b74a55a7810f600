"""Put the judge to work: best-of-N selection, DPO preference pairs, RL rewards, a server.

* :func:`best_of_n` / :class:`BestOfNConfig` — pick the best of N candidates (score or
  pairwise tournament), accuracy vs N with labels (``flexjudge bon``).
* :func:`build_pairs` / :class:`PairsConfig` — flip-consistent DPO pairs in TRL's
  preference format (``flexjudge pairs``).
* :class:`JudgeReward` / :class:`AsyncJudgeReward` — TRL ``GRPOTrainer`` reward functions;
  :func:`make_compute_score` / :func:`make_batch_compute_score` /
  :func:`make_async_compute_score` — verl's ``compute_score`` (per item, batch, async).
* :func:`create_app` / :class:`ServerConfig` — the hardened FastAPI judge server
  (``flexjudge serve``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flexjudge.apps._bon import best_of_n, write_best_of_n
from flexjudge.apps._bon_types import BestOfNConfig, BestOfNRecord, BestOfNReport
from flexjudge.apps._pairs import PairDecision, PairsConfig, PairsReport, build_pairs, write_pairs
from flexjudge.apps._records import CandidateRecord, parse_candidates, read_jsonl
from flexjudge.apps._rewards import (
    AsyncJudgeReward,
    JudgeReward,
    RewardConfig,
    rank_rewards,
)
from flexjudge.apps._verl import (
    make_async_compute_score,
    make_batch_compute_score,
    make_compute_score,
    shared_judge,
)

if TYPE_CHECKING:
    from flexjudge.serve import ServerConfig, create_app


def __getattr__(name: str) -> Any:
    # the server pulls in FastAPI and pydantic (~0.2 s): loaded on first use, so every
    # other command of the CLI starts without it
    if name in ("ServerConfig", "create_app"):
        from flexjudge import serve

        return getattr(serve, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AsyncJudgeReward",
    "BestOfNConfig",
    "BestOfNRecord",
    "BestOfNReport",
    "CandidateRecord",
    "JudgeReward",
    "PairDecision",
    "PairsConfig",
    "PairsReport",
    "RewardConfig",
    "ServerConfig",
    "best_of_n",
    "build_pairs",
    "create_app",
    "make_async_compute_score",
    "make_batch_compute_score",
    "make_compute_score",
    "parse_candidates",
    "rank_rewards",
    "read_jsonl",
    "shared_judge",
    "write_best_of_n",
    "write_pairs",
]
