"""The server's OpenAI-compatible ``/v1/chat/completions``: validation, limits, streaming with
the official ``openai`` client, usage and the checkpoint's own chat template."""

from __future__ import annotations

import asyncio
import base64
import io
import struct
import threading
import zlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from flexjudge import Judge
from flexjudge.backends import GenerationRequest, MockBackend
from flexjudge.serve import ServerConfig, create_app
from flexjudge.testing import make_test_image
from flexjudge.testing import serve_in_thread as serve

openai = pytest.importorskip("openai")


def app_for(backend: Any, **cfg: Any) -> Any:
    return create_app(Judge(backend), ServerConfig(openai_compat=True, **cfg), backend=backend)


def png_b64(side: int = 28) -> str:
    buf = io.BytesIO()
    make_test_image(side, side).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def huge_png_header(width: int, height: int) -> str:
    """A PNG whose header claims ``width x height`` (no pixel data worth decoding)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
    return "data:image/png;base64," + base64.b64encode(raw + chunk(b"IEND", b"")).decode()


def chat(**extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "hi"}], **extra}


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": ["x"], "continue_final_message": True}, "messages.0"),
        (
            {
                "messages": [
                    {"role": "user", "content": [{"type": "image_url", "image_url": "x.png"}]}
                ]
            },
            "messages.0.content",
        ),
        (chat(max_tokens=0), "max_tokens"),
        (chat(seed="abc"), "seed"),
        (chat(temperature="nan"), "temperature"),
        (chat(n=100000), "n"),
        (chat(max_tokens=10**6), "max_tokens"),
        (chat(tools=[{"type": "function"}], response_format={"type": "json_object"}), "tools"),
        (chat(logprobs=True), ""),
        ({}, "messages"),
    ],
)
def test_malformed_bodies_get_400_naming_the_field(body: dict[str, Any], param: str) -> None:
    with serve(app_for(MockBackend())) as base:
        r = httpx.post(base + "/v1/chat/completions", json=body, timeout=30)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert (error["param"] or "").startswith(param)
    if "tools" in body:
        assert "tools" in error["message"] and "response_format" in error["message"]


def test_image_over_the_pixel_limit_is_refused_from_its_header() -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": huge_png_header(13000, 13000)}}
                ],
            }
        ]
    }
    with serve(app_for(MockBackend())) as base:
        r = httpx.post(base + "/v1/chat/completions", json=body, timeout=30)
        assert r.status_code == 400 and "pixels" in r.json()["error"]["message"]
        too_many = {
            "messages": [
                {
                    "role": "user",
                    "content": [{"type": "image_url", "image_url": {"url": png_b64()}}] * 17,
                }
            ]
        }
        r = httpx.post(base + "/v1/chat/completions", json=too_many, timeout=30)
        assert r.status_code == 400 and "media" in r.json()["error"]["message"]


def test_route_shares_the_admission_queue() -> None:
    release = threading.Event()

    def responder(request: GenerationRequest, index: int) -> str:
        release.wait(30)
        return "done"

    backend = MockBackend(responder=responder)
    with serve(app_for(backend, max_concurrency=1, queue_depth=0)) as base:

        async def scenario() -> tuple[int, int]:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                held = asyncio.create_task(client.post("/v1/chat/completions", json=chat()))
                while (await client.get("/health")).json()["in_flight"] < 1:
                    await asyncio.sleep(0.005)
                busy = await client.post("/v1/chat/completions", json=chat())
                assert busy.headers["retry-after"]
                release.set()
                return busy.status_code, (await held).status_code

        assert asyncio.run(scenario()) == (429, 200)


def test_official_client_streams_and_developer_role_renders_as_system() -> None:
    backend = MockBackend(outputs=["streamed answer"])
    with serve(app_for(backend)) as base:
        client = openai.OpenAI(base_url=base + "/v1", api_key="k", max_retries=0)
        stream = client.chat.completions.create(
            model="m",
            messages=[
                {"role": "developer", "content": "Be brief."},
                {"role": "user", "content": "hi"},
            ],
            stream=True,
            stream_options={"include_usage": True},
            max_tokens=16,
        )
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "streamed answer"
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens >= 0
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
        done = client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "x"}]
        )
        assert done.choices[0].message.content == "streamed answer"
    first = backend.calls[0].prompt
    assert first.startswith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi")
    # no system message: the Qwen default system turn, as the checkpoint's template adds it
    assert backend.calls[1].prompt.startswith(
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nx"
    )


@pytest.mark.slow
def test_tiny_checkpoint_uses_its_chat_template_and_real_usage(tiny_vl: Path) -> None:
    from flexjudge.backends import load_backend

    backend = load_backend("transformers", str(tiny_vl))
    tokenizer = backend.tokenizer  # type: ignore[attr-defined]
    with serve(app_for(backend)) as base:
        client = openai.OpenAI(base_url=base + "/v1", api_key="k", max_retries=0)
        image = {"type": "image_url", "image_url": {"url": png_b64(56)}}
        messages: Any = [{"role": "user", "content": [image, {"type": "text", "text": "What?"}]}]
        out = client.chat.completions.create(
            model="tiny", messages=messages, max_tokens=5, temperature=0
        )
    expected = tokenizer.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What?"}]}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert "You are a helpful assistant." in expected
    text_only = len(tokenizer(expected, add_special_tokens=False)["input_ids"])
    # a 56x56 image is 4 merged patches: its one <|image_pad|> is read as 4 tokens
    image = make_test_image(56, 56)
    n_prompt = backend.count_prompt_tokens(GenerationRequest(expected, images=[image]))
    assert n_prompt == text_only + 3
    assert out.usage is not None and out.usage.prompt_tokens == n_prompt
    assert 1 <= out.usage.completion_tokens <= 5
    assert out.usage.total_tokens == n_prompt + out.usage.completion_tokens


def test_a_failed_generation_is_a_502_never_content() -> None:
    from flexjudge.backends import Completion

    class Failing(MockBackend):
        def generate(self, requests: Any) -> list[list[Completion]]:
            return [[Completion("upstream said 422", "error")] for _ in requests]

    with serve(app_for(Failing())) as base:
        r = httpx.post(base + "/v1/chat/completions", json=chat(), timeout=30)
    assert r.status_code == 502 and "upstream said 422" in r.json()["error"]["message"]
