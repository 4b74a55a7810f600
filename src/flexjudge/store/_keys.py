"""Result-store keys and the duck-typed store calls :meth:`flexjudge.Judge.run` makes.

An item key is the SHA-256 of: the backend's model fingerprint, the protocol name, the
SHA-256 of every rendered prompt (one per presentation order), the content hashes of the
media, the sampling settings (including ``n`` = votes and ``seed``), the mode and every
scaling/aggregation setting.  One key holds one *item's* result with all its samples
(``samples[i]`` is vote ``i`` of its order); see docs/judging.md for why samples are not
stored one per key.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flexjudge._results import JudgeResult
    from flexjudge.backends import SamplingParams
    from flexjudge.judge import JudgeConfig, ResultCache


def lookup(store: ResultCache, keys: list[str]) -> dict[str, JudgeResult]:
    """Stored results for ``keys``: via ``get_many_stored`` (samples decoded lazily) or
    ``get_many`` when the store has them, else one ``get`` per key."""
    from flexjudge._results import JudgeResult

    get_stored = getattr(store, "get_many_stored", None)
    if get_stored is not None:
        return {
            key: JudgeResult.from_stored(hit.head, hit.text)
            for key, hit in get_stored(keys).items()
        }
    get_many = getattr(store, "get_many", None)
    if get_many is not None:
        found: dict[str, dict[str, Any]] = get_many(keys)
    else:
        found = {key: hit for key in keys if (hit := store.get(key)) is not None}
    return {key: JudgeResult.from_dict(record) for key, record in found.items()}


def save(store: ResultCache, pairs: list[tuple[str, dict[str, Any]]]) -> None:
    """Store a finished batch (one transaction with ``put_many`` when the store has it)."""
    put_many = getattr(store, "put_many", None)
    if put_many is not None:
        put_many(pairs)
        return
    for key, record in pairs:
        store.put(key, record)


def scaling_dict(cfg: JudgeConfig) -> dict[str, Any]:
    """The inference-scaling settings recorded in every result's ``sampling``."""
    out: dict[str, Any] = {
        "votes": cfg.votes,
        "swap": cfg.swap,
        "order": cfg.order,
        "budget_forcing": cfg.budget_forcing,
        "budget_tokens": cfg.budget_tokens,
    }
    if cfg.budget_forcing:
        out["budget_final"] = cfg.budget_final
    return out


def item_key(
    fingerprint: str,
    protocol: str,
    prompts: list[str],
    media: list[str],
    sampling: SamplingParams,
    cfg: JudgeConfig,
) -> str:
    """The store key of one item's result (see the module docstring)."""
    settings = _settings_json(
        sampling,
        cfg.mode,
        tuple(sorted(scaling_dict(cfg).items())),
        (cfg.score_aggregate, cfg.pair_aggregate, cfg.rank_aggregate, cfg.swap_policy),
        cfg.wait_token,
    )
    payload = json.dumps([fingerprint, protocol, prompts, media, settings])
    return hashlib.sha256(payload.encode()).hexdigest()


@functools.lru_cache(maxsize=256)
def _settings_json(
    sampling: SamplingParams,
    mode: str,
    scaling: tuple[tuple[str, Any], ...],
    aggregate: tuple[str, ...],
    wait: str,
) -> str:
    payload = {
        "sampling": sampling.to_dict(),
        "mode": mode,
        **dict(scaling),
        "aggregate": list(aggregate),
        "wait": wait,
    }
    return json.dumps(payload, sort_keys=True)
