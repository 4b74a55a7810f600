"""GenAI-Bench (spec §7.4): image generation, image editing and video generation, judged with
the option verdicts ``[[A>B]]``/``[[B>A]]``/``[[A=B=Good]]``/``[[A=B=Bad]]`` (A = left).

* ``reference`` (``test/evaluate.py``): first ``<answer>[[…]]</answer>``; ``[[A>B]]``/``[[B<A]]``
  → leftvote, ``[[A<B]]``/``[[B>A]]`` → rightvote, ``[[A=B=Good]]`` → tievote, any other
  bracket → bothbad_vote (Q18), none → ``none``.  ``accuracy`` = mean over trials of per-trial
  accuracy; ``majority_accuracy`` = accuracy of the per-item most frequent label
  (``Counter.most_common``: ties go to the label seen first; ``none`` can win).
* ``clean``: the clean option parser; unparsable outputs are parse failures (wrong), and the
  GenAI-Bench equivalences apply (``[[A=B]]`` matches both tie and both-bad votes).
* ``--format genai-bench`` scores the authors' ``pairwise.jsonl`` with GenAI-Bench's own rule:
  the first ``[[…]]`` in ``response`` (greedy within a line) matched against ``human_vote``
  with the table in docs/benchmarks.md; accuracy = mean of correct.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flexjudge.bench._core import (
    BenchRecord,
    BenchScore,
    Prediction,
    ScoredRow,
    accuracy_ci,
    count_rows,
    group_predictions,
    reasoning_words,
    trials_of,
)
from flexjudge.bench._formats import media_cell
from flexjudge.bench._io import (
    LoadConfig,
    collect_records,
    hf_rows,
    need,
    read_records,
    resolve_media,
)
from flexjudge.bench._registry import Benchmark, register_benchmark
from flexjudge.bench._trials import scorable_trials
from flexjudge.errors import InputError
from flexjudge.protocol import Mode, get_protocol

HF_ID = "TIGER-Lab/GenAI-Bench"
SPLITS = ("image", "editing", "video")
HF_CONFIG = {"image": "image_generation", "editing": "image_edition", "video": "video_generation"}
VOTES = ("leftvote", "rightvote", "tievote", "bothbad_vote")
#: GenAI-Bench ``parse_response``: the verdict tokens that count as correct for each vote
EQUIVALENT = {
    "leftvote": frozenset({"[[A>B]]", "[[A>>B]]"}),
    "rightvote": frozenset({"[[B>A]]", "[[B>>A]]"}),
    "tievote": frozenset({"[[A=B=Good]]", "[[A=B]]"}),
    "bothbad_vote": frozenset({"[[A=B=Bad]]", "[[A=B]]"}),
}
_FIRST_BRACKET = re.compile(r"\[\[.*\]\]")
_REFERENCE_VOTE = {
    "A>B": "leftvote",
    "B>A": "rightvote",
    "A=B=Good": "tievote",
    "A=B=Bad": "bothbad_vote",
}
_CLEAN_TOKEN = {
    "A>B": "[[A>B]]",
    "B>A": "[[B>A]]",
    "A=B=Good": "[[A=B=Good]]",
    "A=B=Bad": "[[A=B=Bad]]",
    "A=B": "[[A=B]]",
}
_FIRST_SHOWN = {
    "leftvote": "first",
    "rightvote": "second",
    "[[A>B]]": "first",
    "[[B>A]]": "second",
    "[[A>>B]]": "first",
    "[[B>>A]]": "second",
}
_MEDIA = {
    "image": ("images", ("left_image", "right_image")),
    "editing": ("images", ("source_image", "left_output_image", "right_output_image")),
    "video": ("videos", ("left_video", "right_video")),
}


def load(cfg: LoadConfig) -> list[BenchRecord]:
    """``--data``: the HF release of the split's config (parquet file, parquet/arrow or
    ``save_to_disk`` folder) or JSON/JSONL rows of the HF schema (``vote_type`` or
    ``human_vote``).  Media cells are ``{bytes, path}`` dicts, PIL images, paths (relative to
    ``--media-root``/the file's folder) or URLs (the video split's), which are read from the
    local mirror ``--media-root`` with the URL path kept.  Without ``--data``: HF
    ``test_v1``."""
    if cfg.data is None:
        rows = hf_rows(HF_ID, "test_v1", HF_CONFIG[cfg.split])
        root: Path | None = None
    else:
        rows = read_records(cfg.data, "test_v1")
        root = cfg.media_root or (cfg.data if cfg.data.is_dir() else cfg.data.parent)

    def record_id(i: int, raw: Any) -> str:
        return str(raw.get("idx", i)) if isinstance(raw, dict) else str(i)

    def build(row: tuple[int, tuple[str, Any]]) -> BenchRecord:
        i, (where, raw) = row
        if isinstance(raw, Exception):
            raise raw
        return _record(cfg.split, raw, where, root, cfg.media_root, record_id(i, raw))

    def failed(row: tuple[int, tuple[str, Any]], exc: InputError) -> BenchRecord:
        i, (_, raw) = row
        return BenchRecord(record_id(i, raw), None, error=str(exc))

    return collect_records(enumerate(rows), build, failed, cfg.limit)


def _record(
    split: str, raw: Any, where: str, root: Path | None, media_root: Path | None, rid: str
) -> BenchRecord:
    vote = raw.get("vote_type", raw.get("human_vote")) if isinstance(raw, dict) else None
    if vote not in VOTES:
        raise InputError(f"expected one of {VOTES}, got {vote!r}", record=where, field="vote_type")
    slot, keys = _MEDIA[split]
    media = []
    for key in keys:
        media.append(
            media_cell(
                need(raw, key, where),
                root=root,
                media_root=media_root,
                where=where,
                field=key,
                resolve=resolve_media,
            )
        )
    fields: dict[str, str] = {}
    question: str | None = None
    if split == "editing":
        fields = {
            k: str(need(raw, k, where, str))
            for k in ("source_prompt", "target_prompt", "instruct_prompt")
        }
    else:
        question = need(raw, "prompt", where, str)
    rec = BenchRecord(rid, vote, {}, question, [], fields=fields)
    setattr(rec, slot, media)
    return rec


def orders(records: Sequence[BenchRecord], trial: int, mode: str) -> list[tuple[int, ...]]:
    return [(0, 1) for _ in records]


def _vote_of(p: Prediction, mode: Mode, protocol: str) -> tuple[str | None, bool]:
    """``(label or verdict token, parsed)``: reference labels are vote names (``none`` when
    unparsable); clean labels are ``[[…]]`` tokens matched through :data:`EQUIVALENT`."""
    v = p.parse(get_protocol(protocol), mode)
    if mode == "reference":
        if not v.ok or v.option is None:
            return "none", False
        return _REFERENCE_VOTE.get(v.option, "bothbad_vote"), True
    if not v.ok or v.option is None:
        return None, False
    return _CLEAN_TOKEN.get(v.option), True


def _correct(label: str | None, gold: str, mode: Mode) -> bool:
    if label is None:
        return False
    if label.startswith("[["):
        return label in EQUIVALENT[gold]
    return label == gold


def evaluate(
    split: str, records: Sequence[BenchRecord], preds: Sequence[Prediction], mode: Mode
) -> BenchScore:
    grouped = group_predictions(preds)
    trials = trials_of(grouped) or [0]
    protocol = f"genai-bench/{split}"
    rows: list[ScoredRow] = []
    for rec, t, p, text in scorable_trials(records, preds, rows):
        if "correct" in p.extra:
            label, parsed = p.extra.get("label"), p.extra.get("label") is not None
            correct = bool(p.extra["correct"])
        else:
            label, parsed = _vote_of(p, mode, protocol)
            correct = _correct(label, str(rec.gold), mode)
        first = _FIRST_SHOWN.get(label or "", "tie" if parsed else None)
        rows.append(
            ScoredRow(
                rec.id,
                t,
                rec.gold,
                label,
                correct,
                not parsed,
                None,
                rec.categories,
                first,
                None,
                reasoning_words(text),
            )
        )
    per_trial: dict[int, list[bool]] = defaultdict(list)
    for r in rows:
        if r.error is None:
            per_trial[r.trial].append(bool(r.correct))
    accs = [sum(v) / len(v) for v in per_trial.values() if v]
    metrics = {"accuracy": sum(accs) / len(accs) if accs else float("nan")}
    if len(trials) > 1:
        metrics["majority_accuracy"] = _majority(rows, mode)
    quirks = (
        ["Q18: any unrecognised [[...]] verdict counts as bothbad_vote; no match is 'none' (wrong)"]
        if mode == "reference"
        else []
    )
    return BenchScore(
        "genai-bench",
        split,
        mode,
        metrics,
        {"accuracy": accuracy_ci(rows)},
        {},
        count_rows(rows, len(records)),
        quirks,
        rows=rows,
        labels=[*list(VOTES), "none"],
    )


def _majority(rows: Sequence[ScoredRow], mode: Mode) -> float:
    per: dict[str, list[ScoredRow]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: r.trial):
        if r.error is None:
            per[r.id].append(r)
    if not per:
        return float("nan")
    hits = 0
    for rs in per.values():
        labels = [r.pred for r in rs if mode == "reference" or r.pred is not None]
        if not labels:
            continue
        top = Counter(labels).most_common(1)[0][0]
        hits += _correct(top, str(rs[0].gold), mode)
    return hits / len(per)


def _checked_vote(raw: Any, where: str) -> tuple[str, str]:
    """``(human_vote, response)`` or :class:`InputError` naming the bad field."""
    if isinstance(raw, Exception):
        raise raw
    vote = need(raw, "human_vote", where, str)
    if vote not in VOTES:
        raise InputError(f"expected one of {VOTES}, got {vote!r}", record=where, field="human_vote")
    return vote, need(raw, "response", where, str)


def convert_pairwise(
    path: Path, split: str, cfg: LoadConfig
) -> tuple[list[BenchRecord], list[Prediction]]:
    """GenAI-Bench ``results/<task>/<judge>/pairwise.jsonl`` (``response``, ``human_vote``)
    scored with GenAI-Bench's own parsing and equivalences."""
    records: list[BenchRecord] = []
    preds: list[Prediction] = []
    for pos, (where, raw) in enumerate(read_records(path)):
        is_dict = type(raw) is dict
        rid = str(raw.get("idx", pos)) if is_dict else str(pos)
        vote, response = (raw.get("human_vote"), raw.get("response")) if is_dict else (None, None)
        if vote not in EQUIVALENT or type(response) is not str:
            try:
                vote, response = _checked_vote(raw, where)
            except InputError as exc:
                records.append(BenchRecord(rid, None, error=str(exc)))
                continue
        m = _FIRST_BRACKET.search(response)
        token = m.group(0) if m else None
        records.append(BenchRecord(rid, vote, {}, raw.get("prompt")))
        preds.append(
            Prediction(
                rid,
                0,
                response,
                extra={"label": token, "correct": token is not None and token in EQUIVALENT[vote]},
            )
        )
    return records, preds


BENCHMARK = register_benchmark(
    Benchmark(
        name="genai-bench",
        description="GenAI-Bench image/editing/video option verdicts, 7 trials (spec 7.4)",
        splits=SPLITS,
        protocols={s: f"genai-bench/{s}" for s in SPLITS},
        load=load,
        evaluate=evaluate,
        default_trials=7,
        settings=(
            "Table 6/3: 7 samples per item in a fixed order; accuracy averaged over the "
            "samples and the majority vote over the 7 (majority_accuracy)"
        ),
        orders=orders,
        hf_id=HF_ID,
        formats={"genai-bench": convert_pairwise},
        media_slot="images",
    )
)
