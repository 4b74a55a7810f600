"""The :class:`Protocol`: how one kind of judgment is asked, sampled and parsed."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from flexjudge._util.text import has_special_like
from flexjudge.errors import InputError, ProtocolError
from flexjudge.families import DEFAULT_FAMILY, MODEL_FAMILIES, PLACEHOLDERS
from flexjudge.media._spec import MediaPrep
from flexjudge.protocol._chatml import (
    THINK_PREFIX,
    ChatFormat,
    render_chat,
    translate_placeholders,
)
from flexjudge.protocol._marks import OPEN, Span, drop_marks, has_marks, shift, unmark, wrap
from flexjudge.protocol._order import AnswerOrder, parse_answer_first
from flexjudge.protocol._parse import backend_error_verdict
from flexjudge.protocol._types import Format, Mode, Scale, Verdict
from flexjudge.protocol._verdicts import parse_verdict

MediaKind = Literal["image", "video", "audio", "molecule"]


@dataclass(frozen=True)
class PromptInputs:
    """Everything a user layout may substitute."""

    question: str | None
    responses: Sequence[str]
    n_images: int = 0
    n_videos: int = 0
    n_audios: int = 0
    fields: Mapping[str, str] = field(default_factory=dict)
    family: str = DEFAULT_FAMILY
    #: one prompt slot per molecule shown in the ``text`` view (its descriptor card) or the
    #: ``graph`` view (its ``<mol>`` placeholder tokens); ``image``-view molecules are images
    molecules: Sequence[str] = ()


SystemBuilder = Callable[[Mode, str | None], str]
UserBuilder = Callable[[PromptInputs, Mode], str]


@dataclass(frozen=True)
class SamplingDefaults:
    """Per-protocol sampling (spec §3.5).  ``seed_from_trial``: the reference seeds every
    request of trial ``k`` with ``k``."""

    temperature: float = 0.6
    top_p: float = 0.95
    max_tokens: int = 4096
    stop: tuple[str, ...] = ()
    seed_from_trial: bool = True


#: the name protocols used for their media preprocessing before it became media's own type
MediaPrepSpec = MediaPrep


#: one chat turn of a rendered prompt: role, content, spans of user text in the content
Turn = tuple[str, str, tuple[Span, ...]]


@dataclass(frozen=True)
class RenderedPrompt:
    """A rendered prompt: system and user strings and the whole chat string.

    ``user_spans``: the character spans of ``text`` that hold user text (question,
    responses, fields, criteria); everything else is the protocol's frame.  ``None`` when
    they could not be told apart (a user value holding one of the private-use marks
    rendering uses).  ``turns``: the same prompt as chat turns (system, user, and the
    assistant prefix when there is one), each with its user spans.  ``injection_suspect``:
    user text holds a special-token-like string (``<|im_end|>``, a media placeholder, …).
    """

    protocol: str
    mode: Mode
    system: str
    user: str
    text: str
    media: tuple[MediaKind, ...]
    user_spans: tuple[Span, ...] | None = None
    injection_suspect: bool = False
    #: system, user (with their marks) and assistant prefix, for :attr:`turns`
    marked: tuple[str, str, str] | None = field(default=None, repr=False, compare=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()

    @functools.cached_property
    def turns(self) -> tuple[Turn, ...]:
        """The prompt as chat turns with their user spans (built on first use: only
        message-based backends need them)."""
        system, user, prefix = self.marked or (self.system, self.user, "")
        sys_parts, user_parts = unmark(system), unmark(user)
        turns: list[Turn] = [
            ("system", self.system, sys_parts[1] if sys_parts else ()),
            ("user", self.user, user_parts[1] if user_parts else ()),
        ]
        if prefix:
            turns.append(("assistant", prefix, ()))
        return tuple(turns)


@dataclass(frozen=True)
class Protocol:
    """A named judging protocol.

    ``media`` fixes the media slots of a benchmark layout (placeholders typed into the
    template, in that order); ``media=None`` means free media (placeholders put first:
    images, then videos, then audio).  ``n_responses=None`` accepts any count >= 2 (ranking).
    ``spec_ids`` names the spec prompts used (system, user).
    """

    name: str
    description: str
    format: Format
    system: SystemBuilder
    user: UserBuilder
    scale: Scale | None
    n_responses: int | None = 1
    media: tuple[MediaKind, ...] | None = None
    fixed_text: bool = False
    chat_format: ChatFormat = "chatml"
    think_prefix: str = ""
    sampling: SamplingDefaults = field(default_factory=SamplingDefaults)
    prep: MediaPrep = field(default_factory=MediaPrep)
    number: str = "int"
    first_only: bool = False
    cascade: bool = False
    #: reference parsing needs exactly ``n_responses`` answer tags (mol/pair, spec §11.8)
    exact_count: bool = False
    reference_fallback: Any = None
    spec_ids: tuple[str, ...] = ()
    supports_criteria: bool = False
    families: tuple[str, ...] = MODEL_FAMILIES
    required_fields: tuple[str, ...] = ()
    #: when the judged "responses" are media (MJ-Bench images, GenAI-Bench images/videos):
    #: ``(kind, offset)`` — the media of that kind from ``offset`` on are the responses, in
    #: response order, and swapping the order permutes them.
    response_media: tuple[MediaKind, int] | None = None
    #: molecules fill the layout's own ``<mol>`` slots (the ``mol/*`` protocols) instead of
    #: the free-media prefix; at most ``max_molecules`` of them (``None``: any number)
    molecule_slots: bool = False
    max_molecules: int | None = None
    #: the layout asks its own question: the judge refuses a caller's question it would ignore
    #: (rendering alone ignores it, as the reference does)
    fixed_question: bool = False

    def count_responses(self, inputs: PromptInputs) -> int:
        """How many responses an input judges (text responses, or response media)."""
        if self.response_media is not None:
            kind, offset = self.response_media
            have = {"image": inputs.n_images, "video": inputs.n_videos, "audio": inputs.n_audios}
            return max(have.get(kind, 0) - offset, 0)
        return len(inputs.responses)

    # ------------------------------------------------------------------ validation
    def check_inputs(self, inputs: PromptInputs, record: str | None = None) -> None:
        """Raise :class:`InputError` naming the field when inputs do not fit the protocol."""
        n = len(inputs.responses)
        if self.response_media is not None:
            if n:
                raise InputError(
                    f"{self.name} judges media responses; pass no text responses",
                    record=record,
                    field="responses",
                )
        elif self.fixed_text:
            if n not in (0, 1):
                raise InputError(
                    f"{self.name} judges a fixed text; got {n} responses",
                    record=record,
                    field="responses",
                )
        elif self.n_responses is None:
            if n < 2:
                raise InputError(
                    f"{self.name} ranks >= 2 responses, got {n}", record=record, field="responses"
                )
        elif n != self.n_responses:
            raise InputError(
                f"{self.name} takes {self.n_responses} response(s), got {n}",
                record=record,
                field="responses",
            )
        for i, r in enumerate(inputs.responses):
            if not isinstance(r, str):
                raise InputError(
                    f"response {i} is {type(r).__name__}, expected str",
                    record=record,
                    field="responses",
                )
        n_mol = len(inputs.molecules)
        if n_mol and self.media is not None and not self.molecule_slots:
            raise InputError(
                f"{self.name} has no molecule slot; show molecules with the image view or use "
                "a free-media protocol",
                record=record,
                field="molecules",
            )
        if self.max_molecules is not None and n_mol > self.max_molecules:
            raise InputError(
                f"{self.name} takes at most {self.max_molecules} molecule(s), got {n_mol}",
                record=record,
                field="molecules",
            )
        for name in self.required_fields:
            if name not in inputs.fields:
                raise InputError(f"{self.name} needs field {name!r}", record=record, field=name)
        have = {"image": inputs.n_images, "video": inputs.n_videos, "audio": inputs.n_audios}
        if self.media is not None:
            want = {k: self.media.count(k) for k in ("image", "video", "audio")}  # type: ignore[arg-type]
            for kind in ("image", "video", "audio"):
                if have[kind] != want[kind]:
                    raise InputError(
                        f"{self.name} takes {want[kind]} {kind}(s), got {have[kind]}",
                        record=record,
                        field=f"{kind}s",
                    )
        if inputs.family == "qwen2_5_vl" and have["audio"]:
            raise InputError(
                "Qwen2.5-VL models cannot take audio; use a Qwen2.5-Omni judge",
                record=record,
                field="audios",
            )

    # ------------------------------------------------------------------ rendering
    def render(
        self,
        inputs: PromptInputs,
        *,
        mode: Mode = "clean",
        criteria: str | None = None,
        think_prefix: bool | None = None,
        record: str | None = None,
    ) -> RenderedPrompt:
        """Render system, user and chat strings.  Raises :class:`InputError` on bad inputs."""
        if mode not in ("reference", "clean"):
            raise ProtocolError(f"mode must be 'reference' or 'clean', got {mode!r}")
        if criteria is not None and not self.supports_criteria:
            raise ProtocolError(f"protocol {self.name!r} has fixed criteria; use a general one")
        self.check_inputs(inputs, record)
        prefix = (
            self.think_prefix
            if think_prefix is None
            else ((self.think_prefix or THINK_PREFIX) if think_prefix else "")
        )
        values = "\x00".join(
            [*inputs.responses, *inputs.fields.values(), inputs.question or "", criteria or ""]
        )
        marked = not has_marks(values)
        if marked:  # user values wrapped in marks, so the frame/user split survives the layout
            criteria = None if criteria is None else wrap(criteria)
            inputs = PromptInputs(
                None if inputs.question is None else wrap(inputs.question),
                [wrap(r) for r in inputs.responses],
                inputs.n_images,
                inputs.n_videos,
                inputs.n_audios,
                {k: wrap(v) for k, v in inputs.fields.items()},
                inputs.family,
                inputs.molecules,  # the protocol's slots (frame), never wrapped
            )
        system = _system_text(self.system, mode, criteria)
        user = self.user(inputs, mode)
        if self.media is None:
            user = media_prefix(inputs) + user
        else:
            user = translate_placeholders(user, inputs.family)
        spans: tuple[Span, ...] | None = None
        keep: tuple[str, str, str] | None = (system, user, prefix)
        unmarked: tuple[str, tuple[Span, ...]] | None = None
        plain_user = unmark(user) if marked and criteria is None else None
        if plain_user is not None:  # the common case: only the user turn holds user text
            offset = _user_offset(system, self.chat_format, prefix)
            user_text, user_spans = plain_user
            text = render_chat(
                system, user_text, chat_format=self.chat_format, assistant_prefix=prefix
            )
            unmarked = text, shift(user_spans, offset)
        else:
            text = render_chat(system, user, chat_format=self.chat_format, assistant_prefix=prefix)
            unmarked = unmark(text) if marked else None
        if unmarked is not None:
            text, spans = unmarked
            # the values as given (a fixed-text layout shows none of them)
            suspect = bool(spans) and has_special_like(values)
        else:  # a value held a mark: the prompt as plain text, structure unknown
            text, keep, suspect = drop_marks(text), None, True
        if criteria is not None:
            system = drop_marks(system)
        user = drop_marks(user)
        media: tuple[MediaKind, ...]
        if self.media is not None:
            media = self.media
        else:
            kinds: list[MediaKind] = ["image"] * inputs.n_images
            kinds += ["video"] * inputs.n_videos
            kinds += ["audio"] * inputs.n_audios
            media = tuple(kinds)
        return RenderedPrompt(self.name, mode, system, user, text, media, spans, suspect, keep)

    def parse(
        self,
        text: str,
        *,
        mode: Mode = "clean",
        count: int | None = None,
        finish_reason: str | None = None,
        answer_order: AnswerOrder = "reasoning-first",
        salvage_truncated: bool = False,
    ) -> Verdict:
        """Parse one generation for this protocol (see :mod:`flexjudge.protocol._parse`);
        ``answer_order="answer-first"`` reads a judge trained to answer before reasoning
        (clean mode; see :mod:`flexjudge.protocol._order`)."""
        if count is None:
            count = 1 if self.n_responses is None else max(self.n_responses, 1)
        if finish_reason == "error":  # the backend's message: never parsed, whatever the order
            return backend_error_verdict(text)
        if answer_order == "answer-first" and mode == "clean":
            return parse_answer_first(
                text,
                self.format,
                count=count,
                scale=self.scale,
                number=self.number,
                finish_reason=finish_reason,
            )
        return parse_verdict(
            text,
            self.format,
            count=count,
            mode=mode,
            scale=self.scale if mode == "clean" else None,
            number=self.number,
            first_only=self.first_only and mode == "reference",
            cascade=self.cascade,
            exact_count=self.exact_count and mode == "reference",
            finish_reason=finish_reason,
            salvage_truncated=salvage_truncated,
        )


@functools.lru_cache(maxsize=256)
def _system_text(build: SystemBuilder, mode: Mode, criteria: str | None) -> str:
    """System prompts depend only on (mode, criteria): built once per batch, not per item."""
    return build(mode, criteria)


@functools.lru_cache(maxsize=256)
def _user_offset(system: str, chat_format: ChatFormat, prefix: str) -> int:
    """Where the user turn's text starts in a rendered prompt with this system prompt."""
    return render_chat(system, OPEN, chat_format=chat_format, assistant_prefix=prefix).index(OPEN)


def media_prefix(inputs: PromptInputs) -> str:
    """Placeholders for free-media protocols, followed by a blank line (MLLM-as-a-Judge style),
    then each molecule's slot (text card or ``<mol>`` tokens) and a blank line."""
    table = PLACEHOLDERS.get(inputs.family, PLACEHOLDERS["qwen2_5_vl"])
    parts: list[str] = []
    for kind, n in (
        ("image", inputs.n_images),
        ("video", inputs.n_videos),
        ("audio", inputs.n_audios),
    ):
        if not n:
            continue
        if kind not in table:
            raise InputError(f"model family {inputs.family!r} cannot take {kind}", field=f"{kind}s")
        parts.extend([table[kind]] * n)
    prefix = "".join(parts) + "\n\n" if parts else ""
    return prefix + "".join(slot + "\n\n" for slot in inputs.molecules)
