"""The judge server under RL trainers' real call patterns (loopback only, bounded).

OpenRLHF 0.11 posts one ``/get_reward`` per finished sample, all at once, retried 5 times 1 s
apart ignoring ``Retry-After``, then keeps ``reward=None``; 0.8 posts the whole batch in one
body.  A VL policy's query is decoded from ids with the image pads expanded.
"""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from flexjudge import Judge
from flexjudge.backends import GenerationRequest, MockBackend
from flexjudge.serve import ServerConfig, create_app
from flexjudge.serve.reward import split_query
from flexjudge.testing import serve_in_thread as serve
from flexjudge.testing._rl_clients import SlowJudgeBackend, rollout


def test_openrlhf_rollout_of_200_loses_no_reward_and_batches() -> None:
    backend = SlowJudgeBackend(per_item=0.05)
    with serve(create_app(Judge(backend))) as base:
        rewards = rollout(base, 200)
    assert sum(r is None for r in rewards) == 0
    assert all(r is not None and 0.0 <= r <= 1.0 for r in rewards)
    assert max(backend.batch_sizes) > 1  # concurrent requests were merged
    assert sum(backend.batch_sizes) == 200


REWARD_BODY = {"query": ["q a"], "prompts": ["q "]}


def held_judge(release: threading.Event) -> Judge:
    """A judge whose every generation waits for ``release``."""

    def responder(request: GenerationRequest, index: int) -> str:
        release.wait(30)
        return "<think>\nok\n</think>\n<answer>5</answer>"

    return Judge(MockBackend(responder=responder))


async def hold(client: httpx.AsyncClient, n: int) -> list[asyncio.Task[httpx.Response]]:
    """``n`` reward requests in flight (admitted or queued) before returning."""
    held = [asyncio.create_task(client.post("/get_reward", json=REWARD_BODY)) for _ in range(n)]
    while (await client.get("/health")).json()["in_flight"] < n:
        await asyncio.sleep(0.005)
    return held


def test_full_queue_answers_429_with_retry_after() -> None:
    release = threading.Event()
    cfg = ServerConfig(max_concurrency=1, queue_depth=2, max_batch=1)
    with serve(create_app(held_judge(release), cfg)) as base:

        async def scenario() -> list[int]:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                held = await hold(client, 3)  # 1 judged + 2 queued: the queue is full
                refused = await client.post("/get_reward", json=REWARD_BODY)
                assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
                assert "queued" in refused.json()["error"]
                release.set()
                return [r.status_code for r in await asyncio.gather(*held)]

        assert asyncio.run(scenario()) == [200, 200, 200]


def test_queue_wait_limit_answers_429() -> None:
    release = threading.Event()
    cfg = ServerConfig(max_concurrency=1, queue_wait=0.2, max_batch=1)
    with serve(create_app(held_judge(release), cfg)) as base:

        async def scenario() -> int:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                (first,) = await hold(client, 1)
                waited = await client.post("/get_reward", json=REWARD_BODY)
                assert "waited" in waited.json()["error"]
                release.set()
                assert (await first).status_code == 200
                return waited.status_code

        assert asyncio.run(scenario()) == 429


def test_openrlhf_08_batch_body_over_4096_is_judged_in_chunks() -> None:
    backend = MockBackend()
    n = 5000
    prompts = [f"<|im_start|>user\nq{i}<|im_end|>\n<|im_start|>assistant\n" for i in range(n)]
    body = {
        "query": [p + f"a{i}<|im_end|>" for i, p in enumerate(prompts)],
        "prompts": prompts,
        "labels": [""] * n,
    }
    app = create_app(Judge(backend, batch_size=256), ServerConfig(reward_chunk=500))
    with serve(app) as base:
        r = httpx.post(base + "/get_reward", json=body, timeout=120)
        assert r.status_code == 200, r.text
        assert len(r.json()["rewards"]) == n
        assert app.state.worker.batches >= n // 500
        # each reward belongs to its own query, in order
        assert "[Question]\nq4999\n" in backend.calls[-1].prompt
        small = create_app(Judge(MockBackend()), ServerConfig(max_reward_queries=10))
    with serve(small) as base:
        r = httpx.post(base + "/get_reward", json={"query": ["x"] * 11}, timeout=30)
    assert r.status_code == 413 and "limit of 10" in r.json()["error"]


