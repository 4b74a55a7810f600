"""Inference backends behind one interface (:class:`Backend`).

``transformers`` (embedded default), ``vllm``, ``openai`` (any OpenAI-compatible server),
``mol-llm`` (a causal LM with a molecular encoder filling its ``<mol>`` tokens) and
``mock`` (deterministic, for tests).  Heavy backends are imported lazily by
:func:`load_backend`.
"""

from __future__ import annotations

from typing import Any

from flexjudge.backends._base import (
    Backend,
    ChatTurn,
    Completion,
    FinishReason,
    GenerationRequest,
    SamplingParams,
    TokenLogprobs,
)
from flexjudge.backends._hf_load import load_kwargs
from flexjudge.backends._mock import MockBackend, default_judge_text
from flexjudge.errors import BackendError
from flexjudge.families import ModelFamily

BACKENDS = ("transformers", "vllm", "openai", "mol-llm", "mock")


def load_backend(name: str, model: str, **kwargs: Any) -> Backend:
    """Instantiate backend ``name`` for ``model``.

    Raises :class:`BackendError` for an unknown name and
    :class:`flexjudge.errors.MissingDependencyError` when the backend's extra is missing.
    """
    if name == "mock":
        return MockBackend(model, **kwargs)
    if name == "transformers":
        from flexjudge.backends._transformers import TransformersBackend

        return TransformersBackend(model, **kwargs)
    if name == "mol-llm":
        from flexjudge.backends._mol_llm import MolLLMBackend

        return MolLLMBackend(model, **kwargs)
    if name == "vllm":
        from flexjudge.backends._vllm import VLLMBackend  # type: ignore[import-not-found]

        return VLLMBackend(model, **kwargs)  # type: ignore[no-any-return]
    if name == "openai":
        from flexjudge.backends._openai import OpenAIBackend  # type: ignore[import-not-found]

        return OpenAIBackend(model, **kwargs)  # type: ignore[no-any-return]
    raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")


def __getattr__(name: str) -> Any:
    # heavy backends load on first use so importing flexjudge never pulls in torch
    if name == "TransformersBackend":
        from flexjudge.backends._transformers import TransformersBackend

        return TransformersBackend
    if name == "MolLLMBackend":
        from flexjudge.backends._mol_llm import MolLLMBackend

        return MolLLMBackend
    raise AttributeError(f"module 'flexjudge.backends' has no attribute {name!r}")


__all__ = [
    "BACKENDS",
    "Backend",
    "ChatTurn",
    "Completion",
    "FinishReason",
    "GenerationRequest",
    "MockBackend",
    "ModelFamily",
    "MolLLMBackend",
    "SamplingParams",
    "TokenLogprobs",
    "TransformersBackend",
    "default_judge_text",
    "load_backend",
    "load_kwargs",
]
