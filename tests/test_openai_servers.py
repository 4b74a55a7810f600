"""The OpenAI-compatible backend against server flavours: strict generic servers that 422 on
vLLM-only fields, vLLM detection, servers that ignore ``n``, API keys from a named env var."""

from __future__ import annotations

from typing import Any

import pytest

fastapi = pytest.importorskip("fastapi")

from pydantic import BaseModel, ConfigDict  # noqa: E402

from flexjudge import Judge  # noqa: E402
from flexjudge.backends import GenerationRequest, SamplingParams  # noqa: E402
from flexjudge.backends._openai import OpenAIBackend  # noqa: E402
from flexjudge.testing import serve_in_thread  # noqa: E402

PROMPT = (
    "<|im_start|>system\nJudge.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
)


class StrictBody(BaseModel):
    """The standard chat-completions fields only, as OpenAI / transformers serve check them."""

    model_config = ConfigDict(extra="forbid")
    model: str
    messages: list[dict[str, Any]]
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    n: int | None = None
    seed: int | None = None
    stop: list[str] | None = None


def strict_server(owned_by: str, honour_n: bool, seen: list[dict[str, Any]]) -> Any:
    app = fastapi.FastAPI()

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": "m", "object": "model", "owned_by": owned_by}]}

    @app.post("/v1/chat/completions")
    async def chat(request: fastapi.Request) -> Any:
        body = await request.json()
        seen.append({"body": body, "auth": request.headers.get("authorization")})
        if owned_by != "vllm":
            StrictBody.model_validate(body)  # unknown fields: 422, like the real servers
        n = int(body.get("n") or 1) if honour_n else 1
        text = f"<think>\nx\n</think>\n<answer>{1 + (body.get('seed') or 0) % 10}</answer>"
        return {
            "choices": [
                {"index": i, "message": {"content": text}, "finish_reason": "stop"}
                for i in range(n)
            ],
            "usage": {"prompt_tokens": 5, "completion_tokens": 4 * n},
        }

    @app.exception_handler(Exception)
    async def invalid(_: Any, exc: Exception) -> Any:
        return fastapi.responses.JSONResponse({"error": str(exc)}, status_code=422)

    return app


def test_generic_server_gets_standard_fields_only_and_key_from_named_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_JUDGE_KEY", "sk-test")
    seen: list[dict[str, Any]] = []
    with serve_in_thread(strict_server("huggingface", True, seen)) as base:
        backend = OpenAIBackend("m", base_url=base + "/v1", api_key_env="MY_JUDGE_KEY")
        out = backend.generate([GenerationRequest(PROMPT, SamplingParams(seed=3))])
        backend.close()
    assert out[0][0].finish_reason == "stop", out[0][0].text
    assert backend.server == "generic"
    assert "top_k" not in seen[0]["body"] and seen[0]["auth"] == "Bearer sk-test"


def test_vllm_is_detected_and_gets_its_sampling_fields() -> None:
    seen: list[dict[str, Any]] = []
    with serve_in_thread(strict_server("vllm", True, seen)) as base:
        backend = OpenAIBackend("m", base_url=base + "/v1")
        backend.generate([GenerationRequest(PROMPT, SamplingParams())])
        backend.close()
    assert backend.server == "vllm"
    body = seen[0]["body"]
    assert body["top_k"] == -1 and body["repetition_penalty"] == 1.0
    assert body["include_stop_str_in_output"] is True


def test_votes_fall_back_to_seeded_requests_when_n_is_ignored() -> None:
    seen: list[dict[str, Any]] = []
    with serve_in_thread(strict_server("generic", False, seen)) as base:
        judge = Judge(OpenAIBackend("m", base_url=base + "/v1", server="generic"), seed=7)
        first = judge.score("q", "a", votes=3)
        second = judge.score("q2", "b", votes=3)
        judge.backend.close()
    assert first.ok and len(first.samples) == 3 and second.ok and len(second.samples) == 3
    seeds = [s["body"].get("seed") for s in seen]
    # first call learns that n is ignored (1 wasted call), then one seeded request per vote
    assert seen[0]["body"]["n"] == 3 and len(seen) == 1 + 3 + 3
    assert len(set(seeds[1:4])) == 3 and seeds[2] == seeds[1] + 1
    assert all(s["body"].get("n", 1) == 1 for s in seen[1:])


def test_unknown_server_kind_is_refused() -> None:
    from flexjudge.errors import BackendError

    with pytest.raises(BackendError, match="unknown server"):
        OpenAIBackend("m", base_url="http://127.0.0.1:9/v1", server="tgi")  # type: ignore[arg-type]
