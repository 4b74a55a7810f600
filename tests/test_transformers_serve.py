"""Against a real third-party OpenAI-compatible server: HF's ``transformers serve`` on the tiny
checkpoint (it 422s on vLLM-only fields and ignores ``n``).

1. ``flexjudge judge run --backend openai`` with votes;
2. ``flexjudge serve --openai-compat --base-url`` fronting it, called with the official
   ``openai`` client, streaming included.

Skips with the reason when the server cannot start within 90 s; every call is bounded.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def hf_server(tiny_vl: Path) -> Iterator[str]:
    exe = shutil.which("transformers")
    if exe is None:
        pytest.skip("the `transformers` CLI is not on PATH")
    port = _free_port()
    cmd = [exe, "serve", str(tiny_vl), "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--device", "cpu", "--log-level", "error"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace")[-500:] if proc.stderr else ""
                pytest.skip(f"transformers serve exited ({proc.returncode}): {err}")
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.skip("transformers serve did not answer /health within 90 s")
            time.sleep(0.25)
        yield base + "/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_judge_run_with_votes_against_transformers_serve(
    hf_server: str, tiny_vl: Path, tmp_path: Path
) -> None:
    from flexjudge.cli.main import app

    items = tmp_path / "items.jsonl"
    rows = [{"id": f"i{k}", "question": f"q{k}", "responses": [f"a{k}"]} for k in range(2)]
    items.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "results.jsonl"
    args = ["judge", "run", "-m", str(tiny_vl), "-i", str(items), "-o", str(out)]
    args += ["--backend", "openai", "--base-url", hf_server, "--server", "auto"]
    args += ["--votes", "3", "--max-tokens", "8", "--temperature", "0.6"]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(results) == 2
    for r in results:
        # the random tiny model gives no verdict, but every vote came back from the server
        assert r["status"] != "error", r.get("error")
        assert len(r["samples"]) == 3 and all(s["num_tokens"] > 0 for s in r["samples"])


def test_our_openai_router_fronting_transformers_serve_with_the_official_client(
    hf_server: str, tiny_vl: Path
) -> None:
    openai = pytest.importorskip("openai")
    from flexjudge import Judge
    from flexjudge.backends import load_backend
    from flexjudge.serve import ServerConfig, create_app
    from flexjudge.testing import serve_in_thread

    remote = load_backend("openai", str(tiny_vl), base_url=hf_server, server="auto")
    app = create_app(Judge(remote), ServerConfig(openai_compat=True), backend=remote)
    with serve_in_thread(app) as base:
        client = openai.OpenAI(base_url=base + "/v1", api_key="k", max_retries=0, timeout=120)
        messages = [{"role": "user", "content": "Say hi."}]
        full = client.chat.completions.create(model="tiny", messages=messages, max_tokens=6)
        assert full.choices[0].finish_reason in ("stop", "length")
        assert full.usage is not None and full.usage.completion_tokens > 0
        stream = client.chat.completions.create(
            model="tiny", messages=messages, max_tokens=6, stream=True
        )
        chunks = list(stream)
        assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] in ("stop", "length")
    remote.close()
    assert remote.server == "generic"  # transformers serve: standard fields only
