"""Named, registered reducers: how one item's votes become one verdict.

Three kinds, each selected by name through a :class:`~flexjudge.JudgeConfig` option:

* ``score`` (``score_aggregate``): ``fn(values: Sequence[float]) -> float``, the final score
  from the parsed score of every vote.
* ``pair`` (``pair_aggregate``): ``fn(views: Sequence[CallerView]) -> str | None``, the
  preference (``"A"``, ``"B"`` or ``"tie"``) from every vote in the caller's order, or None
  when the rule cannot decide (then ``majority`` decides).  A *pooled* pair reducer sees every
  presentation order at once; any other is applied to each order on its own under
  ``swap_policy="tie"`` and disagreeing orders give ``tie``.
* ``rank`` (``rank_aggregate``): ``fn(views: Sequence[CallerView], n: int) -> list[int] |
  None``, the caller's indices best first, or None when the rule cannot decide (then
  ``borda`` decides).

Register your own with the decorator, then select it by name::

    @reducer("trimmed", kind="score")
    def trimmed_mean(values):
        ...

    Judge(backend, score_aggregate="trimmed")
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

ReducerKind = Literal["score", "pair", "rank"]
REDUCER_KINDS: tuple[ReducerKind, ...] = ("score", "pair", "rank")

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Reducer:
    """A registered reduction rule."""

    name: str
    kind: ReducerKind
    fn: Callable[..., Any]
    pooled: bool = False


_REGISTRY: dict[ReducerKind, dict[str, Reducer]] = {kind: {} for kind in REDUCER_KINDS}


def reducer(name: str, *, kind: ReducerKind, pooled: bool = False) -> Callable[[F], F]:
    """Register the decorated function as reducer ``name`` of ``kind`` (see the module doc).

    Raises :class:`ValueError` for an unknown kind or a name already registered for it.
    """
    if kind not in _REGISTRY:
        raise ValueError(f"unknown reducer kind {kind!r}; choose one of {', '.join(REDUCER_KINDS)}")
    if not name or not isinstance(name, str):
        raise ValueError("a reducer needs a non-empty name")

    def register(fn: F) -> F:
        if name in _REGISTRY[kind]:
            raise ValueError(f"a {kind} reducer named {name!r} is already registered")
        _REGISTRY[kind][name] = Reducer(name, kind, fn, pooled)
        return fn

    return register


def get_reducer(kind: ReducerKind, name: str) -> Reducer:
    """The reducer ``name`` of ``kind``; :class:`ValueError` naming the known ones if absent."""
    table = _REGISTRY.get(kind)
    if table is None:
        raise ValueError(f"unknown reducer kind {kind!r}; choose one of {', '.join(REDUCER_KINDS)}")
    found = table.get(name)
    if found is None:
        known = ", ".join(sorted(table))
        raise ValueError(f"unknown {kind} reducer {name!r}; registered: {known}")
    return found


def list_reducers(kind: ReducerKind) -> list[str]:
    """Names of the registered reducers of ``kind``, in registration order (built-ins first)."""
    if kind not in _REGISTRY:
        raise ValueError(f"unknown reducer kind {kind!r}; choose one of {', '.join(REDUCER_KINDS)}")
    return list(_REGISTRY[kind])
