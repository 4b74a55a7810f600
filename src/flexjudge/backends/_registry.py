"""Registered backend factories: ``load_backend(name, model)`` and the CLI's ``--backend``.

A factory is registered under a name with the optional modules it needs and the extra that
installs them.  :func:`load_backend` checks those modules first and raises
:class:`~flexjudge.errors.MissingDependencyError` naming the extra, so a missing dependency
never surfaces as an ``ImportError`` from deep inside a heavy module; the factory itself
imports its backend module only when called.  Register your own::

    @backend("mine", requires=("my_engine",), extra="mine")
    def _load_mine(model: str, **kwargs):
        from my_package import MyBackend   # a flexjudge.backends.Backend subclass
        return MyBackend(model, **kwargs)

    Judge.from_pretrained("some/model", backend="mine")
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flexjudge.errors import BackendError, MissingDependencyError

if TYPE_CHECKING:
    from flexjudge.backends._base import Backend

BackendFactory = Callable[..., "Backend"]


@dataclass(frozen=True)
class BackendEntry:
    """A registered backend: ``factory(model, **kwargs)`` builds it."""

    name: str
    factory: BackendFactory
    requires: tuple[str, ...] = ()
    extra: str | None = None

    def missing(self) -> str | None:
        """The first required module that cannot be imported, or None."""
        for module in self.requires:
            try:
                found = importlib.util.find_spec(module) is not None
            except (ImportError, ValueError):  # a parent package missing, or set to None
                found = False
            if not found:
                return module
        return None


_REGISTRY: dict[str, BackendEntry] = {}


def backend(
    name: str, *, requires: tuple[str, ...] = (), extra: str | None = None
) -> Callable[[BackendFactory], BackendFactory]:
    """Register the decorated ``factory(model, **kwargs) -> Backend`` as backend ``name``.

    ``requires`` names the modules checked before the factory runs; ``extra`` is the
    ``flexjudge[extra]`` that installs them (default: ``name``).  Raises :class:`ValueError`
    for an empty or already registered name.
    """
    if not name or not isinstance(name, str):
        raise ValueError("a backend needs a non-empty name")

    def register(factory: BackendFactory) -> BackendFactory:
        if name in _REGISTRY:
            raise ValueError(f"a backend named {name!r} is already registered")
        _REGISTRY[name] = BackendEntry(name, factory, tuple(requires), extra or name)
        return factory

    return register


def list_backends() -> list[str]:
    """Registered backend names, in registration order (the built-ins first)."""
    return list(_REGISTRY)


def backend_help() -> str:
    """The ``--backend`` help text: the registered names."""
    return " | ".join(list_backends()) + "."


def get_backend(name: str) -> BackendEntry:
    """The entry registered as ``name``; :class:`BackendError` naming the known ones if absent."""
    entry = _REGISTRY.get(name)
    if entry is None:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(_REGISTRY)}")
    return entry


def load_backend(name: str, model: str, **kwargs: Any) -> Backend:
    """Instantiate backend ``name`` for ``model``.

    Raises :class:`BackendError` for an unknown name and
    :class:`~flexjudge.errors.MissingDependencyError` when the backend's extra is missing.
    """
    entry = get_backend(name)
    missing = entry.missing()
    if missing is not None:
        raise MissingDependencyError(missing.split(".")[0], entry.extra or name)
    return entry.factory(model, **kwargs)
