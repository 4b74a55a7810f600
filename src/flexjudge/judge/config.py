"""Judging options: :class:`JudgeConfig`, the one place each option, its default and its help
text live.

:class:`JudgeOptions` is the same set of options as a ``TypedDict`` for ``**options`` keyword
arguments (``Judge(backend, votes=5)``); a test keeps the two in step.  The command line is
generated from these fields (:mod:`flexjudge.cli._options`), help texts and defaults
included, and docstrings read them through :func:`option_help`.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Literal, TypedDict

from flexjudge.judge.reduce import (
    PairAggregate,
    RankAggregate,
    ReducerKind,
    ScoreAggregate,
    SwapPolicy,
    get_reducer,
    list_reducers,
)
from flexjudge.protocol import ANSWER_ORDERS, AnswerOrder, Mode

Order = Literal["fixed", "random"]
#: the verdict of a budget-forced sample: its last round's, or every round voting
BudgetFinal = Literal["last", "vote"]
MoleculeViewOption = Literal["auto", "image", "text", "graph"]


def _help(text: str, *, cli: bool = True, reducer: str | None = None) -> dict[str, Any]:
    """Field metadata: the option's one help text; ``cli=False`` keeps it off the CLI;
    ``reducer`` names the reducer kind whose registered names are the option's choices."""
    meta: dict[str, Any] = {"help": text, "cli": cli}
    if reducer is not None:
        kind: ReducerKind = reducer  # type: ignore[assignment]
        meta["choices"] = lambda: tuple(list_reducers(kind))
    return meta


@dataclass
class JudgeConfig:
    """Judging options.  ``None`` sampling fields fall back to the protocol's defaults."""

    protocol: str | None = field(
        default=None,
        metadata=_help(
            "Protocol name (`flexjudge protocols list`); default: the task's default protocol."
        ),
    )
    mode: Mode = field(
        default="clean",
        metadata=_help(
            "clean (robust parsing, fixed quirks) or reference (the authors' prompts and "
            "parsing byte for byte, quirks included)."
        ),
    )
    temperature: float | None = field(
        default=None, metadata=_help("Sampling temperature; default: the protocol's (0 = greedy).")
    )
    top_p: float | None = field(
        default=None, metadata=_help("Nucleus sampling top-p; default: the protocol's.")
    )
    max_tokens: int | None = field(
        default=None, metadata=_help("Maximum new tokens per generation; default: the protocol's.")
    )
    seed: int | None = field(
        default=0,
        metadata=_help(
            "Seed of sampling, vote seeds (seed + vote index) and --order random draws."
        ),
    )
    criteria: str | None = field(
        default=None,
        metadata=_help(
            "Evaluation criteria text for protocols that take criteria (e.g. score-10)."
        ),
    )
    votes: int = field(
        default=1, metadata=_help("Samples per presentation order; the verdicts are aggregated.")
    )
    swap: bool = field(
        default=False,
        metadata=_help("Also judge every multi-response item with the responses in reverse order."),
    )
    order: Order = field(
        default="fixed",
        metadata=_help(
            "Response order: fixed (as given) or random (seeded per input position, "
            "VL-RewardBench style)."
        ),
    )
    budget_forcing: int = field(
        default=0,
        metadata=_help(
            "Budget-forcing rounds: append the wait token and continue this many times."
        ),
    )
    budget_tokens: int | None = field(
        default=None,
        metadata=_help(
            "Stop budget forcing once a sample has generated this many tokens in total."
        ),
    )
    budget_final: BudgetFinal = field(
        default="last",
        metadata=_help(
            "Verdict of a budget-forced sample: last (its final round's) or vote "
            "(every round votes)."
        ),
    )
    wait_token: str = field(
        default="Wait", metadata=_help("Text appended before each budget-forcing round.")
    )
    score_aggregate: ScoreAggregate = field(
        default="mean",
        metadata=_help("How the votes' scores combine: mean or median.", reducer="score"),
    )
    pair_aggregate: PairAggregate = field(
        default="majority",
        metadata=_help(
            "How pairwise votes combine: majority (preference votes), signed (mean of signed "
            "margins) or mean (mean score per response).",
            reducer="pair",
        ),
    )
    rank_aggregate: RankAggregate = field(
        default="borda",
        metadata=_help(
            "How ranking votes combine: borda (Borda count) or mean (order by mean score).",
            reducer="rank",
        ),
    )
    swap_policy: SwapPolicy = field(
        default="tie",
        metadata=_help(
            "With --swap: tie (each order decides; orders that disagree make a tie) or mean "
            "(pool both orders' samples and compare mean scores)."
        ),
    )
    batch_size: int = field(
        default=16,
        metadata=_help("Items per backend call; each batch's results are committed to the store."),
    )
    molecule_view: MoleculeViewOption = field(
        default="auto",
        metadata=_help(
            "How molecules are shown: image (depiction), text (SMILES + descriptor card), "
            "graph (tensors for a molecular-encoder backend), or auto (the backend's own "
            "view, else image for vision-language judges and text for the others)."
        ),
    )
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
    extra: dict[str, Any] = field(
        default_factory=dict,
        metadata=_help(
            "Free-form metadata kept with the config (not used for judging).", cli=False
        ),
    )

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
        get_reducer("score", self.score_aggregate)  # a ValueError naming the registered ones
        get_reducer("pair", self.pair_aggregate)
        get_reducer("rank", self.rank_aggregate)


class JudgeCallOptions(TypedDict, total=False):
    """The options a single ``score``/``compare``/``rank`` call takes: every
    :class:`JudgeOptions` key but ``protocol``, which there is the item's own parameter."""

    mode: Mode
    temperature: float | None
    top_p: float | None
    max_tokens: int | None
    seed: int | None
    criteria: str | None
    votes: int
    swap: bool
    order: Order
    budget_forcing: int
    budget_tokens: int | None
    budget_final: BudgetFinal
    wait_token: str
    score_aggregate: ScoreAggregate
    pair_aggregate: PairAggregate
    rank_aggregate: RankAggregate
    swap_policy: SwapPolicy
    batch_size: int
    molecule_view: MoleculeViewOption
    answer_order: AnswerOrder
    salvage_truncated: bool
    score_logprobs: int
    extra: dict[str, Any]


class JudgeOptions(JudgeCallOptions, total=False):
    """:class:`JudgeConfig`'s fields as keyword options (``**options: Unpack[JudgeOptions]``);
    see :func:`option_help` or ``JudgeConfig``'s docstring for what each one does."""

    protocol: str | None


def option_help(name: str) -> str:
    """The help text of the :class:`JudgeConfig` option ``name``."""
    for f in fields(JudgeConfig):
        if f.name == name:
            return str(f.metadata["help"])
    raise KeyError(name)


def options_doc(cls: type = JudgeConfig) -> str:
    """An ``Options:`` docstring section listing ``cls``'s fields with their help texts."""
    lines = ["Options:"]
    for f in fields(cls):
        default = "" if f.default is MISSING else f" (default {f.default!r})"
        lines.append(f"    {f.name}: {f.metadata.get('help', '')}{default}")
    return "\n".join(lines)


JudgeConfig.__doc__ = f"{JudgeConfig.__doc__}\n\n{options_doc()}\n"
