"""``flexjudge sample``: N candidates per prompt from a policy model, at a list of temperatures
(the paper's DPO data uses 0.8 and 1.2, spec §11.7), for best-of-N and DPO pairs.

Input: JSONL prompts ``{"id", "question"|"prompt", "system"?, "images"?, "molecules"?}``.
Output: one line per prompt, in input order: the input's id, question, media and molecules,
plus ``responses`` (temperature-major: every candidate of the first temperature, then the
next), and per response its ``temperatures``, ``seeds`` and ``finish_reasons``.  That is the
candidates file ``flexjudge bon`` reads, and with one candidate at each of two temperatures
the two-response file ``flexjudge pairs --expect-first`` reads (``responses[0]`` is the
first temperature's sample).  A prompt that cannot be read or generated gets an ``error``
line and no responses (bon/pairs report it as an input error).

Candidate ``k`` of every temperature is seeded with ``seed + k``.  Prompts are rendered with
the policy's own chat template when the backend has one (a system turn when given); images
become image parts and molecules are shown through the policy's molecule view, as for a judge.
With a result store every completion is stored under (policy fingerprint, prompt, media,
sampling), so a rerun reuses finished candidates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexjudge._util.jsonl import read_items, write_jsonl
from flexjudge.backends import Backend, GenerationRequest, SamplingParams
from flexjudge.errors import InputError
from flexjudge.judge.keys import ResultCache
from flexjudge.judge.prepare import (
    ItemMedia,
    PreparedMedia,
    load_media,
    molecule_slots,
    prepare_media,
    resolve_molecule_view,
)
from flexjudge.protocol import fill_molecule_slots, get_protocol, render_chatml

#: media preparation of policy prompts: native image size (a general protocol's spec)
_PREP_PROTOCOL = "score-10"


@dataclass(frozen=True)
class SampleConfig:
    """``n`` candidates per prompt and temperature; ``seed + k`` seeds candidate ``k``."""

    n: int = 1
    temperatures: tuple[float, ...] = (0.8,)
    seed: int = 0
    top_p: float = 1.0
    max_tokens: int = 256
    batch_size: int = 16
    molecule_view: str = "auto"

    def __post_init__(self) -> None:
        if self.n < 1:
            raise InputError("n must be >= 1", field="n")
        if not self.temperatures or any(t < 0 for t in self.temperatures):
            raise InputError("give one or more temperatures >= 0", field="temperatures")
        if self.batch_size < 1:
            raise InputError("batch_size must be >= 1", field="batch_size")


@dataclass
class _Prompt:
    row: dict[str, Any]
    prompt: str
    media: PreparedMedia
    hashes: list[str]


def render_policy_prompt(backend: Backend, system: str | None, user: str, n_images: int) -> str:
    """The policy's generation prompt: its chat template (tokenizer or processor) when the
    backend has one, else ChatML.  Images come first in the user turn."""
    holder = getattr(backend, "processor", None) or getattr(backend, "tokenizer", None)
    if holder is None or getattr(holder, "chat_template", None) is None:
        return render_chatml(system or "You are a helpful assistant.", user)
    content: Any = user
    if n_images:
        content = [{"type": "image"}] * n_images + [{"type": "text", "text": user}]
    messages: list[dict[str, Any]] = [{"role": "user", "content": content}]
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    text: str = holder.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return text


def _prepare(backend: Backend, row: dict[str, Any], cfg: SampleConfig) -> _Prompt:
    rid = str(row.get("id"))
    question = row.get("question", row.get("prompt"))
    if not isinstance(question, str):
        raise InputError("must be a string", record=rid, field="question")
    system = row.get("system")
    if system is not None and not isinstance(system, str):
        raise InputError("must be a string", record=rid, field="system")
    lists: dict[str, list[Any]] = {}
    for key in ("images", "molecules"):
        value = row.get(key, [])
        lists[key] = [value] if isinstance(value, str | dict) else value
        if not isinstance(lists[key], list):
            raise InputError("must be a list", record=rid, field=key)
    mol_prep = None
    if lists["molecules"]:
        from flexjudge.media import MoleculePrep

        view = resolve_molecule_view(cfg.molecule_view, backend.molecule_view, backend.family)
        mol_prep = MoleculePrep(view)  # type: ignore[arg-type]
    item_media: ItemMedia = load_media(
        lists["images"], [], [], record=rid, molecules=lists["molecules"], molecule_prep=mol_prep
    )
    try:
        user = fill_molecule_slots(question, molecule_slots(item_media, record=rid))
    except InputError as exc:
        raise exc.with_context(record=rid, field="molecules") from exc
    prepared = prepare_media(item_media, get_protocol(_PREP_PROTOCOL), "clean", record=rid)
    prompt = render_policy_prompt(backend, system, user, len(prepared.images))
    return _Prompt(row, prompt, prepared, item_media.hashes)


def _key(fingerprint: str, p: _Prompt, sampling: SamplingParams) -> str:
    payload = json.dumps([fingerprint, p.prompt, p.hashes, sampling.to_dict()])
    return "sample:" + hashlib.sha256(payload.encode()).hexdigest()


def sample_candidates(
    backend: Backend,
    rows: Sequence[dict[str, Any] | Exception],
    cfg: SampleConfig,
    *,
    store: ResultCache | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Candidate rows (see the module docstring) and counts: ``generated``, ``from_store``,
    ``failed`` completions and ``errors`` (prompts without candidates)."""
    counts = {"prompts": len(rows), "generated": 0, "from_store": 0, "failed": 0, "errors": 0}
    fingerprint = backend.fingerprint()
    out: list[dict[str, Any]] = []
    for start in range(0, len(rows), cfg.batch_size):
        batch = rows[start : start + cfg.batch_size]
        prompts: list[_Prompt | Exception] = []
        for row in batch:
            if isinstance(row, Exception):
                prompts.append(row)
                continue
            try:
                prompts.append(_prepare(backend, row, cfg))
            except InputError as exc:
                prompts.append(exc)
        out.extend(_generate(backend, prompts, batch, cfg, fingerprint, store, counts))
        if progress is not None:
            progress(min(start + cfg.batch_size, len(rows)), len(rows))
    counts["errors"] = sum(1 for row in out if "error" in row)
    return out, counts


