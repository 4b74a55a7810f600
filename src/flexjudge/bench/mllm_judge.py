"""MLLM-as-a-Judge (spec §7.1): ``score`` (Pearson), ``pair`` (accuracy with/without tie),
``batch`` (normalised Levenshtein of rankings), per ``original_dataset``.

``reference`` mode reproduces ``test/evaluate.py``: pair = signed vote over trials and "Ave"
of per-category accuracies rounded to 3 decimals (Q8); score = −1 for unparsable outputs kept
in the correlation (Q17), Pearson ``nan`` → 0, and the median of r(trial 0), r(0+1 pooled),
r(0+1+2 pooled) (Q7); batch = all ``<answer>`` integers, reverse-letter tie order, maximum of
cumulative means (Q7, Q8).  ``clean`` mode: statistics per trial, then the mean over trials;
unparsable outputs are parse failures (excluded from correlations, wrong for pair/batch).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flexjudge.bench._core import (
    BenchRecord,
    BenchScore,
    Prediction,
    ScoredRow,
    accuracy_ci,
    correlation_ci,
    count_rows,
    group_predictions,
    reasoning_words,
    trials_of,
    word_len_diff,
)
from flexjudge.bench._io import LoadConfig, need, read_records, resolve_media
from flexjudge.bench._metrics import (
    bootstrap_ci,
    median3,
    nan_to_zero,
    normalized_levenshtein,
    pearson,
)
from flexjudge.bench._pairs import positional, unswap
from flexjudge.bench._registry import Benchmark, register_benchmark
from flexjudge.errors import InputError
from flexjudge.protocol import Mode, get_protocol
from flexjudge.protocol._parse import REF_INT

SPLITS = ("pair", "score", "batch")
_PAIR_GOLD = {"A": "A", "B": "B", "C": "tie"}
_VOTE = {"A": -1, "B": 1, "tie": 0}


def _media_root(cfg: LoadConfig, data: Path) -> Path:
    if cfg.media_root is not None:
        return cfg.media_root
    for cand in (data.parent / "image", data.parent.parent / "image"):
        if cand.is_dir():
            return cand
    return data.parent


def load(cfg: LoadConfig) -> list[BenchRecord]:
    """Local ``score.jsonl``/``pair.jsonl``/``batch.jsonl`` (``--data``; a folder is searched
    for ``{split}.jsonl`` / ``{split}_sample.jsonl``).  Known drift is normalised:
    ``human_answer`` → ``human`` and ``image/``-prefixed ``image_path`` (Q19), ``human`` as int
    or str.  A malformed record becomes an error record naming the field."""
    if cfg.data is None:
        raise InputError(
            "MLLM-as-a-Judge has no loadable HF split here; pass --data "
            "(Benchmark/{pair,score,batch}.jsonl of the release)",
            field="data",
        )
    data = cfg.data
    if data.is_dir():
        for name in (
            f"{cfg.split}.jsonl",
            f"{cfg.split}_sample.jsonl",
            f"Benchmark/{cfg.split}.jsonl",
        ):
            if (data / name).is_file():
                data = data / name
                break
    root = _media_root(cfg, data)
    out: list[BenchRecord] = []
    for i, (where, raw) in enumerate(read_records(data)):
        try:
            if isinstance(raw, Exception):
                raise raw
            out.append(_record(cfg.split, raw, where, root, i))
        except InputError as exc:
            rid = (
                str(raw.get("score_id", raw.get("pair_id", raw.get("id", where))))
                if isinstance(raw, dict)
                else where
            )
            out.append(BenchRecord(id=rid, gold=None, error=str(exc)))
        if cfg.limit is not None and len(out) >= cfg.limit:
            break
    return out


def _record(split: str, raw: Any, where: str, root: Path, index: int) -> BenchRecord:
    if isinstance(raw, dict) and "human" not in raw and "human_answer" in raw:
        raw = {**raw, "human": raw["human_answer"]}  # Q19: public release field name
    instruction = need(raw, "instruction", where, str)
    image = need(raw, "image_path", where, str)
    cats = {"original_dataset": str(raw.get("original_dataset", "unknown"))}
    images = [resolve_media(root, image)]
    human = need(raw, "human", where, int, str, float)
    if split == "score":
        rid = str(raw.get("score_id", index))
        try:
            gold = float(str(human).strip())
        except ValueError:
            raise InputError(
                f"human score {human!r} is not a number", record=where, field="human"
            ) from None
        answer = need(raw, "answer", where, str, dict)
        text = answer["answer"] if isinstance(answer, dict) else answer
        return BenchRecord(
            rid, gold, cats, instruction, [str(text)], images=images, meta={"name": raw.get("name")}
        )
    if split == "pair":
        rid = str(raw.get("pair_id", index))
        pair_gold = _PAIR_GOLD.get(str(human).strip())
        if pair_gold is None:
            raise InputError(
                f"expected 'A', 'B' or 'C', got {human!r}", record=where, field="human"
            )
        answers = [need(raw, k, where, dict) for k in ("answer1", "answer2")]
        texts = [str(need(a, "answer", where, str)) for a in answers]
        return BenchRecord(rid, pair_gold, cats, instruction, texts, images=images)
    rid = str(raw.get("id", index))
    answers = need(raw, "answers", where, list)
    texts = []
    for a in answers:
        texts.append(str(a["answer"]) if isinstance(a, dict) and "answer" in a else str(a))
    gold_rank = str(human).strip().upper()
    if sorted(gold_rank) != [chr(65 + i) for i in range(len(texts))]:
        raise InputError(
            f"ranking {human!r} is not a permutation of A..{chr(64 + len(texts))}",
            record=where,
            field="human",
        )
    return BenchRecord(rid, gold_rank, cats, instruction, texts, images=images)


# ---------------------------------------------------------------------------------- scoring
def evaluate(
    split: str, records: Sequence[BenchRecord], preds: Sequence[Prediction], mode: Mode
) -> BenchScore:
    """Score predictions of one split (see the module docstring for the definitions)."""
    if split == "pair":
        return _evaluate_pair(records, preds, mode)
    if split == "score":
        return _evaluate_score(records, preds, mode)
    return _evaluate_batch(records, preds, mode)


def _rows(records: Sequence[BenchRecord], preds: Sequence[Prediction]):  # type: ignore[no-untyped-def]
    grouped = group_predictions(preds)
    trials = trials_of(grouped) or [0]
    for rec in records:
        for t in trials:
            p = grouped.get(rec.id, {}).get(t)
            yield rec, t, p


def _error_row(rec: BenchRecord, t: int, p: Prediction | None) -> ScoredRow | None:
    if rec.error is not None:
        return ScoredRow(rec.id, t, rec.gold, error=rec.error, categories=rec.categories)
    if p is None:
        return ScoredRow(
            rec.id, t, rec.gold, error="no prediction for this trial", categories=rec.categories
        )
    if p.status == "error" or p.text is None:
        return ScoredRow(
            rec.id, t, rec.gold, error=p.error or "no output", categories=rec.categories
        )
    return None


def _evaluate_pair(
    records: Sequence[BenchRecord], preds: Sequence[Prediction], mode: Mode
) -> BenchScore:
    proto = get_protocol("mllm-judge/pair")
    rows: list[ScoredRow] = []
    for rec, t, p in _rows(records, preds):
        err = _error_row(rec, t, p)
        if err is not None:
            rows.append(err)
            continue
        assert p is not None and p.text is not None
        label = p.extra.get("label") if "label" in p.extra else None
        if label is None:
            v = proto.parse(p.text, mode=mode, count=2, finish_reason=p.finish_reason)
            label = v.preference if v.ok else None
        else:
            label = str(label)
        failed = label is None
        first = positional(label)
        if failed and mode == "reference" and "label" not in p.extra:
            label = "tie"  # Q17: unparsable → "C"
        pred = unswap(label, p.order)
        rows.append(
            ScoredRow(
                rec.id,
                t,
                rec.gold,
                pred,
                None if pred is None else pred == rec.gold,
                failed,
                None,
                rec.categories,
                first,
                word_len_diff(rec),
                reasoning_words(p.text),
            )
        )
    cats = sorted({r.categories.get("original_dataset", "all") for r in rows})
    quirks: list[str] = []
    by_tie: dict[str, dict[str, float]] = {}
    by_notie: dict[str, dict[str, float]] = {}
    if mode == "reference":
        quirks = [
            "Q17: unparsable or under-length outputs count as tie 'C'",
            "signed vote over trials (A=-1, B=+1, C=0)",
            "Q8: 'Ave' averages per-category accuracies rounded to 3 decimals",
        ]
        final: dict[str, str | None] = {}
        per_id: dict[str, list[ScoredRow]] = defaultdict(list)
        for r in rows:
            per_id[r.id].append(r)
        for rid, rs in per_id.items():
            if any(r.error is not None for r in rs):
                final[rid] = None
                continue
            s = sum(_VOTE[str(r.pred)] for r in rs)
            final[rid] = "A" if s < 0 else "B" if s > 0 else "tie"
        gold = {r.id: r.gold for r in rows}
        cat_of = {r.id: r.categories.get("original_dataset", "all") for r in rows}
        for c in cats:
            ids = [i for i in final if cat_of[i] == c and final[i] is not None]
            nt = [i for i in ids if gold[i] != "tie"]
            by_tie[c] = {"accuracy": _acc(ids, final, gold), "n": float(len(ids))}
            by_notie[c] = {"accuracy": _acc(nt, final, gold), "n": float(len(nt))}
        ave_t = [round(m["accuracy"], 3) for m in by_tie.values() if not math.isnan(m["accuracy"])]
        ave_n = [
            round(m["accuracy"], 3) for m in by_notie.values() if not math.isnan(m["accuracy"])
        ]
        metrics = {
            "accuracy_tie": round(sum(ave_t) / len(ave_t), 3) if ave_t else math.nan,
            "accuracy_no_tie": round(sum(ave_n) / len(ave_n), 3) if ave_n else math.nan,
        }
    else:
        from flexjudge.bench._core import accuracy_table

        by_tie = accuracy_table(rows, "original_dataset")
        by_notie = accuracy_table(rows, "original_dataset", keep=lambda r: r.gold != "tie")
        metrics = {"accuracy_tie": _macro(by_tie), "accuracy_no_tie": _macro(by_notie)}
    metrics["accuracy"] = metrics["accuracy_tie"]
    ci = accuracy_ci(rows)
    if mode == "reference":  # the CI of the voted verdicts the headline is made of
        voted = [float(final[i] == gold[i]) for i in final if final[i] is not None]
        ci = bootstrap_ci(voted)
    return BenchScore(
        "mllm-judge",
        "pair",
        mode,
        metrics,
        {"accuracy": ci},
        {"original_dataset (w. tie)": by_tie, "original_dataset (w.o. tie)": by_notie},
        count_rows(rows, len(records)),
        quirks,
        rows=rows,
        labels=["A", "B", "tie"],
    )


def _acc(ids: list[str], final: dict[str, str | None], gold: dict[str, Any]) -> float:
    return sum(1 for i in ids if final[i] == gold[i]) / len(ids) if ids else math.nan


def _macro(table: dict[str, dict[str, float]]) -> float:
    vals = [m["accuracy"] for m in table.values() if not math.isnan(m["accuracy"])]
    return sum(vals) / len(vals) if vals else math.nan


def _evaluate_score(
    records: Sequence[BenchRecord], preds: Sequence[Prediction], mode: Mode
) -> BenchScore:
    proto = get_protocol("mllm-judge/score")
    rows: list[ScoredRow] = []
    for rec, t, p in _rows(records, preds):
        err = _error_row(rec, t, p)
        if err is not None:
            rows.append(err)
            continue
        assert p is not None and p.text is not None
        if mode == "reference":
            m = REF_INT.search(p.text)
            value: float | None = float(m.group(1)) if m else -1.0  # Q17
            failed = m is None
        else:
            v = proto.parse(p.text, mode="clean", count=1, finish_reason=p.finish_reason)
            value = v.scores[0] if v.ok else None
            failed = value is None
        rows.append(
            ScoredRow(
                rec.id,
                t,
                rec.gold,
                value,
                None,
                failed,
                None,
                rec.categories,
                reasoning_words=reasoning_words(p.text),
                judge=value,
                human=float(rec.gold),
            )
        )
    trials = sorted({r.trial for r in rows})
    by_cat: dict[str, dict[str, float]] = {}
    quirks: list[str] = []
    cats = sorted({r.categories.get("original_dataset", "all") for r in rows})
    for c in cats:
        crows = [
            r
            for r in rows
            if r.categories.get("original_dataset", "all") == c
            and r.error is None
            and r.judge is not None
        ]
        if mode == "reference":
            pooled_j: list[float] = []
            pooled_h: list[float] = []
            rs = []
            for t in trials:
                pooled_j += [r.judge for r in crows if r.trial == t and r.judge is not None]
                pooled_h += [r.human for r in crows if r.trial == t and r.human is not None]
                rs.append(nan_to_zero(pearson(pooled_j, pooled_h)))
            by_cat[c] = {"pearson": median3(rs), "n": float(len(crows))}
        else:
            per = [
                pearson(
                    [r.judge for r in crows if r.trial == t and r.judge is not None],
                    [r.human for r in crows if r.trial == t and r.human is not None],
                )
                for t in trials
            ]
            per = [x for x in per if not math.isnan(x)]
            by_cat[c] = {
                "pearson": sum(per) / len(per) if per else math.nan,
                "n": float(len(crows)),
            }
    vals = [m["pearson"] for m in by_cat.values() if not math.isnan(m["pearson"])]
    metrics = {"pearson": sum(vals) / len(vals) if vals else math.nan}
    if mode == "reference":
        quirks = [
            "Q17: unparsable outputs score -1 and stay in the correlation",
            "Q7: category r = median of r(trial 0), r(trials 0-1 pooled), "
            "r(trials 0-2 pooled); Pearson nan -> 0",
            "Q8: reference prints categories in set order; sorted here",
        ]
    ci = correlation_ci(rows)
    return BenchScore(
        "mllm-judge",
        "score",
        mode,
        metrics,
        {"pearson": ci["pearson"]},
        {"original_dataset": by_cat},
        count_rows(rows, len(records)),
        quirks,
        rows=rows,
        kind="correlation",
    )


def ranking_letters(scores: Sequence[float], *, reference: bool) -> str:
    """Letters A, B, ... sorted best first; reference: ``sorted(zip(v, letters), reverse=True)``
    (equal scores put the later letter first); clean: ties keep the letter order."""
    letters = [chr(65 + i) for i in range(len(scores))]
    if reference:
        pairs = sorted(zip(scores, letters, strict=True), reverse=True)
        return "".join(letter for _, letter in pairs)
    return "".join(letters[i] for i in sorted(range(len(scores)), key=lambda i: (-scores[i], i)))


def _evaluate_batch(
    records: Sequence[BenchRecord], preds: Sequence[Prediction], mode: Mode
) -> BenchScore:
    proto = get_protocol("mllm-judge/batch")
    rows: list[ScoredRow] = []
    for rec, t, p in _rows(records, preds):
        err = _error_row(rec, t, p)
        if err is not None:
            rows.append(err)
            continue
        assert p is not None and p.text is not None
        if mode == "reference":
            ints = [float(x) for x in REF_INT.findall(p.text)]
            ranking = ranking_letters(ints, reference=True)
            failed = len(ints) != len(rec.responses)
        else:
            v = proto.parse(
                p.text, mode="clean", count=len(rec.responses), finish_reason=p.finish_reason
            )
            ranking = ranking_letters(list(v.scores), reference=False) if v.ok else ""
            failed = not v.ok
        dist = normalized_levenshtein(ranking, str(rec.gold))
        rows.append(
            ScoredRow(
                rec.id,
                t,
                rec.gold,
                ranking,
                None,
                failed,
                None,
                rec.categories,
                reasoning_words=reasoning_words(p.text),
                judge=dist,
            )
        )
    trials = sorted({r.trial for r in rows})
    by_cat: dict[str, dict[str, float]] = {}
    for c in sorted({r.categories.get("original_dataset", "all") for r in rows}):
        crows = [
            r
            for r in rows
            if r.categories.get("original_dataset", "all") == c
            and r.error is None
            and r.judge is not None
        ]
        if mode == "reference":
            seen: list[float] = []
            cumulative = []
            for t in trials:
                seen += [r.judge for r in crows if r.trial == t and r.judge is not None]
                if seen:
                    cumulative.append(sum(seen) / len(seen))
            value = max(cumulative) if cumulative else math.nan
        else:
            per = []
            for t in trials:
                d = [r.judge for r in crows if r.trial == t and r.judge is not None]
                if d:
                    per.append(sum(d) / len(d))
            value = sum(per) / len(per) if per else math.nan
        by_cat[c] = {"levenshtein": value, "n": float(len(crows))}
    vals = [m["levenshtein"] for m in by_cat.values() if not math.isnan(m["levenshtein"])]
    metrics = {"levenshtein": sum(vals) / len(vals) if vals else math.nan}
    quirks = (
        [
            "Q7: cumulative (pooled) means over trials",
            "Q8: category value = max (worst) of the cumulative means",
            "all <answer> integers are used; equal scores rank the later letter first",
        ]
        if mode == "reference"
        else []
    )
    per_item = [sum(v) / len(v) for v in _by_id(rows).values() if v]
    return BenchScore(
        "mllm-judge",
        "batch",
        mode,
        metrics,
        {"levenshtein": bootstrap_ci(per_item)},
        {"original_dataset": by_cat},
        count_rows(rows, len(records)),
        quirks,
        rows=rows,
        kind="distance",
    )


def _by_id(rows: Sequence[ScoredRow]) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        if r.error is None and r.judge is not None:
            out[r.id].append(r.judge)
    return out


BENCHMARK = register_benchmark(
    Benchmark(
        name="mllm-judge",
        description="MLLM-as-a-Judge score/pair/batch (spec 7.1)",
        splits=SPLITS,
        protocols={s: f"mllm-judge/{s}" for s in SPLITS},
        load=load,
        evaluate=evaluate,
        default_trials=3,
    )
)
