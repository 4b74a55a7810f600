"""The server's cost is bounded by configured limits, not by a request's size on the wire
(issue 14 items 1-5): video frame bombs, audio bombs, path fan-out, FIFOs, symlinks and hard
links under the media root, and slow clients.  Loopback only, bounded in count and time."""

from __future__ import annotations

import base64
import io
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from flexjudge import Judge
from flexjudge.backends import MockBackend
from flexjudge.media import Video, VideoPrep
from flexjudge.media._video_sampling import frame_size, resize_frames
from flexjudge.serve import ServerConfig, create_app
from flexjudge.serve import media as serve_media
from flexjudge.serve.http import uvicorn_config
from flexjudge.serve.media import RequestRejected, read_under_root
from flexjudge.testing import make_test_image, write_test_video, write_test_wav


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _png(w: int = 32, h: int = 32) -> bytes:
    buf = io.BytesIO()
    make_test_image(w, h).save(buf, format="PNG")
    return buf.getvalue()


def _client(**cfg: Any) -> TestClient:
    return TestClient(create_app(Judge(MockBackend()), ServerConfig(**cfg)))


def _judge(client: TestClient, **media: Any) -> Any:
    body = {"mode": "score", "question": "q", "responses": ["a"], **media}
    return client.post("/v1/judge", json=body)


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("frames were decoded before the limits were checked")

    monkeypatch.setattr(Video, "_decode", refuse)


def test_video_with_too_many_frames_is_refused_from_metadata(
    tmp_path: Path, no_decoding: None
) -> None:
    video = write_test_video(tmp_path / "bomb.mp4", frames=600, h=64, w=64, fps=2).read_bytes()
    client = _client(max_video_frames=500)
    r = _judge(client, videos=[{"base64": _b64(video)}])
    assert r.status_code == 413 and "600 frames" in r.json()["error"]


def test_video_decoded_size_counts_against_the_request_budget(
    tmp_path: Path, no_decoding: None
) -> None:
    video = write_test_video(tmp_path / "v.mp4", frames=600, h=64, w=64, fps=2).read_bytes()
    r = _judge(_client(max_decoded_bytes=1_000_000), videos=[{"base64": _b64(video)}])
    assert r.status_code == 413 and "decoded media" in r.json()["error"]


def test_a_small_video_passes_and_is_judged(tmp_path: Path) -> None:
    video = write_test_video(tmp_path / "v.mp4", frames=8, h=64, w=64, fps=4).read_bytes()
    r = _judge(_client(), videos=[{"base64": _b64(video)}])
    assert r.status_code == 200, r.text


def test_streamed_resizing_is_byte_identical_to_decode_then_resize(tmp_path: Path) -> None:
    path = write_test_video(tmp_path / "v.mp4", frames=40, h=96, w=160, fps=8)
    for prep in (VideoPrep(), VideoPrep(fps=1.0), VideoPrep(kernel="pil")):
        got = Video(path).prepare(prep)
        native = Video(path).load().frames[got.sampled_indices]
        size = frame_size(native.shape[1], native.shape[2], len(got.sampled_indices), prep)
        assert np.array_equal(got.frames, resize_frames(native, size, prep.kernel))


def test_audio_duration_is_checked_from_the_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    audio = write_test_wav(tmp_path / "long.wav", seconds=3.0, sr=8000).read_bytes()
    from flexjudge.media import Audio

    monkeypatch.setattr(Audio, "_read", lambda self: pytest.fail("samples were decoded"))
    r = _judge(_client(max_audio_seconds=2.0), audios=[{"base64": _b64(audio)}])
    assert r.status_code == 413 and "3.0 s" in r.json()["error"]


def test_path_fan_out_is_charged_per_reference_and_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "big.png").write_bytes(_png(200, 200))  # 120,000 decoded bytes per reference
    reads: list[str] = []
    real = serve_media.read_under_root

    def counting(raw: str, *args: Any, **kwargs: Any) -> bytes:
        reads.append(raw)
        return real(raw, *args, **kwargs)

    monkeypatch.setattr(serve_media, "read_under_root", counting)
    client = _client(media_root=root, max_decoded_bytes=1_000_000, max_media=16)
    fan_out = {"query": [f"answer {i}" for i in range(32)]}
    fan_out["images"] = [[{"path": "big.png"}] for _ in range(32)]  # type: ignore[list-item]
    r = client.post("/get_reward", json=fan_out)
    assert r.status_code == 413 and "decoded media" in r.json()["error"]
    reads.clear()
    few = {"query": ["a", "b", "c", "d"], "images": [[{"path": "big.png"}]] * 4}
    r = client.post("/get_reward", json=few)
    assert r.status_code == 200, r.text
    assert reads == ["big.png"]  # four references, one read and one check


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "ok.png").write_bytes(_png())
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(_png())
    (root / "out_dir").symlink_to(outside, target_is_directory=True)
    (root / "in_dir").symlink_to(root / "sub", target_is_directory=True)
    (root / "sub" / "img.png").write_bytes(_png())
    (root / "dangling").symlink_to(outside / "missing.png")
    (root / "rel_up").symlink_to("../outside/secret.png")
    return root


def _status(raw: str, root: Path) -> int:
    try:
        read_under_root(raw, root, 1 << 20, "images[0]")
    except RequestRejected as exc:
        return exc.status
    return 200


