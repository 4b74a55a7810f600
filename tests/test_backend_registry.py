"""The backend registry: built-ins by name, user backends, dependency checks before import."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from typer.testing import CliRunner

import flexjudge.backends as backends
from flexjudge import Judge
from flexjudge.backends import (
    MockBackend,
    backend,
    get_backend,
    list_backends,
    load_backend,
)
from flexjudge.cli.main import app
from flexjudge.errors import BackendError, MissingDependencyError


class EchoBackend(MockBackend):
    name = "echo"


def test_built_in_backends_are_registered_in_order() -> None:
    assert list_backends()[:5] == ["transformers", "vllm", "openai", "mol-llm", "mock"]
    assert get_backend("vllm").extra == "vllm" and get_backend("openai").requires == ("httpx",)
    assert isinstance(load_backend("mock", "m"), MockBackend)


def test_a_user_backend_is_loaded_by_name_everywhere() -> None:
    built: list[tuple[str, dict[str, Any]]] = []

    @backend("test-echo")
    def load_echo(model: str, **kwargs: Any) -> EchoBackend:
        built.append((model, kwargs))
        return EchoBackend(model, **kwargs)

    assert "test-echo" in list_backends() and "test-echo" in backends.BACKENDS
    judge = Judge.from_pretrained(
        "my-model", backend="test-echo", backend_kwargs={"family": "qwen2_5_omni"}
    )
    assert isinstance(judge.backend, EchoBackend) and judge.backend.family == "qwen2_5_omni"
    assert built == [("my-model", {"family": "qwen2_5_omni"})]
    assert judge.score("q", "a").status == "ok"


def test_a_missing_dependency_names_the_extra_before_the_factory_runs() -> None:
    called = []

    @backend("test-needs-engine", requires=("flexjudge_no_such_engine.core",), extra="engine")
    def load_engine(model: str, **kwargs: Any) -> MockBackend:
        called.append(model)
        return MockBackend(model)

    with pytest.raises(MissingDependencyError, match=r"flexjudge\[engine\]") as info:
        load_backend("test-needs-engine", "m")
    assert info.value.package == "flexjudge_no_such_engine" and called == []


def test_vllm_absent_is_reported_without_importing_the_backend_module(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "vllm", None)
    monkeypatch.delitem(sys.modules, "flexjudge.backends._vllm", raising=False)
    with pytest.raises(MissingDependencyError, match=r"flexjudge\[vllm\]"):
        load_backend("vllm", "some/model")
    assert "flexjudge.backends._vllm" not in sys.modules


def test_unknown_and_duplicate_names_are_refused() -> None:
    with pytest.raises(BackendError, match="unknown backend 'nope'; choose one of transformers"):
        load_backend("nope", "m")
    with pytest.raises(ValueError, match="already registered"):
        backend("mock")(lambda model, **kw: MockBackend(model))


def test_cli_help_lists_the_registered_backends() -> None:
    result = CliRunner().invoke(app, ["judge", "score", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "transformers | vllm | openai | mol-llm | mock" in result.output