def _generate(
    backend: Backend,
    prompts: list[_Prompt | Exception],
    batch: Sequence[dict[str, Any] | Exception],
    cfg: SampleConfig,
    fingerprint: str,
    store: ResultCache | None,
    counts: dict[str, int],
) -> list[dict[str, Any]]:
    plans = [
        (t, k, SamplingParams(t, cfg.top_p, cfg.max_tokens, seed=cfg.seed + k))
        for t in cfg.temperatures
        for k in range(cfg.n)
    ]
    values: dict[tuple[int, int], dict[str, Any]] = {}
    requests, owners = [], []
    for i, p in enumerate(prompts):
        if isinstance(p, Exception):
            continue
        for j, (_, _, sampling) in enumerate(plans):
            hit = store.get(_key(fingerprint, p, sampling)) if store is not None else None
            if isinstance(hit, dict) and isinstance(hit.get("text"), str):
                values[(i, j)] = hit
                counts["from_store"] += 1
                continue
            m = p.media
            requests.append(
                GenerationRequest(p.prompt, sampling, images=m.images, molecules=m.molecules)
            )
            owners.append((i, j))
    if requests:
        for (i, j), completions in zip(owners, backend.generate(requests), strict=True):
            c = completions[0]
            value = {"text": c.text, "finish_reason": c.finish_reason, "num_tokens": c.num_tokens}
            values[(i, j)] = value
            p = prompts[i]
            if c.finish_reason == "error":
                counts["failed"] += 1
            elif store is not None and isinstance(p, _Prompt):
                store.put(_key(fingerprint, p, plans[j][2]), value)
                counts["generated"] += 1
            else:
                counts["generated"] += 1
    rows = []
    for i, p in enumerate(prompts):
        if isinstance(p, Exception):
            source = batch[i]
            rid = (
                getattr(source, "record", None)
                if isinstance(source, Exception)
                else source.get("id")
            )
            rows.append({"id": rid, "error": str(p)})
            continue
        got = [values[(i, j)] for j in range(len(plans))]
        failed = [v["text"] for v in got if v["finish_reason"] == "error"]
        row = dict(p.row)
        if failed:
            rows.append({"id": row.get("id"), "error": f"generation failed: {failed[0]}"})
            continue
        row["responses"] = [v["text"] for v in got]
        row["temperatures"] = [t for t, _, _ in plans]
        row["seeds"] = [s.seed for _, _, s in plans]
        row["finish_reasons"] = [v["finish_reason"] for v in got]
        rows.append(row)
    return rows


def run_sample_file(
    backend: Backend,
    input_path: Path,
    output_path: Path,
    cfg: SampleConfig,
    *,
    store: ResultCache | None = None,
) -> dict[str, Any]:
    """Read prompts, sample, write the candidates JSONL (whole, then renamed into place)."""
    rows, counts = sample_candidates(backend, read_items(input_path), cfg, store=store)
    write_jsonl(output_path, rows)
    return {"output": str(output_path), **counts}
