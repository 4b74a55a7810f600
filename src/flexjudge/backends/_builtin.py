"""The built-in backends, registered by name; each heavy module is imported only when used."""

from __future__ import annotations

from typing import Any

from flexjudge.backends._base import Backend
from flexjudge.backends._mock import MockBackend
from flexjudge.backends._registry import backend


@backend("transformers")  # torch and transformers are core dependencies
def load_transformers(model: str, **kwargs: Any) -> Backend:
    from flexjudge.backends._transformers import TransformersBackend

    return TransformersBackend(model, **kwargs)


@backend("vllm", requires=("vllm",), extra="vllm")
def load_vllm(model: str, **kwargs: Any) -> Backend:
    from flexjudge.backends._vllm import VLLMBackend  # type: ignore[import-not-found]

    return VLLMBackend(model, **kwargs)  # type: ignore[no-any-return]


@backend("openai", requires=("httpx",), extra="serve")
def load_openai(model: str, **kwargs: Any) -> Backend:
    from flexjudge.backends._openai import OpenAIBackend  # type: ignore[import-not-found]

    return OpenAIBackend(model, **kwargs)  # type: ignore[no-any-return]


@backend("mol-llm")  # a causal LM plus a molecular encoder: core dependencies only
def load_mol_llm(model: str, **kwargs: Any) -> Backend:
    from flexjudge.backends._mol_llm import MolLLMBackend

    return MolLLMBackend(model, **kwargs)


@backend("mock")
def load_mock(model: str, **kwargs: Any) -> Backend:
    return MockBackend(model, **kwargs)
