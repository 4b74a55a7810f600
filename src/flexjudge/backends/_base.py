"""The one interface every inference backend implements.

A backend turns fully rendered prompt strings (ChatML with media placeholders typed into the
text) plus decoded media into completions.  It knows nothing of protocols or verdicts: the
judge renders and parses; backends only generate.
"""

from __future__ import annotations

import abc
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
from PIL import Image

from flexjudge.families import DEFAULT_FAMILY, ModelFamily

FinishReason = Literal["stop", "length", "error"]


@dataclass(frozen=True)
class SamplingParams:
    """Sampling settings, vLLM semantics.

    ``temperature == 0`` means greedy.  No top-k and no repetition penalty are ever applied
    (reference protocol §2): backends must override a checkpoint's generation_config.
    ``seed`` seeds this request; ``n`` completions are drawn from one shared prefill where the
    backend can.  Stop strings end generation and are kept in the text when
    ``include_stop_str_in_output``.  ``logprobs``: return, for every generated token, the
    ``logprobs`` most likely tokens with their log-probabilities under the model's own
    distribution (before temperature and top-p), for expected scores.  ``ignore_eos``
    (vLLM's) keeps generating through EOS to exactly ``max_tokens`` tokens (benchmarks use
    it to force output lengths).
    """

    temperature: float = 0.6
    top_p: float = 0.95
    max_tokens: int = 4096
    seed: int | None = None
    stop: tuple[str, ...] = ()
    n: int = 1
    include_stop_str_in_output: bool = True
    logprobs: int | None = None
    ignore_eos: bool = False

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {self.max_tokens}")
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if self.logprobs is not None and not 1 <= self.logprobs <= 20:
            raise ValueError(f"logprobs must be in [1, 20], got {self.logprobs}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["stop"] = list(self.stop)
        if self.logprobs is None:  # absent unless asked: store keys of other runs unchanged
            del d["logprobs"]
        if not self.ignore_eos:  # omitted at its default: item keys stay what they were
            del d["ignore_eos"]
        return d

    def replace(self, **changes: Any) -> SamplingParams:
        values = asdict(self)
        values.update(changes)
        values["stop"] = tuple(values["stop"])
        return SamplingParams(**values)


#: ``(start, end)`` character offsets of user text in a prompt or message
Span = tuple[int, int]


class ChatTurn(NamedTuple):
    """One turn of a prompt's chat structure; ``untrusted`` spans of ``content`` are user
    text (data: never chat structure, special tokens or media slots)."""

    role: str
    content: str
    untrusted: tuple[Span, ...] = ()


@dataclass
class GenerationRequest:
    """One prompt to complete.

    ``prompt`` is the whole rendered string, including ``<|im_start|>assistant\\n`` and any
    prefix the assistant turn should continue from (budget forcing appends to it).
    Media lists are matched, in order, to the placeholders typed in ``prompt``:
    images as RGB PIL images, videos as uint8 arrays ``(T, H, W, 3)``, audio as float32
    mono arrays at 16 kHz (or as prepared by the protocol, see ``flexjudge.media``).

    ``untrusted``: spans of ``prompt`` that are user text (candidates, questions, criteria)
    or earlier generated text.  Backends that tokenize tokenize them with special tokens
    off and count media placeholders only outside them; ``None`` means the whole string is
    tokenized as is (reference mode, or a caller that gives no structure).  ``turns``: the
    same prompt as chat turns, for backends that send messages (the OpenAI-compatible one);
    ``None``: a rendered string only.
    """

    prompt: str
    sampling: SamplingParams = field(default_factory=SamplingParams)
    images: list[Image.Image] = field(default_factory=list)
    videos: list[np.ndarray] = field(default_factory=list)
    audios: list[np.ndarray] = field(default_factory=list)
    video_fps: list[float] = field(default_factory=list)
    #: ``flexjudge.media.MoleculeGraph`` objects matched, in order, to the prompt's runs of
    #: ``<mol>`` tokens (only molecular-encoder backends take them)
    molecules: list[Any] = field(default_factory=list)
    untrusted: tuple[Span, ...] | None = None
    turns: tuple[ChatTurn, ...] | None = None

    def media_counts(self) -> tuple[int, int, int]:
        return len(self.images), len(self.videos), len(self.audios)


class TokenLogprobs(NamedTuple):
    """One generated token: its text and the most likely tokens there, as
    ``(text, log-probability)`` best first."""

    token: str
    top: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Completion:
    """One generated continuation.

    ``text`` has special tokens skipped and surrounding whitespace stripped (as the reference
    saves it).  ``finish_reason`` is ``"length"`` when ``max_tokens`` ran out.  ``logprobs``:
    one entry per generated token when the request asked for ``logprobs`` (their texts
    joined give the generation before stripping), else ``None``.
    """

    text: str
    finish_reason: FinishReason = "stop"
    num_tokens: int = 0
    token_ids: tuple[int, ...] | None = None
    logprobs: tuple[TokenLogprobs, ...] | None = None


class Backend(abc.ABC):
    """Abstract inference backend.

    Subclasses implement :meth:`generate`.  ``generate`` returns, for every request, exactly
    ``request.sampling.n`` completions, in request order.  It raises
    :class:`flexjudge.errors.BackendError` when the whole call fails; a failure of a single
    request may instead be reported as a completion with ``finish_reason="error"`` and the
    message in ``text``.
    """

    #: registry name, e.g. ``"transformers"``
    name: str = "abstract"
    #: whether a prompt may end inside the assistant turn and be continued (budget forcing)
    supports_continuation: bool = True
    #: the molecule view this backend consumes natively (``"graph"`` for molecular-encoder
    #: backends); ``None`` lets the judge pick by model family
    molecule_view: str | None = None

    def __init__(self, model_id: str, family: ModelFamily = DEFAULT_FAMILY) -> None:
        self.model_id = model_id
        self.family: ModelFamily = family

    @abc.abstractmethod
    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Completion]]:
        """Complete every request; see the class docstring for the contract."""

    def fingerprint(self) -> str:
        """A stable identity of the model behind this backend, used in result-store keys."""
        payload = json.dumps(
            {"backend": self.name, "model": self.model_id, "family": self.family},
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def count_prompt_tokens(self, request: GenerationRequest) -> int | None:
        """Tokens the model reads for ``request`` (media expanded), or ``None`` when this
        backend cannot tell (remote servers, the mock)."""
        return None

    def check_ready(self) -> None:  # noqa: B027 - optional hook
        """Raise :class:`~flexjudge.errors.BackendError` when no request can succeed (e.g. an
        unreachable server), so a run fails once, before its first batch."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (GPU memory, HTTP sessions)."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
