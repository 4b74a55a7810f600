"""Result keys and :class:`ResultCache`, what :meth:`flexjudge.Judge.run` needs of a store.

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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from typing import Protocol as TypingProtocol

from flexjudge.backends import SamplingParams
from flexjudge.judge.config import JudgeConfig
from flexjudge.judge.types import JudgeResult
from flexjudge.store import StoredRecord


class ResultCache(TypingProtocol):
    """Everything :meth:`Judge.run` needs of a result store.  :class:`flexjudge.ResultStore`
    satisfies it (structurally: the store never imports the judge), and so does
    :class:`flexjudge.store.NamespacedStore`, which prefixes every key."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, record: dict[str, Any]) -> None: ...

    def get_many_stored(self, keys: Sequence[str]) -> Mapping[str, StoredRecord]:
        """The stored records of those ``keys`` that are present (samples left undecoded)."""
        ...

    def put_many(self, items: Iterable[tuple[str, dict[str, Any]]]) -> None:
        """Store a finished batch in one transaction."""
        ...

    def record_manifest(
        self, run: str, entries: Iterable[tuple[int, str | None, dict[str, Any] | None]]
    ) -> None:
        """Note, for run ``run``, the key (or the error record) at each input position."""
        ...


def lookup(store: ResultCache, keys: list[str]) -> dict[str, JudgeResult]:
    """Stored results for ``keys``, their samples decoded lazily."""
    return {
        key: JudgeResult.from_stored(hit.head, hit.text)
        for key, hit in store.get_many_stored(keys).items()
    }


def save(store: ResultCache, pairs: list[tuple[str, dict[str, Any]]]) -> None:
    """Store a finished batch in one transaction."""
    store.put_many(pairs)


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
    if cfg.answer_order != "reasoning-first":  # the default leaves keys as they were
        out["answer_order"] = cfg.answer_order
    if cfg.salvage_truncated:  # only when set, so keys of runs without it stay as they were
        out["salvage_truncated"] = True
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