def test_fifo_under_the_root_is_refused_without_blocking(root: Path) -> None:
    os.mkfifo(root / "pipe.png")
    outcome: list[int] = []
    worker = threading.Thread(target=lambda: outcome.append(_status("pipe.png", root)))
    worker.start()
    worker.join(5)
    assert not worker.is_alive(), "opening a FIFO blocked"
    assert outcome == [422]


def test_outside_the_root_is_403_whether_or_not_the_file_exists(root: Path) -> None:
    outside = root.parent / "outside"
    cases = [
        str(outside / "secret.png"),
        str(outside / "missing.png"),
        "out_dir/secret.png",
        "out_dir/missing.png",
        "dangling",
        "rel_up",
        "../outside/secret.png",
    ]
    assert {c: _status(c, root) for c in cases} == dict.fromkeys(cases, 403)
    assert _status("ok.png", root) == 200 and _status("in_dir/img.png", root) == 200
    assert _status(str(root / "sub" / "img.png"), root) == 200
    assert _status("missing.png", root) == 422 and _status("sub", root) == 422


def test_hard_links_are_refused_unless_allowed(root: Path) -> None:
    os.link(root.parent / "outside" / "secret.png", root / "linked.png")
    assert _status("linked.png", root) == 403
    read_under_root("linked.png", root, 1 << 20, "images[0]", allow_hard_links=True)
    client = _client(media_root=root)
    r = _judge(client, images=[{"path": "linked.png"}])
    assert r.status_code == 403 and "hard links" in r.json()["error"]


def test_directory_swapped_for_a_symlink_is_not_followed_outside(root: Path) -> None:
    # the race, made deterministic: the folder is replaced by a symlink to outside
    (root / "sub" / "img.png").unlink()
    (root / "sub").rmdir()
    (root / "sub").symlink_to(root.parent / "outside", target_is_directory=True)
    assert _status("sub/secret.png", root) == 403


@contextmanager
def _serve(cfg: ServerConfig) -> Iterator[int]:
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(Judge(MockBackend()), cfg)
    server = uvicorn.Server(uvicorn_config(app, cfg, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(20)


def _closed_within(sock: socket.socket, seconds: float) -> bytes | None:
    """What the server sent before closing, or None when it kept the connection open."""
    sock.settimeout(seconds)
    got = b""
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                return got
            got += chunk
    except TimeoutError:
        return None
    except ConnectionResetError:
        return got


def test_slow_clients_are_cut_off(tmp_path: Path) -> None:
    cfg = ServerConfig(header_timeout=0.5, body_timeout=0.5, max_connections=8)
    with _serve(cfg) as port:
        started = time.monotonic()
        slow_headers = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
        for s in slow_headers:
            s.sendall(b"POST /v1/judge HTTP/1.1\r\nHost: x\r\n")  # never finishes
        for s in slow_headers:
            assert _closed_within(s, 5) is not None
            s.close()
        trickle = socket.create_connection(("127.0.0.1", port))
        trickle.sendall(
            b"POST /v1/judge HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{"
        )
        answer = _closed_within(trickle, 5)
        assert answer is not None and b" 408 " in answer.split(b"\r\n", 1)[0]
        trickle.close()
        assert time.monotonic() - started < 10

        with socket.create_connection(("127.0.0.1", port)) as ok:  # the server still serves
            ok.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = _closed_within(ok, 5)
            assert answer is not None and answer.startswith(b"HTTP/1.1 200")


def test_connections_over_the_cap_are_closed_at_once() -> None:
    with _serve(ServerConfig(header_timeout=8.0, max_connections=8)) as port:
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(12)]
        time.sleep(0.2)
        closed = [_closed_within(s, 0.2) is not None for s in idle]
        assert closed.count(True) == 4 and closed[:8] == [False] * 8
        for s in idle:
            s.close()


def test_videos_are_decoded_in_the_media_pool_not_the_judge_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    real = Video._prepare

    def spy(self: Video, prep: VideoPrep) -> Any:
        threads.append(threading.current_thread().name)
        return real(self, prep)

    monkeypatch.setattr(Video, "_prepare", spy)
    video = write_test_video(tmp_path / "v.mp4", frames=8, h=64, w=64, fps=4).read_bytes()
    client = _client()
    r = _judge(client, videos=[{"base64": _b64(video)}])
    assert r.status_code == 200 and r.json()["status"] == "ok", r.text
    r = client.post("/get_reward", json={"query": ["a"], "videos": [[{"base64": _b64(video)}]]})
    assert r.status_code == 200, r.text
    assert len(threads) == 2 and all(t.startswith("media") for t in threads), threads


def test_a_file_named_many_times_is_decoded_once_per_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flexjudge.media import Image

    root = tmp_path / "root"
    root.mkdir()
    (root / "a.png").write_bytes(_png(40, 40))
    (root / "b.png").write_bytes(_png(48, 48))
    decodes: list[str] = []
    real = Image._prepare

    def spy(self: Image, prep: Any) -> Any:
        decodes.append(threading.current_thread().name)
        return real(self, prep)

    monkeypatch.setattr(Image, "_prepare", spy)
    client = _client(media_root=root)
    names = ["a.png", "b.png", "a.png", "a.png", "b.png", "a.png"]
    body = {"query": [f"answer {i}" for i in range(6)], "images": [[{"path": n}] for n in names]}
    r = client.post("/get_reward", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["extra_logs"]["judge_ok"] == [1.0] * 6
    assert len(decodes) == 2 and all(t.startswith("media") for t in decodes)