def test_vl_policy_query_with_expanded_pads_judges_the_response() -> None:
    prompt = (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        "<|vision_start|><|image_pad|><|vision_end|>What is shown?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    # OpenRLHF decodes the query from ids: the single pad became a run of 64
    query = prompt.replace("<|image_pad|>", "<|image_pad|>" * 64) + "A red square.<|im_end|>"
    assert split_query(query, prompt) == ("What is shown?", "A red square.")
    assert split_query(query, None) == ("What is shown?", "A red square.")
    omni = (
        "<|im_start|>user\n<|audio_bos|>" + "<|AUDIO|>" * 9 + "<|audio_eos|>Transcribe."
        "<|im_end|>\n<|im_start|>assistant\nhello<|endoftext|>"
    )
    omni_prompt = (
        "<|im_start|>user\n<|audio_bos|><|AUDIO|><|audio_eos|>Transcribe.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert split_query(omni, omni_prompt) == (
        "Transcribe.",
        "hello",
    )
    backend = MockBackend()
    with serve(create_app(Judge(backend))) as base:
        r = httpx.post(base + "/get_reward", json={"query": [query], "prompts": [prompt]})
    assert r.status_code == 200
    sent = backend.calls[0].prompt
    assert "A red square." in sent and "image_pad" not in sent and "What is shown?" in sent


def test_normalized_scores_and_failure_value_for_dynamic_filtering() -> None:
    backend = MockBackend(
        outputs=["<think>\nok\n</think>\n<answer>10</answer>", "<think>\nno\n</think>\n"]
    )
    cfg = ServerConfig(reward_scores="normalized", failure_reward=-1.0)
    with serve(create_app(Judge(backend), cfg)) as base:
        out = httpx.post(
            base + "/get_reward", json={"query": ["q a", "q b"], "prompts": ["q ", "q "]}
        ).json()
    assert out["rewards"] == [1.0, -1.0] and out["scores"] == [1.0, -1.0]
    assert out["extra_logs"]["judge_raw_score"] == [10.0, -1.0]
    assert out["extra_logs"]["judge_status_no_answer"] == [0.0, 1.0]


def test_micro_batcher_waits_to_merge_and_respects_max_batch() -> None:
    from flexjudge.judge.types import JudgeItem
    from flexjudge.serve.batch import JudgeWorker

    backend = SlowJudgeBackend(per_item=0.0)

    async def staggered(worker: JudgeWorker, sizes: list[int]) -> list[int]:
        async def one(k: int, n: int) -> int:
            await asyncio.sleep(0.01 * k)
            items = [JudgeItem(f"q{k}.{i}", ["a"], task="score") for i in range(n)]
            return len(await worker.submit(items, 30))

        return list(await asyncio.gather(*(one(k, n) for k, n in enumerate(sizes))))

    merged = JudgeWorker(Judge(backend), max_batch=8, max_wait=0.5)
    assert asyncio.run(staggered(merged, [1, 2, 3])) == [1, 2, 3]
    assert merged.batches == 1 and backend.batch_sizes == [6]
    merged.stop()
    backend.batch_sizes.clear()
    capped = JudgeWorker(Judge(backend), max_batch=2, max_wait=0.5)
    assert asyncio.run(staggered(capped, [1, 1, 1, 5])) == [1, 1, 1, 5]
    assert backend.batch_sizes[:2] == [2, 1] and 5 in backend.batch_sizes  # a big job runs alone
    capped.stop()


def test_reward_protocol_picks_the_scale_and_a_bad_name_fails_at_startup() -> None:
    backend = MockBackend(outputs=["<think>\nok\n</think>\n<answer>4</answer>"])
    cfg = ServerConfig(reward_protocol="score-5", reward_scores="normalized")
    with serve(create_app(Judge(backend), cfg)) as base:
        out = httpx.post(base + "/get_reward", json={"query": ["q a"], "prompts": ["q "]}).json()
    assert out["rewards"] == [0.75] and out["scores"] == [0.75]  # (4 - 1) / (5 - 1)
    assert "1-5" in backend.calls[0].prompt
    from flexjudge.errors import FlexJudgeError

    with pytest.raises((FlexJudgeError, KeyError)):
        create_app(Judge(MockBackend()), ServerConfig(reward_protocol="no-such-protocol"))
