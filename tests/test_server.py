"""The judge server over real loopback HTTP with a tiny Qwen2.5-VL checkpoint: judge modes,
base64 and multipart media, OpenRLHF rewards, health, OpenAPI, the serve CLI."""

from __future__ import annotations

import base64
import importlib.util
import io
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from flexjudge import Judge
from flexjudge.apps import ServerConfig, create_app
from flexjudge.backends import MockBackend
from flexjudge.errors import InputError
from flexjudge.testing import make_test_image


@contextmanager
def serve(app: Any) -> Iterator[str]:
    import uvicorn

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    started = threading.Event()
    original = server.startup

    async def startup(sockets: Any = None) -> None:
        await original(sockets=sockets)
        started.set()

    server.startup = startup  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert started.wait(30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def png(width: int = 28, height: int = 28) -> bytes:
    buf = io.BytesIO()
    make_test_image(width, height).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def tiny_url(tiny_vl: Path) -> Iterator[str]:
    judge = Judge.from_pretrained(
        str(tiny_vl), backend="transformers", max_tokens=6, temperature=0.0
    )
    with serve(create_app(judge, ServerConfig(), model_name="tiny-vl")) as base:
        yield base


@pytest.mark.slow
def test_tiny_checkpoint_over_http(tiny_url: str) -> None:
    image = {"base64": base64.b64encode(png()).decode()}
    with httpx.Client(base_url=tiny_url, timeout=120) as client:
        health = client.get("/health").json()
        assert health == {"status": "ok", "model": "tiny-vl", "in_flight": 0, "max_concurrency": 64}
        for mode, responses in (
            ("score", ["a cat"]),
            ("compare", ["a cat", "a dog"]),
            ("rank", ["a", "b", "c"]),
        ):
            r = client.post(
                "/v1/judge",
                json={
                    "mode": mode,
                    "question": "What is shown?",
                    "responses": responses,
                    "images": [image],
                },
            )
            assert r.status_code == 200, r.text
            data = r.json()
            assert data["mode"] == mode and data["status"]  # a random model rarely parses
            assert (
                data["protocol"]
                == {"score": "score-10", "compare": "pair-10", "rank": "rank-10"}[mode]
            )
        r = client.post(
            "/v1/judge/upload",
            data={"request": '{"mode": "score", "question": "q", "responses": ["a"]}'},
            files=[("images", ("x.png", png(), "image/png"))],
        )
        assert r.status_code == 200, r.text
        r = client.post(
            "/get_reward",
            json={
                "query": ["<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\nhello<|im_end|>"]
                * 2,
                "prompts": ["<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"] * 2,
                "labels": ["", ""],
                "images": [[image], []],
            },
        )
        assert r.status_code == 200, r.text
        out = r.json()
        assert len(out["rewards"]) == len(out["scores"]) == 2
        assert {"judge_ok", "judge_raw_score", "judge_status_ok"} <= set(out["extra_logs"])
        spec = client.get("/openapi.json").json()
        assert {"/v1/judge", "/v1/judge/upload", "/get_reward", "/health"} <= set(spec["paths"])
        assert "JudgeRequest" in spec["components"]["schemas"]


def test_get_reward_maps_scores_to_unit_interval() -> None:
    backend = MockBackend(
        outputs=[
            "<think>\nok\n</think>\n<answer>10</answer>",
            "<think>\nok\n</think>\n<answer>1</answer>",
            "<think>\nok\n</think>\nno verdict",
        ]
    )
    with serve(create_app(Judge(backend))) as base:
        r = httpx.post(
            base + "/get_reward",
            json={"query": ["q a", "q b", "q c"], "prompts": ["q ", "q ", "q "]},
        )
    out = r.json()
    logs = out.pop("extra_logs")
    assert out == {"rewards": [1.0, 0.0, 0.0], "scores": [10.0, 1.0, 0.0]}
    assert logs["judge_ok"] == [1.0, 1.0, 0.0]
    assert logs["judge_status_ok"] == [1.0, 1.0, 0.0]
    assert logs["judge_status_no_answer"] == [0.0, 0.0, 1.0]
    assert "[Question]\nq\n" in backend.calls[0].prompt  # the prompt prefix is the question
    assert "Answer]\na<|im_end|>" in backend.calls[0].prompt  # the rest is the response


def test_split_query_extracts_last_user_turn() -> None:
    from flexjudge.serve.reward import split_query

    prompt = (
        "<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\nold<|im_end|>\n"
        "<|im_start|>assistant\nx<|im_end|>\n<|im_start|>user\nWhy?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert split_query(prompt + "Because.<|im_end|>", prompt) == ("Why?", "Because.")
    assert split_query("plain text", None) == (None, "plain text")


def test_requests_are_batched_on_one_judge_thread() -> None:
    import asyncio

    backend = MockBackend()
    with serve(create_app(Judge(backend), ServerConfig(max_batch=8))) as base:

        async def many() -> list[int]:
            async with httpx.AsyncClient(base_url=base) as client:
                calls = [
                    client.post(
                        "/v1/judge", json={"mode": "score", "question": f"q{i}", "responses": ["a"]}
                    )
                    for i in range(20)
                ]
                return [r.status_code for r in await asyncio.gather(*calls)]

        assert asyncio.run(many()) == [200] * 20
    assert len(backend.calls) == 20


def test_openai_route_needs_a_backend() -> None:
    with pytest.raises(InputError):
        create_app(Judge(MockBackend()), ServerConfig(openai_compat=True))


@pytest.mark.skipif(
    importlib.util.find_spec("flexjudge.serve.openai_compat") is None,
    reason="flexjudge.serve.openai_compat has not landed",
)
def test_openai_route_is_mounted() -> None:
    backend = MockBackend()
    app = create_app(Judge(backend), ServerConfig(openai_compat=True), backend=backend)
    assert "/v1/chat/completions" in app.openapi()["paths"]


def test_serve_cli_help() -> None:
    from typer.testing import CliRunner

    from flexjudge.cli import app

    res = CliRunner().invoke(app, ["serve", "--help"])
    assert res.exit_code == 0 and "--media-root" in res.output and "127.0.0.1" in res.output
