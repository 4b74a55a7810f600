"""OpenAI-compatible backend against real local HTTP servers on 127.0.0.1 (uvicorn threads)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

fastapi = pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

from flexjudge import Judge  # noqa: E402
from flexjudge.backends import Backend, GenerationRequest, MockBackend, SamplingParams  # noqa: E402
from flexjudge.backends._chat import build_messages, prompt_to_messages  # noqa: E402
from flexjudge.backends._openai import OpenAIBackend  # noqa: E402
from flexjudge.errors import BackendError  # noqa: E402
from flexjudge.serve.openai_compat import make_openai_router  # noqa: E402
from flexjudge.testing import make_test_image  # noqa: E402


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` on a free loopback port in a thread; yield its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    ready = threading.Event()
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        ready.wait(0.01)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def app_for(backend: Backend) -> Any:
    app = fastapi.FastAPI()
    app.include_router(make_openai_router(backend))
    return app


def test_prompt_round_trips_through_messages() -> None:
    prompt = (
        "<|im_start|>system\nJudge.<|im_end|>\n<|im_start|>user\nLook "
        "<|vision_start|><|image_pad|><|vision_end|> then answer<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    img = make_test_image(32, 32)
    messages, continues = build_messages(prompt, "qwen2_5_vl", [img], [], [])
    assert not continues and [m["role"] for m in messages] == ["system", "user"]
    parts = messages[1]["content"]
    assert [p["type"] for p in parts] == ["text", "image_url", "text"]
    assert parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    _, cont = prompt_to_messages(prompt + "<think>\nhmm\nWait")
    assert cont
    with pytest.raises(BackendError, match="placeholders"):
        build_messages(prompt, "qwen2_5_vl", [], [], [])


def test_mock_round_trip_is_exact_and_carries_the_image(tmp_path: Path) -> None:
    server_backend = MockBackend()
    image = make_test_image(48, 40)
    with serve(app_for(server_backend)) as url:
        remote = Judge(OpenAIBackend("mock-judge", base_url=url, api_key="k"), seed=7)
        local = Judge(MockBackend(), seed=7)
        r_remote = remote.compare("Which caption fits?", "a cat", "a dog", images=[image], votes=3)
        r_local = local.compare("Which caption fits?", "a cat", "a dog", images=[image], votes=3)
        remote.backend.close()
    seen = server_backend.calls[0]
    assert seen.prompt == local.backend.calls[0].prompt  # type: ignore[attr-defined]
    assert seen.sampling.n == 3 and seen.sampling.seed == 7
    assert len(seen.images) == 1
    assert np.array_equal(np.asarray(seen.images[0]), np.asarray(image.convert("RGB")))
    assert [s.text for s in r_remote.samples] == [s.text for s in r_local.samples]
    assert r_remote.preference == r_local.preference and r_remote.scores == r_local.scores


def test_budget_forcing_through_assistant_prefill() -> None:
    calls: list[str] = []

    def responder(req: GenerationRequest, index: int) -> str:
        calls.append(req.prompt)
        n = req.prompt.count("Wait")
        return f"thought {n}</think><answer>{n + 3}</answer>"

    with serve(app_for(MockBackend(responder=responder))) as url:
        plain = OpenAIBackend("m", base_url=url)
        assert not plain.supports_continuation
        judge = Judge(
            OpenAIBackend("m", base_url=url, continue_final_message=True), budget_forcing=1
        )
        r = judge.score("q", "a")
        plain.close()
    assert [v.scores for v in r.samples[0].rounds] == [(3.0,), (4.0,)]
    assert calls[1].endswith("thought 0\nWait") and "<|im_end|>" not in calls[1][-20:]


def test_retries_429_then_succeeds_and_gives_up_when_bounded() -> None:
    app = fastapi.FastAPI()
    hits = {"n": 0}
    fail_first = {"n": 2}

    @app.post("/v1/chat/completions")
    def flaky(body: dict[str, Any]) -> Any:
        hits["n"] += 1
        if hits["n"] <= fail_first["n"]:
            return fastapi.responses.JSONResponse(
                {"error": "slow down"}, status_code=429, headers={"Retry-After": "0"}
            )
        return {
            "choices": [
                {"index": 0, "message": {"content": "<answer>5</answer>"}, "finish_reason": "stop"}
            ],
            "usage": {"completion_tokens": 3},
        }

    req = GenerationRequest(
        "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", SamplingParams(n=1)
    )
    with serve(app) as url:
        backend = OpenAIBackend("m", base_url=url, backoff=0.001, max_retries=3)
        out = backend.generate([req])
        assert hits["n"] == 3 and out[0][0].text == "<answer>5</answer>"
        assert out[0][0].num_tokens == 3
        hits["n"], fail_first["n"] = 0, 100
        with pytest.raises(BackendError, match="4 attempts"):
            backend.generate([req])
        assert hits["n"] == 4  # 1 try + 3 retries, then it stops
        backend.close()


def test_bad_requests_get_400_naming_the_field() -> None:
    import httpx

    with serve(app_for(MockBackend())) as url:
        bad = httpx.post(
            f"{url}/chat/completions",
            json={
                "model": "m",
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image_url",
                                "image_url": {"url": "data:image/png;base64,AAAA"},
                            }
                        ],
                    }
                ],
            },
        )
        assert bad.status_code == 400
        assert bad.json()["error"]["param"] == "messages[0].content[0]"
        assert httpx.post(f"{url}/chat/completions", json={}).status_code == 400


@pytest.mark.slow
def test_transformers_backend_over_http_with_an_image(tiny_vl: Path) -> None:
    from flexjudge.backends._transformers import TransformersBackend

    server_backend = TransformersBackend(str(tiny_vl), device="cpu")
    with serve(app_for(server_backend)) as url:
        client = OpenAIBackend("tiny", base_url=url)
        judge = Judge(client, max_tokens=12, temperature=0.0)
        image = make_test_image(56, 56)
        r = judge.score("Describe the image.", "a red square", images=[image])
        direct = Judge(server_backend, max_tokens=12, temperature=0.0).score(
            "Describe the image.", "a red square", images=[image]
        )
        client.close()
    assert len(r.samples) == 1 and r.samples[0].num_tokens > 0
    assert r.samples[0].text == direct.samples[0].text  # greedy: same as in-process
