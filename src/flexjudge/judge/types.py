"""Typed inputs and results of the :class:`~flexjudge.judge.Judge`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, overload

from flexjudge._util.json import loads as _json_loads
from flexjudge.errors import InputError
from flexjudge.protocol import ParseStatus, Verdict

Task = Literal["score", "compare", "rank"]
TASKS: tuple[Task, ...] = ("score", "compare", "rank")


#: the keys a ``judge run`` item (a JSONL object) may carry
ITEM_KEYS = frozenset(
    {
        "id",
        "question",
        "responses",
        "images",
        "videos",
        "audios",
        "molecules",
        "protocol",
        "task",
        "fields",
    }
)


@dataclass
class JudgeItem:
    """One judgment to make.

    ``responses``: one for ``score``, two for ``compare``, N for ``rank`` (fixed-text
    protocols such as ``nisqa`` take none).  Media entries may be paths, bytes, PIL images,
    arrays or ``flexjudge.media`` objects; molecules are SMILES, files or objects (see
    :func:`flexjudge.media.as_molecule`).  ``fields`` carries extra layout fields (e.g.
    GenAI-Bench editing's ``source_prompt``).
    """

    question: str | None
    responses: list[str]
    id: str | None = None
    images: list[Any] = field(default_factory=list)
    videos: list[Any] = field(default_factory=list)
    audios: list[Any] = field(default_factory=list)
    protocol: str | None = None
    task: Task | None = None
    fields: dict[str, str] = field(default_factory=dict)
    #: SMILES strings, molecule files, ``{"smiles"|"path"|"base64"}`` objects or
    #: :class:`flexjudge.media.Molecule`; shown through the judge's molecule view
    molecules: list[Any] = field(default_factory=list)

    def resolved_task(self) -> Task:
        if self.task is not None:
            return self.task
        n = len(self.responses)
        return "score" if n <= 1 else "compare" if n == 2 else "rank"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, record: str | None = None) -> JudgeItem:
        """Validate a ``judge run`` JSONL object.  Raises :class:`InputError` naming the field."""
        if not isinstance(d, Mapping):
            raise InputError(f"expected a JSON object, got {type(d).__name__}", record=record)
        rid = d.get("id", record)
        rid = None if rid is None else str(rid)
        unknown = [str(k) for k in d if k not in ITEM_KEYS]
        if unknown:
            raise InputError(
                f"unknown key {unknown[0]!r} (an item takes {', '.join(sorted(ITEM_KEYS))})",
                record=rid,
                field=unknown[0],
            )
        question = d.get("question")
        if question is not None and not isinstance(question, str):
            raise InputError("must be a string", record=rid, field="question")
        responses = d.get("responses", [])
        if isinstance(responses, str) or not isinstance(responses, list):
            raise InputError("must be a list of strings", record=rid, field="responses")
        for i, r in enumerate(responses):
            if not isinstance(r, str):
                raise InputError(
                    f"item {i} is {type(r).__name__}, expected a string",
                    record=rid,
                    field="responses",
                )
        media: dict[str, list[Any]] = {}
        for key in ("images", "videos", "audios"):
            value = d.get(key, [])
            if isinstance(value, str | dict):
                value = [value]
            if not isinstance(value, list):
                raise InputError("must be a list of paths", record=rid, field=key)
            media[key] = value
        molecules = d.get("molecules", [])
        if isinstance(molecules, str | dict):
            molecules = [molecules]
        if not isinstance(molecules, list):
            raise InputError(
                "must be a list of SMILES strings or molecule objects",
                record=rid,
                field="molecules",
            )
        task = d.get("task")
        if task is not None and task not in TASKS:
            raise InputError(f"must be one of {TASKS}", record=rid, field="task")
        fields = d.get("fields", {})
        if not isinstance(fields, dict):
            raise InputError("must be an object", record=rid, field="fields")
        protocol = d.get("protocol")
        if protocol is not None and not isinstance(protocol, str):
            raise InputError("must be a string", record=rid, field="protocol")
        return cls(
            question=question,
            responses=list(responses),
            id=rid,
            protocol=protocol,
            task=task,
            fields={str(k): str(v) for k, v in fields.items()},
            molecules=list(molecules),
            **media,
        )


@dataclass
class Sample:
    """One generation and its parse.  ``order[i]`` is the caller index of the response
    presented at position ``i``; ``rounds`` holds the verdict after each budget-forcing round."""

    text: str
    verdict: Verdict
    order: tuple[int, ...]
    finish_reason: str = "stop"
    num_tokens: int = 0
    seed: int | None = None
    rounds: list[Verdict] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = {
            "text": self.text,
            "verdict": self.verdict.to_dict(),
            "order": list(self.order),
            "finish_reason": self.finish_reason,
            "num_tokens": self.num_tokens,
            "seed": self.seed,
        }
        if self.rounds:
            d["rounds"] = [v.to_dict() for v in self.rounds]
        return d


class _StoredSamples:
    """The ``samples`` field of :class:`JudgeResult`, decoded on first access when the
    result was read back from a result store (:meth:`JudgeResult.from_stored`): a resumed
    10K-item run then decodes only the small result heads, not 60K stored samples."""

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> tuple[()]: ...

    @overload
    def __get__(self, obj: JudgeResult, owner: type | None = None) -> list[Sample]: ...

    def __get__(
        self, obj: JudgeResult | None, owner: type | None = None
    ) -> list[Sample] | tuple[()]:
        if obj is None:
            return ()  # the dataclass default: no samples
        state = obj.__dict__
        pending = state.pop("_pending_samples", None)
        if pending is not None:
            state["_samples"] = _samples_from(_json_loads(pending).get("samples", []))
        samples: list[Sample] = state["_samples"]
        return samples

    def __set__(self, obj: JudgeResult, value: Iterable[Sample]) -> None:
        obj.__dict__.pop("_pending_samples", None)
        obj.__dict__.pop("_stored_json", None)
        obj.__dict__["_samples"] = list(value)


def _samples_from(rows: Iterable[Mapping[str, Any]]) -> list[Sample]:
    return [
        Sample(
            text=s["text"],
            verdict=Verdict.from_dict(s["verdict"]),
            order=tuple(s["order"]),
            finish_reason=s.get("finish_reason", "stop"),
            num_tokens=s.get("num_tokens", 0),
            seed=s.get("seed"),
            rounds=[Verdict.from_dict(v) for v in s.get("rounds", [])],
        )
        for s in rows
    ]


@dataclass
class JudgeResult:
    """The outcome of one item.

    All positions are in the **caller's** order: ``scores[i]`` belongs to ``responses[i]``,
    ``preference`` ``"A"`` means ``responses[0]`` is better, ``ranking`` lists caller indices
    best → worst.  ``status`` is ``ok`` when at least one sample parsed, ``error`` when the
    item could not be judged at all (``error`` then says why), else the parse status of the
    samples.  ``samples`` keeps every vote, including failed ones.  ``seconds`` is the wall
    time of the item's batch divided by the items in it (an amortized per-item cost, not a
    per-item measurement; a resumed result keeps the value of the run that judged it).
    """

    id: str | None
    task: Task
    protocol: str
    mode: str
    status: str
    scores: list[float] | None = None
    preference: str | None = None
    ranking: list[int] | None = None
    option: str | None = None
    samples: _StoredSamples = _StoredSamples()
    votes: dict[str, int] = field(default_factory=dict)
    agreement: float | None = None
    n_failed: int = 0
    sampling: dict[str, Any] = field(default_factory=dict)
    prompt_sha256: list[str] = field(default_factory=list)
    seconds: float = 0.0
    num_tokens: int = 0
    error: str | None = None
    error_field: str | None = None
    #: per presentation order among the samples, the presented position that won that
    #: order's samples by majority (``-1``: tie); ``None`` when not recorded (older stores).
    #: This is what :func:`flexjudge.position_bias` counts.
    order_decisions: list[tuple[tuple[int, ...], int]] | None = None
    #: user text (candidate, question, criteria) held a special-token-like string such as
    #: ``<|im_end|>`` or a media placeholder.  Clean mode tokenizes it as plain text; reference
    #: mode tokenizes the prompt whole, as the authors did, so the text may have acted as
    #: chat structure (see docs/security.md).
    injection_suspect: bool = False
    #: with ``score_logprobs``: per response, the probability-weighted mean score over the
    #: scale's values (renormalized over them), the distribution itself (value → p), and
    #: for two responses the probability that the first is better (ties count half)
    expected_scores: list[float] | None = None
    score_distribution: list[dict[str, float]] | None = None
    p_first_better: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == ParseStatus.OK.value

    @property
    def score(self) -> float | None:
        return self.scores[0] if self.scores and len(self.scores) == 1 else None

    @property
    def expected_score(self) -> float | None:
        """The expected score of a single-response result (``None`` without log-probs)."""
        e = self.expected_scores
        return e[0] if self.ok and e is not None and len(e) == 1 else None

    @property
    def reasoning(self) -> str | None:
        for s in self.samples:
            if s.verdict.reasoning:
                return s.verdict.reasoning
        return None

    def to_dict(self, *, include_samples: bool = True) -> dict[str, Any]:
        d: dict[str, Any] = {
            "id": self.id,
            "task": self.task,
            "protocol": self.protocol,
            "mode": self.mode,
            "status": self.status,
            "scores": self.scores,
            "preference": self.preference,
            "ranking": self.ranking,
            "option": self.option,
            "votes": self.votes,
            "agreement": self.agreement,
            "n_failed": self.n_failed,
            "sampling": self.sampling,
            "prompt_sha256": self.prompt_sha256,
            "seconds": round(self.seconds, 4),
            "num_tokens": self.num_tokens,
            "error": self.error,
        }
        if self.error_field is not None:
            d["error_field"] = self.error_field
        if self.order_decisions is not None:
            d["order_decisions"] = [[list(o), w] for o, w in self.order_decisions]
        if self.injection_suspect:
            d["injection_suspect"] = True
        if self.expected_scores is not None:
            d["expected_scores"] = self.expected_scores
            d["score_distribution"] = self.score_distribution
            if self.p_first_better is not None:
                d["p_first_better"] = self.p_first_better
        if include_samples:
            d["samples"] = [s.to_dict() for s in self.samples]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> JudgeResult:
        """Rebuild a result from :meth:`to_dict` output (``KeyError`` if a required field is
        missing)."""
        return cls._from_head(d, _samples_from(d.get("samples", [])))

    @classmethod
    def from_stored(cls, head: Mapping[str, Any], record_json: str) -> JudgeResult:
        """A result read back from a store: ``head`` is the record without ``samples``,
        ``record_json`` the whole stored record, decoded only when ``samples`` is read
        (a corrupt record then raises ``json.JSONDecodeError`` at that point)."""
        result = cls._from_head(head, [])
        result.__dict__["_pending_samples"] = record_json
        result.__dict__["_stored_json"] = (result.id, record_json)
        return result

    @property
    def resumed(self) -> bool:
        """Whether this result was read back from a result store rather than judged now."""
        return "_stored_json" in self.__dict__ or bool(self.__dict__.get("_resumed"))

    def mark_resumed(self) -> None:
        """Note that this result came from a store (for results rebuilt from a worker's
        JSON, which loses :meth:`from_stored`'s marker)."""
        self.__dict__["_resumed"] = True

    def stored_json(self) -> str | None:
        """The stored record text this result was read from, while ``samples`` and ``id``
        were not reassigned (``to_dict`` then serializes to the same JSON); else ``None``."""
        stored: tuple[str | None, str] | None = self.__dict__.get("_stored_json")
        if stored is None or stored[0] != self.id:
            return None
        return stored[1]

    @classmethod
    def _from_head(cls, d: Mapping[str, Any], samples: list[Sample]) -> JudgeResult:
        # bypasses __init__ (hot on resume: one call per stored item); sets every field
        obj = object.__new__(cls)
        obj.__dict__.update(
            id=d.get("id"),
            task=d["task"],
            protocol=d["protocol"],
            mode=d["mode"],
            status=d["status"],
            scores=d.get("scores"),
            preference=d.get("preference"),
            ranking=d.get("ranking"),
            option=d.get("option"),
            _samples=samples,
            votes=dict(d.get("votes", {})),
            agreement=d.get("agreement"),
            n_failed=d.get("n_failed", 0),
            sampling=dict(d.get("sampling", {})),
            prompt_sha256=list(d.get("prompt_sha256", [])),
            seconds=d.get("seconds", 0.0),
            num_tokens=d.get("num_tokens", 0),
            error=d.get("error"),
            error_field=d.get("error_field"),
            order_decisions=_decisions_from(d.get("order_decisions")),
            injection_suspect=bool(d.get("injection_suspect", False)),
            expected_scores=d.get("expected_scores"),
            score_distribution=d.get("score_distribution"),
            p_first_better=d.get("p_first_better"),
        )
        return obj


def _decisions_from(rows: Any) -> list[tuple[tuple[int, ...], int]] | None:
    if rows is None:
        return None
    return [(tuple(order), int(winner)) for order, winner in rows]
