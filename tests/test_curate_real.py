"""The agreement filter on real data: the PandaLM test set with JudgeLRM-7B's outputs.

PandaLM has no GPT-4 scores, so the reference for these tests is defined explicitly:

* ``direction``: JudgeLRM-7B's preference (from its first two ``<answer>N</answer>`` tags)
  against the majority of PandaLM's three human annotators (0 tie, 1, 2).
* ``exact``: JudgeLRM-7B's two scores against JudgeLRM-3B's two scores for the same row
  (3B writes ``<answer> 9 </answer>``, so the reference scores are read with a pattern that
  allows spaces; rows where 3B has fewer than two scores get no reference).

The generations are written in the reference layout (``prompt`` = the teacher prompt of the
row, ``text`` = the output without ``<|im_end|>``), aligned by position with the input, and
each expected count comes from an independent loop in the test that uses only ``json``,
``re`` and ``collections``.  On the shared 800 rows the loops give: direction — 623 kept,
177 rejected (all disagreements; every 7B output has two scores); exact vs. 3B — 193 kept,
607 rejected (all disagreements; 3B always has two scores), and the 193 kept rows hold 184
distinct prompts (the test set repeats some question/response triples).  The tests assert
the library equals the loops, and the loops equal those numbers.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from conftest import shared_path
from flexjudge.curate import CurateRecord, SelectConfig, iter_records, select, teacher_prompt


def _load(*parts: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(shared_path(*parts).read_text(encoding="utf-8"))
    return data


def _write_generations(tmp: Path, input_path: Path, outputs: list[str]) -> Path:
    records = [r for r in iter_records(input_path) if isinstance(r, CurateRecord)]
    assert len(records) == len(outputs)
    path = tmp / "judgelrm7b_gen.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for record, output in zip(records, outputs, strict=True):
            text = output.replace("<|im_end|>", "").strip()
            row = {"prompt": teacher_prompt(record), "text": text, "tokens": []}
            handle.write(json.dumps(row) + "\n")
    return path


def test_direction_filter_pandalm_majority_matches_hand_count(tmp_path: Path) -> None:
    """Hand count: for each row, majority = the label >= 2 annotators gave; p = the ints of
    ``<answer>(\\d+)</answer>`` in 7B's output; kept iff len(p) >= 2 and
    sign(p[0] - p[1]) (1, 2 or 0 for a tie) == majority."""
    test_path = shared_path("data", "pandalm", "testset-v1.json")
    rows = _load("data", "pandalm", "testset-v1.json")
    outputs = [r["output"] for r in _load("data", "judgelrm", "results_judgelrm7b.json")]
    kept = fewer = disagree = 0
    for row, output in zip(rows, outputs, strict=True):
        votes = Counter([row["annotator1"], row["annotator2"], row["annotator3"]])
        label, n = votes.most_common(1)[0]
        assert n >= 2  # the shared rows always have a majority
        p = [int(x) for x in re.findall(r"<answer>(\d+)</answer>", output)]
        if len(p) < 2:
            fewer += 1
            continue
        pred = 1 if p[0] > p[1] else 2 if p[1] > p[0] else 0
        if pred == label:
            kept += 1
        else:
            disagree += 1
    assert (kept, disagree, fewer) == (623, 177, 0)

    gen = _write_generations(tmp_path, test_path, outputs)
    report = select(test_path, [gen], SelectConfig(agreement="direction"))
    st = report.stats
    assert st.rows == st.generations == 800
    assert st.kept == kept
    assert sum(st.rejected.values()) == disagree + fewer
    assert st.rejected["disagreement"] == disagree
    assert st.rejected["fewer_than_two_scores"] == fewer
    # 7B's outputs have no reasoning, so the final policy has nothing to use
    assert st.no_final_format == st.prompts
    assert report.samples == []
    assert report.shortfall == {"single": 500, "pair": 500}


def test_exact_filter_7b_against_3b_scores_matches_hand_count(tmp_path: Path) -> None:
    """Hand count: ref = ints of ``<answer>\\s*(\\d+)\\s*</answer>`` in 3B's output (no
    reference when fewer than two); p as above for 7B; kept iff p[0] == ref[0] and
    p[1] == ref[1].  Like the reference code (and the library), 7B's own scores are checked
    before the reference: an output with fewer than two scores is never a no-reference case."""
    rows = _load("data", "pandalm", "testset-v1.json")
    out7 = [r["output"] for r in _load("data", "judgelrm", "results_judgelrm7b.json")]
    out3 = [r["output"] for r in _load("data", "judgelrm", "results_judgelrm3b.json")]
    input_path = tmp_path / "pandalm_as_judgelm.jsonl"
    kept = fewer = disagree = no_ref = 0
    kept_keys: set[tuple[str, str, str]] = set()
    with input_path.open("w", encoding="utf-8") as handle:
        for row, o7, o3 in zip(rows, out7, out3, strict=True):
            ref = [int(x) for x in re.findall(r"<answer>\s*(\d+)\s*</answer>", o3)]
            question = row["instruction"] + ("\n\n" + row["input"] if row["input"] else "")
            obj: dict[str, Any] = {
                "question_id": row["idx"],
                "question_body": question,
                "answer1_body": row["response1"],
                "answer2_body": row["response2"],
            }
            if len(ref) >= 2:
                obj["score"] = ref[:2]
            handle.write(json.dumps(obj) + "\n")
            p = [int(x) for x in re.findall(r"<answer>(\d+)</answer>", o7)]
            if len(p) < 2:
                fewer += 1
            elif len(ref) < 2:
                no_ref += 1
            elif p[0] == ref[0] and p[1] == ref[1]:
                kept += 1
                kept_keys.add((question, str(row["response1"]), str(row["response2"])))
            else:
                disagree += 1
    assert (kept, disagree, no_ref, fewer) == (193, 607, 0, 0)

    gen = _write_generations(tmp_path, input_path, out7)
    report = select(input_path, [gen], SelectConfig(agreement="exact"))
    st = report.stats
    assert st.kept == kept
    assert sum(st.rejected.values()) == disagree + no_ref + fewer
    assert st.rejected["disagreement"] == disagree
    assert st.rejected["no_reference"] == no_ref
    assert st.rejected["fewer_than_two_scores"] == fewer
    # rows repeating a (question, response1, response2) triple share one prompt
    assert (len(kept_keys), st.prompts) == (184, 184)
    # the same 7B file twice: every prompt's two candidates tie, so file 0 wins them all
    report2 = select(input_path, [gen, gen], SelectConfig(agreement="exact"))
    assert report2.stats.kept == 2 * kept
    assert report2.stats.winners_by_file == [len(kept_keys), 0]


def test_single_score_cut_on_real_r1_reasoning() -> None:
    """DeepSeek-R1's full reasoning on PandaLM rows 0 and 1: the Assistant-1 part is a
    sentence-aligned slice that stops before Assistant 2 is first discussed."""
    from flexjudge.curate import first_answer_reasoning, split_trace

    records = _load("data", "judgelrm", "results_r1_sample.json")
    starts = ["Okay, let's see.", "Looking at Assistant 1's answer:"]
    for record, start in zip(records, starts, strict=True):
        output = record["output"].split("<think>", 1)[-1]
        trace = split_trace(output)
        assert trace is not None and len(trace.scores) == 2
        part = first_answer_reasoning(trace.reasoning)
        assert part is not None and part.startswith(start)
        assert part in trace.reasoning
        assert "Assistant 2" not in part and "Assistant 1" in part
        end = trace.reasoning.index(part) + len(part)
        assert trace.reasoning.find("Assistant 2") >= end  # nothing about 2 is cut off early
        assert len(part.split()) > 100
