"""Hostile input for the judge server over real loopback HTTP (mock judge): path traversal,
symlinks, oversized bodies, corrupt media, wrong types, overload, 1,000 concurrent requests,
and schemathesis fuzzing of the OpenAPI spec.  No response may be a 5xx and no file outside
the media root may be opened."""

from __future__ import annotations

import asyncio
import base64
import builtins
import io
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, settings

from flexjudge import Judge
from flexjudge.apps import ServerConfig, create_app
from flexjudge.backends import GenerationRequest, MockBackend, default_judge_text
from flexjudge.testing import make_test_image


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port in a background thread."""
    import uvicorn

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", backlog=2048)
    )
    started = threading.Event()
    original = server.startup

    async def startup(sockets: Any = None) -> None:
        await original(sockets=sockets)
        started.set()

    server.startup = startup  # type: ignore[method-assign]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    assert started.wait(30), "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def png_bytes(width: int = 24, height: int = 24) -> bytes:
    buf = io.BytesIO()
    make_test_image(width, height).save(buf, format="PNG")
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every path the process opens while the test runs (builtins.open and os.open)."""
    seen: list[str] = []
    real_open, real_os_open = builtins.open, os.open

    def spy_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, str | bytes | os.PathLike):
            seen.append(os.path.realpath(os.fsdecode(file)))
        return real_open(file, *args, **kwargs)

    def spy_os_open(path: Any, *args: Any, **kwargs: Any) -> int:
        seen.append(os.path.realpath(os.fsdecode(path)))
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy_open)
    monkeypatch.setattr(io, "open", spy_open)
    monkeypatch.setattr(os, "open", spy_os_open)
    return seen


@pytest.fixture
def layout(tmp_path: Path) -> dict[str, Path]:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "ok.png").write_bytes(png_bytes())
    secret = tmp_path / "secret.png"  # the canary: a valid image outside the root
    secret.write_bytes(png_bytes())
    (root / "link.png").symlink_to(secret)
    (root / "sub" / "inner.png").symlink_to(root / "ok.png")  # a symlink that stays inside
    return {"root": root, "secret": secret}


@pytest.fixture
def url(layout: dict[str, Path]) -> Iterator[str]:
    cfg = ServerConfig(
        media_root=layout["root"], max_body_bytes=200_000, max_media=3, max_pixels=64 * 64
    )
    with serve(create_app(Judge(MockBackend()), cfg)) as base:
        yield base


def body(**kw: Any) -> dict[str, Any]:
    return {"mode": "score", "question": "Is it red?", "responses": ["yes"]} | kw


def test_paths_stay_under_the_media_root(
    url: str, layout: dict[str, Path], opened: list[str]
) -> None:
    secret = str(layout["secret"])
    hostile = [
        "../secret.png",
        "sub/../../secret.png",
        secret,
        "link.png",
        "/etc/passwd",
        "sub/../ok.png",
        "missing.png",
        "sub",
        "",
        "ok.png\x00.txt",
    ]
    with httpx.Client(base_url=url) as client:
        for p in hostile:
            r = client.post("/v1/judge", json=body(images=[{"path": p}]))
            assert r.status_code in (403, 413, 422), (p, r.status_code, r.text)
            assert r.json()["error"], p
        for p in ("ok.png", "sub/inner.png", str(layout["root"] / "ok.png")):
            r = client.post("/v1/judge", json=body(images=[{"path": p}]))
            assert r.status_code == 200, (p, r.text)
            assert r.json()["status"] == "ok"
    assert secret not in opened and "/etc/passwd" not in opened


def test_paths_refused_without_media_root_and_urls_never_fetched(
    layout: dict[str, Path], opened: list[str]
) -> None:
    with serve(create_app(Judge(MockBackend()))) as base, httpx.Client(base_url=base) as c:
        r = c.post("/v1/judge", json=body(images=[{"path": str(layout["root"] / "ok.png")}]))
        assert r.status_code == 403 and "media-root" in r.json()["error"]
        r = c.post("/v1/judge", json=body(images=[{"url": "http://169.254.169.254/x.png"}]))
        assert r.status_code == 403 and "URL" in r.json()["error"]
    assert str(layout["root"] / "ok.png") not in opened


