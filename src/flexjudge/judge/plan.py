"""Planning a judgment: render prompts, hash media, key the result; decode media per batch.

A :class:`Plan` is everything :class:`~flexjudge.judge.Judge` needs to generate one item's
samples.  Planning decodes no media (only hashes them), so resuming a finished run costs
prompt rendering and hashing, not image or audio decoding.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flexjudge.backends import SamplingParams
from flexjudge.errors import InputError, ProtocolError
from flexjudge.judge.config import JudgeConfig
from flexjudge.judge.keys import item_key
from flexjudge.judge.prepare import (
    ItemMedia,
    PreparedMedia,
    load_media,
    molecule_slots,
    prepare_media,
    reorder_media,
    resolve_molecule_view,
)
from flexjudge.judge.types import JudgeItem, Sample, Task
from flexjudge.protocol import Format, Mode, PromptInputs, Protocol, RenderedPrompt, protocol_for

if TYPE_CHECKING:
    from flexjudge.media import MoleculePrep


@dataclass
class Plan:
    """One item's rendered prompts, store key, sampling and (per batch) decoded media."""

    index: int
    item: JudgeItem
    task: Task
    protocol: Protocol
    orders: list[tuple[int, ...]]
    prompts: list[str]
    prompt_hashes: list[str]
    item_media: ItemMedia
    sampling: SamplingParams
    n_responses: int
    key: str | None = None
    samples: list[Sample] = field(default_factory=list)
    #: the rendered prompts (frame/user structure), one per order
    rendered: list[RenderedPrompt] = field(default_factory=list)
    # decoded per order (response media permuted) just before the plan's batch runs
    media: list[PreparedMedia] = field(default_factory=list)


def plan_item(
    index: int,
    item: JudgeItem,
    cfg: JudgeConfig,
    draw: float,
    family: str,
    fingerprint: str,
    *,
    molecule_view: str | None = None,
) -> Plan:
    """Render an item's prompts (one per presentation order), hash its media and compute
    its store key, decoding no media.  Raises :class:`InputError`/:class:`ProtocolError`
    naming the record and field when the item does not fit its protocol or backend.
    ``molecule_view`` is the backend's own molecule view (``"graph"`` for encoder LMs)."""
    task = item.resolved_task()
    protocol = protocol_for(task, item.protocol or cfg.protocol)
    record = item.id if item.id is not None else str(index)
    if family not in protocol.families:
        raise ProtocolError(
            f"protocol {protocol.name!r} needs a {'/'.join(protocol.families)} "
            f"model; this backend serves {family}"
        )
    if protocol.fixed_question and item.question:
        raise InputError(
            f"{protocol.name} asks its own fixed question and would ignore this one; "
            "pass no question",
            record=record,
            field="question",
        )
    mol_prep = _molecule_prep(item, cfg, protocol, family, molecule_view)
    media = load_media(
        item.images,
        item.videos,
        item.audios,
        record=record,
        molecules=item.molecules,
        molecule_prep=mol_prep,
    )
    slots = molecule_slots(media, record=record)
    n_images = len(media.images) + media.n_molecule_images
    counts = PromptInputs(
        item.question,
        item.responses,
        n_images=n_images,
        n_videos=len(media.videos),
        n_audios=len(media.audios),
    )
    n = protocol.count_responses(counts)
    identity = tuple(range(n))
    orders = [identity]
    swappable = n >= 2
    if swappable and cfg.order == "random" and draw >= 0.5:
        orders = [tuple(reversed(identity))]  # VL-RewardBench: u < 0.5 keeps the order
    if swappable and cfg.swap:
        orders = [orders[0], tuple(reversed(orders[0]))]
    prompts, hashes, rendered_all = [], [], []
    criteria = cfg.criteria if protocol.supports_criteria else None
    for order in orders:
        responses = [item.responses[j] for j in order] if item.responses else []
        inputs = PromptInputs(
            question=item.question,
            responses=responses,
            n_images=n_images,
            n_videos=len(media.videos),
            n_audios=len(media.audios),
            fields=item.fields,
            family=family,
            molecules=slots,
        )
        rendered = protocol.render(
            inputs,
            mode=cfg.mode,
            criteria=criteria,
            record=record,
            # an answer-first judge was trained on prompts without the <think> prefix
            think_prefix=False if cfg.answer_order == "answer-first" else None,
        )
        prompts.append(rendered.text)
        hashes.append(rendered.sha256)
        rendered_all.append(rendered)
    d = protocol.sampling
    # reference scripts without a seed (MJ-Bench, audio) stay unseeded in reference mode
    seed = cfg.seed if d.seed_from_trial or cfg.mode == "clean" else None
    sampling = SamplingParams(
        temperature=d.temperature if cfg.temperature is None else cfg.temperature,
        top_p=d.top_p if cfg.top_p is None else cfg.top_p,
        max_tokens=d.max_tokens if cfg.max_tokens is None else cfg.max_tokens,
        seed=seed,
        stop=d.stop,
        n=cfg.votes,
        logprobs=cfg.score_logprobs or None,
    )
    key = item_key(fingerprint, protocol.name, hashes, media.hashes, sampling, cfg)
    plan = Plan(index, item, task, protocol, orders, prompts, hashes, media, sampling, n, key)
    plan.rendered = rendered_all
    return plan


def _molecule_prep(
    item: JudgeItem, cfg: JudgeConfig, protocol: Protocol, family: str, backend_view: str | None
) -> MoleculePrep | None:
    if not item.molecules:
        return None
    view = resolve_molecule_view(cfg.molecule_view, backend_view, family)
    if view == "graph" and backend_view != "graph":
        raise ProtocolError(
            "molecule_view='graph' needs a molecular-encoder backend (--backend mol-llm); "
            f"this backend serves {family} models: use the image or text view"
        )
    return dataclasses.replace(
        protocol.prep.molecule,
        view=view,  # type: ignore[arg-type]
        seed=cfg.seed or 0,
    )


def prepare_plan(plan: Plan, mode: Mode) -> None:
    """Decode the plan's media for its batch.  Raises :class:`InputError`/``MediaError``
    naming the record and field of undecodable media."""
    record = plan.item.id if plan.item.id is not None else str(plan.index)
    prepared = prepare_media(plan.item_media, plan.protocol, mode, record=record)
    response_media = plan.protocol.response_media
    plan.media = [reorder_media(prepared, response_media, order) for order in plan.orders]


def parse_count(plan: Plan) -> int:
    """How many scores/answers a sample of this plan should carry."""
    return answer_count(plan.protocol.format, plan.n_responses)


def answer_count(fmt: Format, n_responses: int) -> int:
    """How many scores/answers a sample of a protocol of format ``fmt`` judging
    ``n_responses`` responses should carry."""
    if fmt is Format.OPTION:
        return 1
    return max(n_responses, 1)
