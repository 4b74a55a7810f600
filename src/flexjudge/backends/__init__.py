"""Inference backends behind one interface (:class:`Backend`).

``transformers`` (embedded default), ``vllm``, ``openai`` (any OpenAI-compatible server),
``mol-llm`` (a causal LM with a molecular encoder filling its ``<mol>`` tokens) and
``mock`` (deterministic, for tests), registered by name with :func:`backend` (see
:mod:`flexjudge.backends._registry`; register your own the same way).  Heavy backends are
imported lazily by :func:`load_backend`, after their optional dependency is checked.
"""

from __future__ import annotations

from typing import Any

from flexjudge.backends import _builtin  # noqa: F401  (registers the built-in backends)
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
from flexjudge.backends._registry import (
    BackendEntry,
    BackendFactory,
    backend,
    backend_help,
    get_backend,
    list_backends,
    load_backend,
)
from flexjudge.families import ModelFamily


def __getattr__(name: str) -> Any:
    # heavy backends load on first use so importing flexjudge never pulls in torch
    if name == "BACKENDS":  # the registered names now, user backends included
        return tuple(list_backends())
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
    "BackendEntry",
    "BackendFactory",
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
    "backend",
    "backend_help",
    "default_judge_text",
    "get_backend",
    "list_backends",
    "load_backend",
    "load_kwargs",
]
