"""Request and response schemas of the judge server (they make its OpenAPI spec)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class MediaInput(BaseModel):
    """One media entry: inline ``base64`` (optionally a ``data:`` URI) or a ``path`` under the
    server's ``--media-root``.  ``url`` is accepted by the schema but refused (no fetching)."""

    model_config = ConfigDict(extra="forbid")
    base64: str | None = None
    path: str | None = None
    url: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> MediaInput:
        given = [k for k in ("base64", "path", "url") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'base64', 'path' or 'url'")
        return self


class MoleculeInput(BaseModel):
    """One molecule: a ``smiles`` string, inline ``base64`` of a .smi/.mol/.sdf file (``format``
    ``smi`` or ``mol``) or a ``path`` under the server's ``--media-root``."""

    model_config = ConfigDict(extra="forbid")
    smiles: str | None = None
    base64: str | None = None
    path: str | None = None
    format: Literal["smi", "mol"] = "smi"

    @model_validator(mode="after")
    def _exactly_one(self) -> MoleculeInput:
        given = [k for k in ("smiles", "base64", "path") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'smiles', 'base64' or 'path'")
        return self


class JudgeRequest(BaseModel):
    """The fields of a ``judge run`` item plus ``mode``."""

    model_config = ConfigDict(extra="forbid")
    mode: Literal["score", "compare", "rank"]
    question: str | None = None
    responses: list[str] = Field(default_factory=list, max_length=64)
    protocol: str | None = None
    id: str | None = None
    images: list[MediaInput] = Field(default_factory=list)
    videos: list[MediaInput] = Field(default_factory=list)
    audios: list[MediaInput] = Field(default_factory=list)
    #: SMILES strings or molecule objects, shown through the judge's molecule view
    molecules: list[str | MoleculeInput] = Field(default_factory=list)
    fields: dict[str, str] = Field(default_factory=dict)
    # per-request judge options; the server's config caps them (ServerConfig.max_votes, ...)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0, allow_inf_nan=False)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0, allow_inf_nan=False)
    max_tokens: int | None = Field(default=None, ge=1)
    votes: int | None = Field(default=None, ge=1)
    swap: bool | None = None
    seed: int | None = None

    def judge_options(self) -> dict[str, Any]:
        """The judge options this request sets (the others keep the server's)."""
        names = ("temperature", "top_p", "max_tokens", "votes", "swap", "seed")
        return {k: getattr(self, k) for k in names if getattr(self, k) is not None}


class JudgeResponse(BaseModel):
    """A verdict; positions refer to the request's ``responses`` order."""

    id: str | None = None
    mode: str
    protocol: str
    status: str
    scores: list[float] | None = None
    preference: str | None = None
    ranking: list[int] | None = None
    option: str | None = None
    agreement: float | None = None
    n_failed: int = 0
    reasoning: str | None = None
    error: str | None = None
    seconds: float = 0.0


class RewardRequest(BaseModel):
    """OpenRLHF remote reward model schema (``--reward.remote_url``; ``--remote_rm_url``
    before 0.9), plus optional media per query.  ``query`` holds full texts (prompt +
    response); ``prompts`` the prompt prefixes.  The number of queries is bounded by the
    server's ``max_reward_queries``."""

    query: list[str]
    prompts: list[str] | None = None
    labels: list[Any] | None = None
    images: list[list[MediaInput]] | None = None
    videos: list[list[MediaInput]] | None = None
    audios: list[list[MediaInput]] | None = None


class RewardResponse(BaseModel):
    rewards: list[float]
    scores: list[float]
    extra_logs: dict[str, list[float]]


class ErrorResponse(BaseModel):
    error: str
    detail: list[dict[str, Any]] | None = None


class HealthResponse(BaseModel):
    status: Literal["ok"]
    model: str
    in_flight: int
    max_concurrency: int
