"""``SelectConfig`` (every threshold of the selection policy) and token counting."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from flexjudge._util.optional import require
from flexjudge.curate._agreement import AGREEMENT_MODES, AgreementMode
from flexjudge.curate._policy import RESCALE_METHODS, RescaleMethod
from flexjudge.curate._records import InputFormat
from flexjudge.errors import InputError
from flexjudge.protocol import ANSWER_ORDERS, MODES, AnswerOrder, Mode

Selection = Literal["longest", "shortest", "random"]
SELECTIONS: tuple[Selection, ...] = ("longest", "shortest", "random")


@dataclass(frozen=True)
class SelectConfig:
    """Settings of ``flexjudge curate select``; defaults give the paper's 500 + 500 mix.

    * ``agreement``: ``exact`` (reference: both scores equal the reference),
      ``direction`` (same preference as the reference label) or ``none`` (no filter).
    * ``selection``: which kept trace wins, per prompt and in the final pools: ``longest``
      (the paper), ``shortest`` (the low-quality baseline of Fig. 2a) or ``random``
      (``seed``-ed, the random baseline); ties as for ``longest``.
    * ``n_single`` single-score samples from traces whose Assistant-1 reasoning has more than
      ``single_min_tokens`` tokens (longest first).
    * ``n_pair`` pairwise samples, longest trace first, among rows whose two answers together
      have more than ``pair_min_answer_tokens`` tokens.
    * ``rescale_fraction`` of each group (a ``seed``-ed random choice) moves to the 1–5 scale,
      by ``rescale``: ``ceil-half`` (``ceil(s/2)``, the paper's "divide by 2, halves up") or
      ``linear`` (``1 + (s-1)·4/9`` to one decimal); see :func:`rescale_10_to_5`.
    * ``tokenizer``: a local tokenizer folder to count tokens with; without it, reasoning
      parts are counted from the teacher's token count pro rata by characters and answers by
      whitespace-separated words (see ``docs/curation.md``).
    * ``rename_assistant``: in single-score traces, "Assistant 1" becomes "the assistant".
    * ``limit``: read only the first ``limit`` input rows (as ``generate --limit`` did).
    * ``processes``: scan with this many processes, each on a span of rows (``0``: one per
      CPU, up to 8, for inputs over 64 MiB).  The samples never depend on it.
    * ``order``: ``reasoning-first`` (the paper: ``<think>`` reasoning, then the answer) or
      ``answer-first``, the non-reasoning variant of Fig. 5: the same samples with the
      answer tags first and the reasoning after them, from prompts without the ``<think>``
      prefix (judge and bench read it with ``answer_order="answer-first"``).
    * ``mode``: ``clean`` (the policy above) or ``reference`` (exactly what
      ``utils/lrm_process.py`` keeps: every prompt's longest exactly-agreeing trace, in
      first-seen prompt order; the policy settings do not apply, see
      :mod:`flexjudge.curate._reference`).
    """

    agreement: AgreementMode = "exact"
    selection: Selection = "longest"
    n_single: int = 500
    single_min_tokens: int = 375
    n_pair: int = 500
    pair_min_answer_tokens: int = 750
    rescale_fraction: float = 0.5
    seed: int = 0
    tokenizer: str | None = None
    rename_assistant: bool = True
    input_format: InputFormat = "auto"
    check_alignment: bool = True
    histogram: bool = True
    limit: int | None = None
    processes: int = 0
    mode: Mode = "clean"
    rescale: RescaleMethod = "ceil-half"
    order: AnswerOrder = "reasoning-first"

    def __post_init__(self) -> None:
        if self.order not in ANSWER_ORDERS:
            raise InputError(
                f"order must be one of {ANSWER_ORDERS}, got {self.order!r}", field="order"
            )
        if self.mode == "reference" and self.order != "reasoning-first":
            raise InputError(
                "reference mode writes lrm_process.py's rows; --order answer-first needs "
                "--mode clean",
                field="order",
            )
        if self.rescale not in RESCALE_METHODS:
            raise InputError(
                f"rescale must be one of {RESCALE_METHODS}, got {self.rescale!r}", field="rescale"
            )
        if self.mode not in MODES:
            raise InputError(f"mode must be one of {MODES}, got {self.mode!r}", field="mode")
        if self.mode == "reference" and self.agreement != "exact":
            raise InputError(
                "reference mode keeps exactly agreeing scores (lrm_process.py); "
                f"--agreement {self.agreement} needs --mode clean",
                field="agreement",
            )
        if self.agreement not in AGREEMENT_MODES:
            raise InputError(
                f"agreement must be one of {AGREEMENT_MODES}, got {self.agreement!r}",
                field="agreement",
            )
        if self.selection not in SELECTIONS:
            raise InputError(
                f"selection must be one of {SELECTIONS}, got {self.selection!r}",
                field="selection",
            )
        for name in ("n_single", "n_pair", "single_min_tokens", "pair_min_answer_tokens"):
            if getattr(self, name) < 0:
                raise InputError(f"{name} must be >= 0", field=name)
        if self.processes < 0:
            raise InputError("processes must be >= 0 (0: automatic)", field="processes")
        if self.limit is not None and self.limit < 0:
            raise InputError("limit must be >= 0", field="limit")
        if not 0 <= self.rescale_fraction <= 1:
            raise InputError("rescale_fraction must be in [0, 1]", field="rescale_fraction")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class TokenCounter:
    """Counts tokens for thresholds: a local tokenizer when configured, else estimates.

    ``part(text, whole, whole_tokens)`` counts a slice of a teacher trace: exactly with the
    tokenizer, else ``round(whole_tokens * len(text) / len(whole))`` (the teacher's own count
    shared out by characters).  ``text(s)`` counts an input answer: tokenizer, else words.
    Raises :class:`~flexjudge.errors.MissingDependencyError` when a tokenizer is configured
    and transformers is missing, :class:`InputError` when it cannot be loaded.
    """

    def __init__(self, tokenizer: str | None = None) -> None:
        self._encode: Callable[[str], list[int]] | None = None
        #: counts come from a tokenizer (a part may then exceed the teacher's own count)
        self.exact = tokenizer is not None
        self.description = "teacher token ids pro rata by characters; answers: whitespace words"
        if tokenizer is not None:
            transformers = require("transformers", "train")
            try:
                tok = transformers.AutoTokenizer.from_pretrained(tokenizer)
            except Exception as exc:  # any loader error, reported with the path
                raise InputError(f"cannot load tokenizer: {exc}", field="tokenizer") from exc

            def encode(s: str) -> list[int]:
                return list(tok(s, add_special_tokens=False)["input_ids"])

            self._encode = encode
            self.description = f"tokenizer {tokenizer}"

    def text(self, s: str) -> int:
        return len(self._encode(s)) if self._encode is not None else count_words(s)

    def part(self, text: str, whole: str, whole_tokens: int) -> int:
        if self._encode is not None:
            return len(self._encode(text))
        if not whole:
            return 0
        return round(whole_tokens * len(text) / len(whole))


_OTHER_ASCII_SPACE = ("  ", "\n", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")


def count_words(s: str) -> int:
    """``len(s.split())``; text with single spaces as the only whitespace is counted
    without splitting (twice as fast on answers, which are counted by the thousand)."""
    if s.isascii() and s[:1] != " " and s[-1:] != " " and s:
        for other in _OTHER_ASCII_SPACE:  # a loop, not any(): no generator per call
            if other in s:
                return len(s.split())
        return s.count(" ") + 1
    return len(s.split())
