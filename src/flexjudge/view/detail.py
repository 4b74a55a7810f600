"""An item's page: question, candidates in the order the judge saw them, media, the rendered
prompt, every vote / budget-forcing round, and the aggregate.

Media are served by number only (``/media/N``): a number is handed out here, for a file an
item references, so the server can only ever send files the loaded results name.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from flexjudge._util.labels import position_label as label
from flexjudge.view.items import ViewItem, verdict_text
from flexjudge.view.sources import ViewSource, chosen_candidate

MediaKind = Literal["image", "video", "audio", "molecule"]
_INPUT_KEYS: tuple[tuple[str, MediaKind], ...] = (
    ("images", "image"),
    ("videos", "video"),
    ("audios", "audio"),
    ("molecules", "molecule"),
)


@dataclass(frozen=True)
class MediaRef:
    kind: MediaKind
    raw: str  # a path (relative to root), a data: URL, or a SMILES string
    root: Path


class MediaIndex:
    """Numbers for the media that loaded items reference (thread-safe)."""

    def __init__(self) -> None:
        self._refs: list[MediaRef] = []
        self._ids: dict[MediaRef, int] = {}
        self._lock = threading.Lock()

    def add(self, ref: MediaRef) -> int:
        with self._lock:
            if ref not in self._ids:
                self._ids[ref] = len(self._refs)
                self._refs.append(ref)
            return self._ids[ref]

    def get(self, number: int) -> MediaRef | None:
        with self._lock:
            return self._refs[number] if 0 <= number < len(self._refs) else None


def _raw_media(value: Any, kind: MediaKind) -> str | None:
    """The string a media entry names: a path, a data URL or (molecules) a SMILES."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        for key in ("smiles",) if kind == "molecule" else ("path", "url"):
            if isinstance(value.get(key), str):
                return str(value[key])
    return None


