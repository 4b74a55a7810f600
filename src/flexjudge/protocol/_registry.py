"""The protocol registry: built-in protocols register here, and so can users'."""

from __future__ import annotations

from flexjudge.errors import ProtocolError
from flexjudge.protocol._protocol import Protocol

_REGISTRY: dict[str, Protocol] = {}


def register(protocol: Protocol, *, overwrite: bool = False) -> Protocol:
    """Add a protocol to the registry (users may register their own)."""
    if protocol.name in _REGISTRY and not overwrite:
        raise ProtocolError(f"protocol {protocol.name!r} already registered")
    _REGISTRY[protocol.name] = protocol
    return protocol


def get_protocol(name: str | Protocol) -> Protocol:
    """Look a protocol up by name.  Raises :class:`ProtocolError` listing the known names."""
    if isinstance(name, Protocol):
        return name
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ProtocolError(f"unknown protocol {name!r}; known: {known}") from None


def list_protocols() -> list[Protocol]:
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


#: default protocol per judge call kind
DEFAULT_PROTOCOLS: dict[str, str] = {"score": "score-10", "compare": "pair-10", "rank": "rank-10"}


def protocol_for(kind: str, name: str | None) -> Protocol:
    return get_protocol(name or DEFAULT_PROTOCOLS[kind])
