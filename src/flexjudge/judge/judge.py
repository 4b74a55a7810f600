"""The :class:`Judge`: score, compare and rank with a Flex-Judge model.

Every call renders the protocol's prompt, generates through a backend, parses the
``<think>``/``<answer>`` output into a typed verdict, and aggregates votes, swapped orders and
budget-forcing rounds.  Bad input for one item becomes an ``error`` result for that item;
the rest of a batch still runs.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any, Unpack

from flexjudge._util.gc import paused_gc
from flexjudge.backends import Backend, load_backend, load_kwargs
from flexjudge.errors import BackendError, InputError, ProtocolError
from flexjudge.judge.bias import order_decisions, order_draws
from flexjudge.judge.config import JudgeCallOptions, JudgeConfig, JudgeOptions
from flexjudge.judge.expect import expectation
from flexjudge.judge.generate import generate_samples, has_backend_error, round_votes
from flexjudge.judge.keys import ResultCache, save, scaling_dict
from flexjudge.judge.plan import Plan, plan_item, prepare_plan
from flexjudge.judge.reduce import aggregate
from flexjudge.judge.results import call_item, check_run, error_result, resume
from flexjudge.judge.types import JudgeItem, JudgeResult, Task

Progress = Callable[[int, int], None]


class Judge:
    """A Flex-Judge behind any backend.

    >>> judge = Judge.from_pretrained("jongwooko/Flex-VL-7B")          # doctest: +SKIP
    >>> judge.compare("Which is right?", "answer one", "answer two", images=["cat.jpg"])

    Raises :class:`InputError` (single calls) for bad inputs; batch calls (:meth:`run`)
    return ``status="error"`` results instead and keep going.
    """

    def __init__(
        self,
        backend: Backend,
        config: JudgeConfig | None = None,
        **options: Unpack[JudgeOptions],
    ) -> None:
        """``options`` are :class:`JudgeConfig` fields (see its docstring); pass either a
        ``config`` or options, not both."""
        if config is not None and options:
            raise TypeError("pass either config or keyword options, not both")
        self.backend = backend
        self.config = config or JudgeConfig(**options)
        # backends are not documented thread-safe: calls from many threads take turns
        self.backend_lock = threading.RLock()

    @classmethod
    def from_pretrained(
        cls,
        model: str,
        *,
        backend: str | Backend = "transformers",
        backend_kwargs: dict[str, Any] | None = None,
        device_map: str | dict[str, Any] | None = None,
        dtype: Any = None,
        torch_dtype: Any = None,
        revision: str | None = None,
        trust_remote_code: bool | None = None,
        attn_implementation: str | None = None,
        **options: Unpack[JudgeOptions],
    ) -> Judge:
        """Load ``model`` with ``backend`` (a name or a ready :class:`Backend`).

        ``device_map``, ``dtype`` (a ``torch.dtype`` or its name; ``torch_dtype`` is its old
        name), ``revision``, ``trust_remote_code`` and ``attn_implementation`` are passed to
        the checkpoint's ``from_pretrained`` as in transformers; ``backend_kwargs`` go to the
        backend's constructor.  ``options`` are :class:`JudgeConfig` fields.
        """
        if isinstance(backend, Backend):
            return cls(backend, **options)
        load = load_kwargs(
            backend,
            device_map=device_map,
            dtype=dtype if dtype is not None else torch_dtype,
            revision=revision,
            trust_remote_code=trust_remote_code,
            attn_implementation=attn_implementation,
        )
        return cls(load_backend(backend, model, **load, **(backend_kwargs or {})), **options)

    def preflight(self, **options: Unpack[JudgeOptions]) -> JudgeConfig:
        """Check what would fail every item of a run with these ``options``, before any
        batch: an unknown protocol or one this model's family cannot serve, budget forcing
        on a backend that cannot continue a prefix, a backend that cannot be reached.
        Raises :class:`ProtocolError`/:class:`BackendError`/``ValueError``; returns the
        effective config.  :meth:`run` itself reports such problems per item instead."""
        cfg = replace(self.config, **options) if options else self.config
        check_run(self.backend, cfg)
        return cfg

    # ------------------------------------------------------------------ single calls
    def score(
        self,
        question: str | None,
        response: str | None = None,
        *,
        id: str | None = None,
        images: Sequence[Any] = (),
        videos: Sequence[Any] = (),
        audios: Sequence[Any] = (),
        molecules: Sequence[Any] = (),
        protocol: str | None = None,
        fields: dict[str, str] | None = None,
        **options: Unpack[JudgeCallOptions],
    ) -> JudgeResult:
        """Score one response (or none, for fixed-text protocols).  ``options`` override the
        judge's :class:`JudgeConfig` for this call; ``protocol`` is this item's."""
        media = (images, videos, audios, molecules)
        return self._single(
            call_item(
                question,
                [] if response is None else [response],
                "score",
                id,
                media,
                protocol,
                fields,
            ),
            options,
        )

    def compare(
        self,
        question: str | None,
        response_a: str,
        response_b: str,
        *,
        id: str | None = None,
        images: Sequence[Any] = (),
        videos: Sequence[Any] = (),
        audios: Sequence[Any] = (),
        molecules: Sequence[Any] = (),
        protocol: str | None = None,
        fields: dict[str, str] | None = None,
        **options: Unpack[JudgeCallOptions],
    ) -> JudgeResult:
        """Compare two responses; ``preference`` is ``"A"``, ``"B"`` or ``"tie"``."""
        media = (images, videos, audios, molecules)
        return self._single(
            call_item(question, [response_a, response_b], "compare", id, media, protocol, fields),
            options,
        )

    def rank(
        self,
        question: str | None,
        responses: Sequence[str],
        *,
        id: str | None = None,
        images: Sequence[Any] = (),
        videos: Sequence[Any] = (),
        audios: Sequence[Any] = (),
        molecules: Sequence[Any] = (),
        protocol: str | None = None,
        fields: dict[str, str] | None = None,
        **options: Unpack[JudgeCallOptions],
    ) -> JudgeResult:
        """Rank N responses; ``ranking`` lists response indices best first."""
        media = (images, videos, audios, molecules)
        return self._single(
            call_item(question, list(responses), "rank", id, media, protocol, fields), options
        )

    def _single(self, item: JudgeItem, options: JudgeCallOptions) -> JudgeResult:
        result = self.run([item], **options)[0]
        if result.status == "error" and result.error_field is not None:
            raise InputError.formatted(
                result.error or "invalid input", record=item.id, field=result.error_field
            )
        return result

    # ------------------------------------------------------------------ batches
    def score_batch(
        self, items: Iterable[JudgeItem | dict[str, Any]], **options: Unpack[JudgeOptions]
    ) -> list[JudgeResult]:
        return self.run(items, task="score", **options)

    def compare_batch(
        self, items: Iterable[JudgeItem | dict[str, Any]], **options: Unpack[JudgeOptions]
    ) -> list[JudgeResult]:
        return self.run(items, task="compare", **options)

    def rank_batch(
        self, items: Iterable[JudgeItem | dict[str, Any]], **options: Unpack[JudgeOptions]
    ) -> list[JudgeResult]:
        return self.run(items, task="rank", **options)

    def run(
        self,
        items: Iterable[JudgeItem | dict[str, Any]],
        *,
        task: Task | None = None,
        store: ResultCache | None = None,
        progress: Progress | None = None,
        on_result: Callable[[JudgeResult], None] | None = None,
        positions: Sequence[int] | None = None,
        run_id: str | None = None,
        **options: Unpack[JudgeOptions],
    ) -> list[JudgeResult]:
        """Judge many items, in batches of ``batch_size`` items per backend call.

        Results come back in input order.  With ``store``, finished items are looked up by
        content key and skipped, and each batch's results are committed as soon as the batch
        ends (results of a batch whose backend call failed, and of an item one of whose
        requests the backend failed, are not stored, so a rerun retries them).
        ``positions`` gives each item's index in the whole input (default
        ``0..n-1``): ``order="random"`` draws ``u`` for position ``p`` as the ``p``-th
        ``RandomState(seed).uniform()``, so a shard of a larger run (Ray) flips exactly the
        items a single-process run flips.  ``run_id`` with a store that has
        ``record_manifest`` records which key belongs at each position (for
        ``ResultStore.export``).
        """
        cfg = replace(self.config, **options) if options else self.config
        item_list = list(items)
        pos = list(positions) if positions is not None else list(range(len(item_list)))
        if len(pos) != len(item_list):
            raise ValueError(f"{len(pos)} positions for {len(item_list)} items")
        results: list[JudgeResult | None] = [None] * len(item_list)
        with paused_gc():  # thousands of small acyclic objects: see paused_gc
            plans, manifest = self._plan_all(item_list, pos, cfg, task, results)
            if store is not None and run_id is not None:
                store.record_manifest(run_id, manifest)
            if store is not None:
                plans = resume(store, plans, results)
        if cfg.mode == "reference" and any(_suspect(p) for p in plans):
            warnings.warn(
                "user text holds special-token-like strings (e.g. <|im_end|>); reference mode "
                "tokenizes prompts whole as the authors did, so such text may act as chat "
                "structure: those results carry injection_suspect=true (clean mode, the "
                "default, keeps user text plain)",
                stacklevel=2,
            )
        done = len(item_list) - len(plans)
        if progress and done:
            progress(done, len(item_list))
        for start in range(0, len(plans), cfg.batch_size):
            started = time.perf_counter()
            chunk = []
            for plan in plans[start : start + cfg.batch_size]:
                try:
                    prepare_plan(plan, cfg.mode)
                    chunk.append(plan)
                except InputError as exc:  # undecodable media: this item fails, not the batch
                    results[plan.index] = error_result(
                        plan.item, pos[plan.index], cfg, exc, started
                    )
            for plan, result in self._judge_chunk(chunk, cfg, started, pos, store, on_result):
                plan.media = []  # decoded media are not kept past their batch
                results[plan.index] = result
            done = min(start + cfg.batch_size, len(plans)) + len(item_list) - len(plans)
            if progress:
                progress(done, len(item_list))
        return [r for r in results if r is not None]

    # ------------------------------------------------------------------ internals
    def _plan_all(
        self,
        item_list: list[JudgeItem | dict[str, Any]],
        pos: list[int],
        cfg: JudgeConfig,
        task: Task | None,
        results: list[JudgeResult | None],
    ) -> tuple[list[Plan], list[tuple[int, str | None, dict[str, Any] | None]]]:
        """Plans for the valid items; invalid ones get their error result in ``results``.
        Also returns the run manifest (position, key or error row) in input order."""
        draws = order_draws(cfg.seed, pos) if cfg.order == "random" else [0.0] * len(pos)
        plans: list[Plan] = []
        manifest: list[tuple[int, str | None, dict[str, Any] | None]] = []
        for i, raw in enumerate(item_list):
            started = time.perf_counter()
            try:
                item = (
                    raw
                    if isinstance(raw, JudgeItem)
                    else JudgeItem.from_dict(raw, record=str(pos[i]))
                )
                if task is not None and item.task is None:
                    item.task = task
                plan = self._plan(i, item, cfg, draws[i])
            except (InputError, ProtocolError) as exc:
                if isinstance(exc, ProtocolError):  # the item's protocol: name record and field
                    record = item.id if item.id is not None else str(pos[i])
                    exc = InputError(str(exc), record=record, field="protocol")
                error = error_result(raw, pos[i], cfg, exc, started)
                results[i] = error
                manifest.append((pos[i], None, error.to_dict()))
                continue
            manifest.append((pos[i], plan.key, {"id": item.id}))
            plans.append(plan)
        return plans, manifest

    def _fingerprint(self) -> str:
        cached: tuple[Backend, str] | None = getattr(self, "_fingerprint_cache", None)
        if cached is None or cached[0] is not self.backend:
            cached = (self.backend, self.backend.fingerprint())
            self._fingerprint_cache = cached
        return cached[1]

    def _plan(self, index: int, item: JudgeItem, cfg: JudgeConfig, draw: float) -> Plan:
        return plan_item(
            index,
            item,
            cfg,
            draw,
            self.backend.family,
            self._fingerprint(),
            molecule_view=self.backend.molecule_view,
        )

    def _judge_chunk(
        self,
        chunk: list[Plan],
        cfg: JudgeConfig,
        started: float,
        pos: list[int],
        store: ResultCache | None,
        on_result: Callable[[JudgeResult], None] | None,
    ) -> list[tuple[Plan, JudgeResult]]:
        """Generate, parse and aggregate one batch; store and report its results.  A
        backend failure makes every item of the batch an (unstored) error result."""
        if not chunk:
            return []
        try:
            with self.backend_lock:
                generate_samples(self.backend, chunk, cfg)
        except BackendError as exc:
            return [(p, error_result(p.item, pos[p.index], cfg, exc, started)) for p in chunk]
        per_item = (time.perf_counter() - started) / len(chunk)
        finished = [(plan, self._finish(plan, cfg, per_item)) for plan in chunk]
        if store is not None:  # a sample the backend failed is retried by the next run
            save(
                store,
                [
                    (p.key, r.to_dict())
                    for p, r in finished
                    if p.key is not None and not has_backend_error(p)
                ],
            )
        if on_result is not None:
            for _, result in finished:
                on_result(result)
        return finished

    def _finish(self, plan: Plan, cfg: JudgeConfig, seconds: float) -> JudgeResult:
        voters = round_votes(plan.samples) if cfg.budget_final == "vote" else plan.samples
        agg = aggregate(
            plan.task,
            plan.protocol.format,
            voters,
            max(plan.n_responses, 1),
            score_agg=cfg.score_aggregate,
            pair_agg=cfg.pair_aggregate,
            rank_agg=cfg.rank_aggregate,
            swap_policy=cfg.swap_policy,
        )
        errors = [s.verdict.error for s in plan.samples if s.verdict.error]
        expect = expectation(voters, max(plan.n_responses, 1)) if agg.status == "ok" else None
        return JudgeResult(
            id=plan.item.id,
            task=plan.task,
            protocol=plan.protocol.name,
            mode=cfg.mode,
            status=agg.status,
            scores=agg.scores,
            preference=agg.preference,
            ranking=agg.ranking,
            option=agg.option,
            samples=plan.samples,
            votes=agg.votes or {},
            agreement=agg.agreement,
            n_failed=agg.n_failed,
            sampling=plan.sampling.to_dict() | scaling_dict(cfg),
            prompt_sha256=plan.prompt_hashes,
            seconds=seconds,
            num_tokens=sum(s.num_tokens for s in plan.samples),
            error=None if agg.status == "ok" else (errors[0] if errors else agg.status),
            order_decisions=order_decisions(plan.samples),
            injection_suspect=_suspect(plan),
            expected_scores=None if expect is None else expect.scores,
            score_distribution=None if expect is None else expect.distributions,
            p_first_better=None if expect is None else expect.p_first_better,
        )


def _suspect(plan: Plan) -> bool:
    return any(r.injection_suspect for r in plan.rendered)
