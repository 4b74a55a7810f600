"""Judging options: :class:`JudgeConfig`, the one place each option and its help text live."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from flexjudge.judge.reduce import PairAggregate, RankAggregate, ScoreAggregate, SwapPolicy
from flexjudge.protocol import ANSWER_ORDERS, AnswerOrder, Mode

Order = Literal["fixed", "random"]
#: the verdict of a budget-forced sample: its last round's, or every round voting
BudgetFinal = Literal["last", "vote"]
MoleculeViewOption = Literal["auto", "image", "text", "graph"]


@dataclass
class JudgeConfig:
    """Judging options.  ``None`` sampling fields fall back to the protocol's defaults."""

    protocol: str | None = None
    mode: Mode = "clean"
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = 0
    criteria: str | None = None
    votes: int = 1
    swap: bool = False
    order: Order = "fixed"
    budget_forcing: int = 0
    budget_tokens: int | None = None
    budget_final: BudgetFinal = "last"
    wait_token: str = "Wait"
    score_aggregate: ScoreAggregate = "mean"
    pair_aggregate: PairAggregate = "majority"
    rank_aggregate: RankAggregate = "borda"
    swap_policy: SwapPolicy = "tie"
    batch_size: int = 64
    #: how molecules are shown: ``"image"`` (depiction), ``"text"`` (SMILES + descriptor card),
    #: ``"graph"`` (tensors for a molecular-encoder backend); ``"auto"``: the backend's own
    #: view, else ``image`` for vision-language judges and ``text`` for the others
    molecule_view: MoleculeViewOption = "auto"
    answer_order: AnswerOrder = field(
        default="reasoning-first",
        metadata={
            "help": "reasoning-first (the paper's judges: <think> then the answer) or "
            "answer-first (a judge trained on `curate select --order answer-first`: the "
            "prompt has no <think> prefix and the answer tags before the reasoning are read).",
            "cli": True,
        },
    )
    salvage_truncated: bool = field(
        default=False,
        metadata={
            "help": "keep the verdict of a generation cut by max_tokens when it holds a "
            "complete answer block (off: such a sample is truncated, since the judge may have "
            "been quoting a candidate's answer tags).",
            "cli": True,
        },
    )
    score_logprobs: int = field(
        default=0,
        metadata={
            "help": "ask the backend for this many top log-probabilities per token (1-20; 0: "
            "off) and give each result its expected score, score distribution and, for pairs, "
            "p_first_better.",
            "cli": True,
        },
    )
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.votes < 1:
            raise ValueError("votes must be >= 1")
        if self.budget_forcing < 0:
            raise ValueError("budget_forcing must be >= 0")
        if self.order not in ("fixed", "random"):
            raise ValueError("order must be 'fixed' or 'random'")
        if self.mode not in ("reference", "clean"):
            raise ValueError("mode must be 'reference' or 'clean'")
        if self.budget_final not in ("last", "vote"):
            raise ValueError("budget_final must be 'last' or 'vote'")
        if self.budget_tokens is not None and self.budget_tokens < 1:
            raise ValueError("budget_tokens must be >= 1")
        if self.batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        if self.molecule_view not in ("auto", "image", "text", "graph"):
            raise ValueError("molecule_view must be 'auto', 'image', 'text' or 'graph'")
        if self.answer_order not in ANSWER_ORDERS:
            raise ValueError(f"answer_order must be one of {ANSWER_ORDERS}")
        if self.answer_order == "answer-first" and self.budget_forcing:
            raise ValueError(
                "budget forcing extends the reasoning before the answer; "
                "answer_order='answer-first' has none to extend"
            )
        if not 0 <= self.score_logprobs <= 20:
            raise ValueError("score_logprobs must be in [0, 20]")