def media_of(
    inputs: Mapping[str, Any] | None, source: ViewSource, index: MediaIndex
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for key, kind in _INPUT_KEYS:
        values = (inputs or {}).get(key) or []
        for i, value in enumerate(values if isinstance(values, list) else [values]):
            raw = _raw_media(value, kind)
            entry: dict[str, Any] = {"kind": kind, "field": f"{key}[{i}]"}
            if raw is None:
                entry["error"] = "not a path, data URL or SMILES the viewer can show"
            else:
                number = index.add(MediaRef(kind, raw, source.media_root))
                entry["url"] = f"/media/{number}"
                entry["name"] = raw if kind == "molecule" else Path(raw.split(",")[0]).name
                if kind == "molecule":
                    entry["smiles"] = raw
            out.append(entry)
    return out


def _sample_view(sample: Mapping[str, Any], n_responses: int) -> dict[str, Any]:
    from flexjudge.protocol import extract_reasoning

    text = str(sample.get("text") or "")
    verdict = sample.get("verdict") or {}
    order = [int(i) for i in sample.get("order") or range(n_responses)]
    rounds = [
        {"status": r.get("status"), "verdict": _verdict_of(r, order), "answer": r.get("answer")}
        for r in sample.get("rounds") or []
    ]
    return {
        "order": [label(i) for i in order],
        "reasoning": verdict.get("reasoning") or extract_reasoning(text),
        "text": text,
        "status": verdict.get("status"),
        "verdict": _verdict_of(verdict, order),
        "finish_reason": sample.get("finish_reason"),
        "num_tokens": sample.get("num_tokens"),
        "rounds": rounds,
    }


def _verdict_of(verdict: Mapping[str, Any], order: Sequence[int]) -> str:
    """A sample's verdict in presented positions ("first shown wins"), then in caller labels."""
    ranking = verdict.get("ranking")
    if verdict.get("status") == "ok" and isinstance(ranking, list) and len(order) > 2:
        return " > ".join(label(order[p]) for p in ranking if 0 <= p < len(order))
    shown = verdict_text({**verdict, "task": None if len(order) != 1 else "score"})
    pref = verdict.get("preference")
    if pref in ("A", "B") and len(order) == 2:
        caller = label(order[0 if pref == "A" else 1])
        return f"{shown} — shown {'first' if pref == 'A' else 'second'}, response {caller}"
    return shown


def _rendered_prompt(item: ViewItem, responses: list[str]) -> dict[str, Any] | None:
    """The prompt the judge saw (first order), re-rendered; ``matches`` says whether its
    SHA-256 equals the one the result recorded."""
    from flexjudge.errors import FlexJudgeError
    from flexjudge.protocol import PromptInputs, get_protocol

    row, inputs = item.row, item.inputs or {}
    if not item.protocol or "prompt_sha256" not in row:
        return None
    try:
        protocol = get_protocol(item.protocol)
    except FlexJudgeError:
        return None
    samples = row.get("samples") or []
    order = samples[0].get("order") if samples else None
    shown = [responses[i] for i in order] if order else responses
    counts = {f"n_{k}": len(inputs.get(k) or []) for k in ("images", "videos", "audios")}
    recorded = (row.get("prompt_sha256") or [None])[0]
    first: dict[str, Any] | None = None
    for family in protocol.families:
        try:
            rendered = protocol.render(
                PromptInputs(
                    inputs.get("question"),
                    shown,
                    fields=inputs.get("fields") or {},
                    family=family,
                    n_images=counts["n_images"],
                    n_videos=counts["n_videos"],
                    n_audios=counts["n_audios"],
                ),
                mode=row.get("mode", "clean"),
                criteria=row.get("criteria"),
            )
        except (FlexJudgeError, TypeError, ValueError):
            continue
        view = {"text": rendered.text, "family": family, "matches": rendered.sha256 == recorded}
        if view["matches"]:
            return view
        first = first or view
    return first


def item_detail(source: ViewSource, item: ViewItem, index: MediaIndex) -> dict[str, Any]:
    """Everything the item page shows, as JSON-ready data."""
    row = dict(item.row)
    if item.key is not None and source.store_path is not None:
        from flexjudge.store import ResultStore

        with ResultStore(source.store_path) as store:
            row = store.get(item.key) or row
        item = replace(item, row=row)
    inputs = item.inputs or {}
    responses = [str(r) for r in inputs.get("responses") or []]
    detail: dict[str, Any] = {
        "kind": source.kind,
        "idx": item.idx,
        "id": item.id,
        "status": item.status,
        "protocol": item.protocol,
        "verdict": item.verdict,
        "human": item.human,
        "question": inputs.get("question"),
        "responses": [{"label": label(i), "text": t} for i, t in enumerate(responses)],
        "media": media_of(inputs, source, index),
        "raw": row,
    }
    if source.kind in ("judgments", "store"):
        samples = [_sample_view(s, len(responses)) for s in row.get("samples") or []]
        detail["samples"] = samples
        detail["orders"] = sorted({" ".join(s["order"]) for s in samples})
        detail["aggregate"] = {
            k: row.get(k)
            for k in (
                "status",
                "scores",
                "preference",
                "ranking",
                "option",
                "votes",
                "agreement",
                "n_failed",
                "error",
                "sampling",
            )
        }
        detail["prompt"] = _rendered_prompt(item, responses)
    elif source.kind == "bench":
        pred = row.get("prediction") or {}
        detail["samples"] = [
            _sample_view(
                {
                    "text": pred.get("text"),
                    "order": pred.get("order"),
                    "finish_reason": pred.get("finish_reason"),
                },
                2,
            )
        ]
        detail["aggregate"] = row.get("scored")
    elif source.kind == "bon":
        scores = row.get("scores") or []
        labels = row.get("labels") or []
        ranked = sorted(range(len(scores)), key=lambda i: -(scores[i] or float("-inf")))
        detail["candidates"] = [
            {
                "label": label(i),
                "text": responses[i] if i < len(responses) else None,
                "score": scores[i],
                "label_value": labels[i] if i < len(labels) else None,
                "selected": i == chosen_candidate(row.get("selected")),
            }
            for i in ranked
        ]
    elif source.kind == "pairs":
        detail["decision"] = row.get("decision")
        detail["pair"] = row.get("pair")
    return detail
