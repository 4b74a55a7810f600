"""Data-parallel judging on local Ray (2 CPU workers) equals a single-process run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray")

from flexjudge import Judge, JudgeItem  # noqa: E402
from flexjudge.backends import MockBackend  # noqa: E402
from flexjudge.runner.ray import run_ray  # noqa: E402
from flexjudge.store import ResultStore  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for r in rows:
        r.pop("seconds", None)
    return rows


def test_two_ray_workers_match_one_process_on_a_tiny_checkpoint(
    local_ray: None, tiny_vl: Path
) -> None:
    from flexjudge.backends._transformers import TransformersBackend

    items = [
        JudgeItem(f"Question {i}?", [f"answer {i}", f"other {i}"], id=str(i)) for i in range(6)
    ]
    options: dict[str, Any] = {
        "temperature": 0.0,
        "max_tokens": 8,
        "batch_size": 1,
        "order": "random",
        "seed": 1,
    }
    single = Judge(TransformersBackend(str(tiny_vl), device="cpu"), **options).run(items)
    sharded = run_ray(
        items,
        model=str(tiny_vl),
        backend="transformers",
        backend_kwargs={"device": "cpu"},
        num_workers=2,
        **options,
    )
    assert [r.id for r in sharded] == [str(i) for i in range(6)]
    assert [[s.order for s in r.samples] for r in sharded] == [
        [s.order for s in r.samples] for r in single
    ]
    assert [[s.text for s in r.samples] for r in sharded] == [
        [s.text for s in r.samples] for r in single
    ]
    assert _strip([r.to_dict() for r in sharded]) == _strip([r.to_dict() for r in single])


def test_ray_workers_share_one_store_and_resume(local_ray: None, tmp_path: Path) -> None:
    items = [{"id": str(i), "question": f"q{i}", "responses": ["a", f"b{i}"]} for i in range(30)]
    store_path = tmp_path / "ray.sqlite"
    first = run_ray(
        items[:20],
        model="mock",
        backend="mock",
        num_workers=2,
        store_path=store_path,
        batch_size=4,
        votes=2,
        swap=True,
    )
    assert len(ResultStore(store_path)) == 20
    both = run_ray(
        items,
        model="mock",
        backend="mock",
        num_workers=2,
        store_path=store_path,
        batch_size=4,
        votes=2,
        swap=True,
    )
    assert len(ResultStore(store_path)) == 30
    assert _strip([r.to_dict() for r in both[:20]]) == _strip([r.to_dict() for r in first])
    local = Judge(MockBackend("mock"), batch_size=4, votes=2, swap=True).run(items)
    assert _strip([r.to_dict() for r in both]) == _strip([r.to_dict() for r in local])