def test_oversized_bodies(url: str) -> None:
    big = body(question="x" * 300_000)
    with httpx.Client(base_url=url) as client:
        r = client.post("/v1/judge", json=big)
        assert r.status_code == 413 and "over" in r.json()["error"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: the stream itself is counted
            yield b'{"mode": "score", "question": "'
            for _ in range(50):
                yield b"y" * 10_000
            yield b'", "responses": ["a"]}'

        r = client.post("/v1/judge", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413


def test_corrupt_media_and_limits(url: str) -> None:
    cases = [
        (body(images=[{"base64": "not base64 !!!"}]), 422, "base64"),
        (body(images=[{"base64": b64(b"GIF89a but not really an image")}]), 422, "images[0]"),
        (body(images=[{"base64": b64(png_bytes()[:40])}]), 422, "images[0]"),
        (body(images=[{"base64": "data:image/png;base64"}]), 422, "data URI"),
        (body(images=[{"base64": b64(png_bytes(100, 100))}]), 413, "limit"),
        (body(images=[{"base64": b64(png_bytes())}] * 4), 413, "media"),
        (body(videos=[{"base64": b64(b"\x00\x00\x00\x18ftypmp42 broken")}]), 422, "videos[0]"),
        # a VL judge rejects any audio (field "audios") before decoding it
        (body(audios=[{"base64": b64(b"RIFF....WAVEfmt garbage")}]), 422, "audios"),
        (body(images=[{"base64": b64(png_bytes()), "path": "ok.png"}]), 422, "exactly one"),
    ]
    with httpx.Client(base_url=url) as client:
        for payload, status, word in cases:
            r = client.post("/v1/judge", json=payload)
            assert r.status_code == status, (word, r.status_code, r.text)
            assert word in r.json()["error"], (word, r.text)
        ok = client.post("/v1/judge", json=body(images=[{"base64": b64(png_bytes())}]))
        assert ok.status_code == 200 and ok.json()["status"] == "ok"


def test_wrong_types_are_json_4xx(url: str) -> None:
    bad: list[Any] = [
        body(responses="yes"),
        body(mode="dance"),
        body(responses=[1, 2]),
        [1, 2, 3],
        "string",
        None,
        body(extra_field=1),
        body(images="x.png"),
        body(images=[{"b": 1}]),
        body(mode="compare"),
        body(protocol="no-such-protocol"),
        body(fields={"a": 1}),
        body(question=["q"]),
        body(responses=["r"] * 65),
    ]
    with httpx.Client(base_url=url) as client:
        for payload in bad:
            r = client.post("/v1/judge", json=payload)
            assert r.status_code == 422, (payload, r.status_code, r.text)
            assert isinstance(r.json()["error"], str)
        for raw in (b"{not json", b"\xff\xfe", b""):
            r = client.post("/v1/judge", content=raw, headers={"content-type": "application/json"})
            assert r.status_code == 422 and "error" in r.json()
        r = client.post("/get_reward", json={"query": ["a", "b"], "prompts": ["a"]})
        assert r.status_code == 422 and "prompts" in r.json()["error"]
        assert client.get("/nope").status_code == 404 and client.get("/nope").json()["error"]
        assert client.get("/v1/judge").status_code == 405


def blocking_backend(gate: threading.Event) -> MockBackend:
    def responder(request: GenerationRequest, index: int) -> str:
        gate.wait(30)
        return default_judge_text(request, index)

    return MockBackend(responder=responder)


def test_overload_gets_429_then_recovers() -> None:
    release = threading.Event()
    cfg = ServerConfig(max_concurrency=2, queue_depth=0, max_batch=1)  # no wait queue
    with serve(create_app(Judge(blocking_backend(release)), cfg)) as base:

        async def scenario() -> list[int]:
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                held = [
                    asyncio.create_task(client.post("/v1/judge", json=body())) for _ in range(2)
                ]
                while (await client.get("/health")).json()["in_flight"] < 2:
                    await asyncio.sleep(0.005)
                extra = await client.post("/v1/judge", json=body())
                assert extra.json()["error"].startswith("server busy")
                assert extra.headers["retry-after"] == "1"
                release.set()
                done = await asyncio.gather(*held)
                after = await client.post("/v1/judge", json=body())
                return [extra.status_code, *(r.status_code for r in done), after.status_code]

        assert asyncio.run(scenario()) == [429, 200, 200, 200]


def test_timeout_is_a_json_408() -> None:
    release = threading.Event()
    cfg = ServerConfig(timeout=0.2)
    with serve(create_app(Judge(blocking_backend(release)), cfg)) as base:
        r = httpx.post(base + "/v1/judge", json=body(), timeout=30)
        release.set()
        assert r.status_code == 408 and "longer than" in r.json()["error"]


@pytest.mark.slow
def test_a_thousand_concurrent_requests(layout: dict[str, Path], opened: list[str]) -> None:
    import time

    def responder(request: GenerationRequest, index: int) -> str:
        time.sleep(0.001)  # stands in for model time so that requests pile up
        return default_judge_text(request, index)

    cfg = ServerConfig(media_root=layout["root"], max_concurrency=32, queue_depth=0, max_batch=16)
    img = b64(png_bytes())
    with serve(create_app(Judge(MockBackend(responder=responder)), cfg)) as base:

        async def blast() -> list[int]:
            limits = httpx.Limits(max_connections=1000, max_keepalive_connections=0)
            async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

                def payload(i: int) -> dict[str, Any]:
                    media = [{"base64": img}] if i % 3 == 0 else [{"path": "ok.png"}]
                    return body(question=f"q{i}", images=media)

                calls = [client.post("/v1/judge", json=payload(i)) for i in range(1000)]
                responses = await asyncio.gather(*calls)
                health = await client.get("/health")
                assert health.status_code == 200 and health.json()["in_flight"] == 0
                return [r.status_code for r in responses]

        codes = asyncio.run(blast())
    assert len(codes) == 1000 and set(codes) <= {200, 429}
    assert codes.count(200) >= 32 and codes.count(429) > 0
    assert str(layout["secret"]) not in opened


# ------------------------------------------------------------------ schemathesis fuzzing
schemathesis = pytest.importorskip("schemathesis")
_fuzz_app = create_app(Judge(MockBackend()), ServerConfig(max_body_bytes=100_000))
_schema = schemathesis.openapi.from_dict(_fuzz_app.openapi())


@pytest.fixture(scope="module")
def fuzz_url() -> Iterator[str]:
    with serve(_fuzz_app) as base:
        yield base


@_schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.slow
def test_openapi_fuzzing_never_5xx(case: Any, fuzz_url: str) -> None:
    response = case.call(base_url=fuzz_url, timeout=30)
    assert response.status_code < 500, (case.body, response.text)
    if response.status_code >= 400:
        assert "error" in response.json() or "detail" in response.json()
