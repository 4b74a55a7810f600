"""Same command, same results (issue 14 items 11-12): seeded sampling on a tiny model does
not depend on batch size, batch position or interruption, and the summary counts reuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from flexjudge import Judge
from flexjudge.backends import GenerationRequest, SamplingParams, TransformersBackend
from flexjudge.backends._sampler import RowSampler, row_seed
from flexjudge.runner.files import run_items_file
from flexjudge.store import ResultStore

N_ITEMS = 64


@pytest.fixture(scope="module")
def backend(tiny_vl: Path) -> TransformersBackend:
    return TransformersBackend(str(tiny_vl), max_batch_size=16)  # judge batches reach generate


def _items(n: int = N_ITEMS) -> list[dict[str, object]]:
    return [
        {"id": f"i{i}", "question": f"Question {i}: " + "why? " * (i % 7), "responses": [f"a{i}"]}
        for i in range(n)
    ]


def _verdicts(results: list[object]) -> list[tuple[object, ...]]:
    return [
        (r.id, r.status, r.scores, tuple(s.text for s in r.samples))  # type: ignore[attr-defined]
        for r in results
    ]


def test_row_sampler_follows_its_own_generator() -> None:
    logits = torch.randn(3, 50)
    a = RowSampler([1, 2, 3], 0.6, 0.95)(None, logits.clone())
    b = RowSampler([3], 0.6, 0.95)(None, logits[2:].clone())
    assert torch.equal(a[2:], b)  # row 3 alone picks what it picked as the batch's last row
    assert int((a == 0).sum()) == 3 and bool(torch.isinf(a).sum() == 3 * 49)
    assert row_seed(0, "p", 0) != row_seed(0, "p", 1) != row_seed(1, "p", 0)


def test_top_p_keeps_the_smallest_set_reaching_p() -> None:
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    picks = {
        int(RowSampler([seed], 1.0, 0.75)(None, logits.clone()).argmax()) for seed in range(200)
    }
    assert picks == {0, 1}


def test_a_request_samples_the_same_alone_and_in_any_batch(backend: TransformersBackend) -> None:
    sampling = SamplingParams(temperature=0.6, top_p=0.95, max_tokens=12, seed=0, n=2)
    prompts = [f"<|im_start|>user\nJudge answer {i}{'!' * i}<|im_end|>\n" for i in range(6)]
    requests = [GenerationRequest(p + "<|im_start|>assistant\n", sampling) for p in prompts]
    alone = [backend.generate([r])[0] for r in requests]
    backend.max_batch_size = 4
    try:
        batched = backend.generate(list(reversed(requests)))[::-1]
    finally:
        backend.max_batch_size = 16
    assert [[c.token_ids for c in cs] for cs in batched] == [
        [c.token_ids for c in cs] for cs in alone
    ]
    assert alone[0][0].token_ids != alone[0][1].token_ids  # two samples, two streams


@pytest.mark.slow
def test_batch_size_16_and_8_give_identical_results(backend: TransformersBackend) -> None:
    judge = Judge(backend, protocol="score-10", mode="clean", temperature=0.6, max_tokens=24)
    at_16 = judge.run(_items(), batch_size=16)
    at_8 = judge.run(_items(), batch_size=8)
    assert _verdicts(at_16) == _verdicts(at_8)
    assert len({v[3] for v in _verdicts(at_8)}) > N_ITEMS // 2  # really sampled, not one text


@pytest.mark.slow
def test_stop_and_resume_with_another_batch_size_is_identical(
    backend: TransformersBackend, tmp_path: Path
) -> None:
    judge = Judge(backend, protocol="score-10", mode="clean", temperature=0.6, max_tokens=24)
    uninterrupted = judge.run(_items(), batch_size=8)
    store = ResultStore(tmp_path / "s.sqlite")
    judge.run(_items()[:32], batch_size=16, store=store)  # "stopped" after 32 items
    resumed = judge.run(_items(), batch_size=8, store=store)
    assert sum(r.resumed for r in resumed) == 32
    assert _verdicts(resumed) == _verdicts(uninterrupted)


def test_summary_counts_store_hits_across_batch_sizes_and_appended_lines(
    tiny_vl: Path, tmp_path: Path
) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps(i) + "\n" for i in _items(6)))
    options = {"protocol": "score-10", "mode": "clean", "max_tokens": 8}

    def run(batch_size: int) -> dict[str, object]:
        return run_items_file(
            model=str(tiny_vl),
            backend="transformers",
            base_url=None,
            input_path=items,
            output_path=tmp_path / "out.jsonl",
            options={**options, "batch_size": batch_size},
            store_path=tmp_path / "store.sqlite",
        )

    assert run(4)["resumed"] == 0
    again = run(2)
    assert again["resumed"] == 6
    with items.open("a") as fh:
        fh.write(json.dumps(_items(7)[6]) + "\n")
    assert run(2)["resumed"] == 6  # a new run id (the file changed), six results reused
