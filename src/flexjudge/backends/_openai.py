"""OpenAI-compatible backend: ``POST {base_url}/chat/completions`` (vLLM, SGLang, OpenAI, …).

Each :class:`GenerationRequest` becomes one chat-completions call: its messages are built from
the prompt's chat structure (``request.turns``, never by splitting the rendered text when
the structure is there), the frame's media placeholders become base64 ``image_url`` /
``video_url`` / ``input_audio`` parts and user text goes as text with special-token-like
strings neutralized (:mod:`flexjudge.backends._chat`).  ``n`` and ``seed`` pass through, so
votes share one prefill on servers that support ``n``.  Calls run on a thread pool of
``max_concurrency`` workers; 429, 5xx, timeouts and connection errors are retried with
exponential backoff (honouring ``Retry-After``) up to ``max_retries`` times.

``server`` says which sampling fields may be sent.  ``vllm`` and ``sglang`` get their
sampling extensions (``top_k=-1``, ``repetition_penalty=1``, ``skip_special_tokens``, and
vLLM's ``include_stop_str_in_output`` / SGLang's ``no_stop_trim``), which override a
checkpoint's generation-config defaults as the reference protocol requires; ``openai`` and
``generic`` (e.g. ``transformers serve``) get only standard fields, since such servers answer
unknown fields with 4xx — the single stop string of a protocol is then re-appended
client-side when generation stopped on it.  ``auto`` (default) asks ``GET /models`` once
(``owned_by`` says ``vllm`` or ``sglang``) and falls back to ``generic``.

``n`` > 1 is sent as ``n``; a server that answers fewer choices (``transformers serve``
ignores ``n``) is from then on sent ``n`` separate requests with seeds ``seed, seed+1, …``.

Budget forcing needs a prompt that ends inside the assistant turn.  With
``continue_final_message=True`` the partial assistant message is sent last with vLLM's
``continue_final_message=true, add_generation_prompt=false``, and the backend reports
``supports_continuation``; otherwise such prompts are refused.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, Literal, get_args

from flexjudge._util.optional import require
from flexjudge.backends._base import (
    Backend,
    Completion,
    GenerationRequest,
    TokenLogprobs,
)
from flexjudge.backends._chat import build_messages, messages_from_turns
from flexjudge.errors import BackendError
from flexjudge.families import ModelFamily

_RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
ServerKind = Literal["auto", "vllm", "sglang", "openai", "generic"]
SERVER_KINDS: tuple[str, ...] = get_args(ServerKind)


class OpenAIBackend(Backend):
    """Chat completions over HTTP (``httpx``).

    ``model`` is the server's model name.  ``base_url`` defaults to ``$OPENAI_BASE_URL`` or
    ``https://api.openai.com/v1``; ``api_key`` to the environment variable named by
    ``api_key_env`` (``OPENAI_API_KEY``; servers without auth accept any value).  ``family``
    says which placeholders the rendered prompts use (default ``qwen2_5_vl``; ``qwen2_5_omni``
    for audio).  ``server``: see the module docstring (``vllm_extras`` is the older switch:
    True means ``vllm``, False ``generic``).

    Failures: a request that still fails after its retries (or gets a non-retryable 4xx)
    yields ``n`` completions with ``finish_reason="error"`` and the message as text; when
    every request of a call fails, :class:`~flexjudge.errors.BackendError` is raised naming
    the URL and the last error.
    """

    name = "openai"
    supports_continuation = False

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        family: ModelFamily = "qwen2_5_vl",
        max_concurrency: int = 8,
        max_retries: int = 4,
        timeout: float = 300.0,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        server: ServerKind = "auto",
        api_key_env: str = "OPENAI_API_KEY",
        vllm_extras: bool | None = None,
        continue_final_message: bool = False,
        extra_body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        httpx = require("httpx", "serve")
        super().__init__(model, family)
        self.base_url = (
            base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        ).rstrip("/")
        if server not in SERVER_KINDS:
            raise BackendError(
                f"unknown server {server!r}; choose one of {', '.join(SERVER_KINDS)}"
            )
        if vllm_extras is not None:
            server = "vllm" if vllm_extras else "generic"
        key = api_key or os.environ.get(api_key_env) or "EMPTY"
        self.max_retries = max_retries
        self.backoff, self.max_backoff = backoff, max_backoff
        self._server: str = server
        self._server_lock = threading.Lock()
        self._n_ok = True  # until a server answers fewer choices than asked
        self.continue_final_message = continue_final_message
        self.supports_continuation = continue_final_message  # type: ignore[misc]
        self.extra_body = dict(extra_body or {})
        self._httpx = httpx
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 30.0)),
            headers={"Authorization": f"Bearer {key}", **(headers or {})},
            limits=httpx.Limits(max_connections=max_concurrency),
        )
        self._pool = ThreadPoolExecutor(
            max_workers=max_concurrency, thread_name_prefix="flexjudge-openai"
        )
        self._closed = threading.Event()

    # ------------------------------------------------------------------ request building
    @property
    def server(self) -> str:
        """The server kind, detected on first use when ``auto``."""
        if self._server == "auto":
            with self._server_lock:
                if self._server == "auto":
                    self._server = self._detect_server()
        return self._server

    @property
    def vllm_extras(self) -> bool:
        return self.server in ("vllm", "sglang")

    def _detect_server(self) -> str:
        try:
            response = self._client.get(f"{self.base_url}/models", timeout=10.0)
            owners = {str(m.get("owned_by", "")).lower() for m in response.json().get("data", [])}
        except Exception:  # no /models, not JSON, unreachable: standard fields only
            return "generic"
        for kind in ("vllm", "sglang"):
            if kind in owners:
                return kind
        return "generic"

    def build_body(self, request: GenerationRequest) -> dict[str, Any]:
        """The JSON body for ``request`` (raises :class:`BackendError` if it cannot be sent)."""
        media = (request.images, request.videos, request.audios, request.video_fps)
        if request.turns is not None:  # the protocol's structure: user text stays data
            messages, continues = messages_from_turns(request.turns, self.family, *media)
        else:
            messages, continues = build_messages(request.prompt, self.family, *media)
        s = request.sampling
        body: dict[str, Any] = {
            "model": self.model_id,
            "messages": messages,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "max_tokens": s.max_tokens,
            "n": s.n,
        }
        if s.seed is not None:
            body["seed"] = s.seed
        if s.logprobs is not None:
            body.update(logprobs=True, top_logprobs=s.logprobs)
        if s.stop:
            body["stop"] = list(s.stop)
        if self.vllm_extras:
            body.update(top_k=-1, repetition_penalty=1.0, skip_special_tokens=True)
            if self.server == "sglang":
                body["no_stop_trim"] = s.include_stop_str_in_output
            else:
                body["include_stop_str_in_output"] = s.include_stop_str_in_output
        if continues:
            if not self.continue_final_message:
                raise BackendError(
                    "prompt continues an assistant turn; pass "
                    "continue_final_message=True for a server that supports it"
                )
            body.update(continue_final_message=True, add_generation_prompt=False)
        body.update(self.extra_body)
        return body

    def check_ready(self) -> None:
        """``GET /models`` once: a server that cannot be reached (refused, DNS, timeout) is a
        :class:`BackendError` naming the URL; any HTTP answer means it is up."""
        try:
            self._client.get(f"{self.base_url}/models", timeout=10.0)
        except self._httpx.TransportError as exc:
            raise BackendError(f"cannot reach the server at {self.base_url}: {exc}") from exc

    def fingerprint(self) -> str:
        import hashlib

        base = super().fingerprint()
        return hashlib.sha256(f"{base}|{self.base_url}".encode()).hexdigest()[:16]

    # ------------------------------------------------------------------ calls
    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Completion]]:
        """All requests concurrently (``max_concurrency``); results in request order."""
        if not requests:
            return []
        results = list(self._pool.map(self._one, requests))
        if all(c.finish_reason == "error" for cs in results for c in cs):
            raise BackendError(
                f"every request to {self.base_url} failed; last error: {results[-1][0].text}"
            )
        return results

    def _one(self, request: GenerationRequest) -> list[Completion]:
        n = request.sampling.n
        try:
            if n > 1 and not self._n_ok:
                return self._separate(request)
            body = self.build_body(request)
            data = self._post(body)
            if n > 1 and len(data.get("choices") or []) < n:
                self._n_ok = False  # the server ignores n: from now on, one request per vote
                return self._separate(request)
            return self._parse(data, request)
        except BackendError as exc:
            return [Completion(str(exc), "error") for _ in range(n)]

    def _separate(self, request: GenerationRequest) -> list[Completion]:
        """``n`` single-choice requests, seeded ``seed + i`` (unseeded when seed is None)."""
        s = request.sampling
        out: list[Completion] = []
        for i in range(s.n):
            one = replace(
                request, sampling=s.replace(n=1, seed=None if s.seed is None else s.seed + i)
            )
            out.extend(self._parse(self._post(self.build_body(one)), one))
        return out

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/chat/completions"
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            wait = min(self.max_backoff, self.backoff * 2**attempt) * (0.5 + random.random() / 2)
            try:
                response = self._client.post(url, json=body)
            except (self._httpx.TimeoutException, self._httpx.TransportError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    try:
                        data: dict[str, Any] = response.json()
                    except ValueError as exc:
                        raise BackendError(f"{url} returned invalid JSON: {exc}") from exc
                    return data
                last = f"HTTP {response.status_code}: {response.text[:300]}"
                if response.status_code not in _RETRY_STATUS:
                    raise BackendError(f"{url}: {last}")
                retry_after = response.headers.get("retry-after")
                if retry_after is not None:
                    with contextlib.suppress(ValueError):
                        wait = min(self.max_backoff, float(retry_after))
            if attempt < self.max_retries and not self._closed.is_set():
                time.sleep(wait)
        raise BackendError(f"{url} failed after {self.max_retries + 1} attempts: {last}")

    def _parse(self, data: dict[str, Any], request: GenerationRequest) -> list[Completion]:
        s = request.sampling
        try:
            choices = sorted(data["choices"], key=lambda c: c.get("index", 0))
        except (KeyError, TypeError) as exc:
            raise BackendError(f"response without choices: {str(data)[:200]}") from exc
        if len(choices) != s.n:
            raise BackendError(f"asked for n={s.n} choices, got {len(choices)}")
        total = (data.get("usage") or {}).get("completion_tokens")
        out = []
        for c in choices:
            text = (c.get("message") or {}).get("content") or ""
            reason = c.get("finish_reason") or "stop"
            finish = "length" if reason == "length" else "stop" if reason != "error" else "error"
            if (
                finish == "stop"
                and not self.vllm_extras
                and s.include_stop_str_in_output
                and len(s.stop) == 1
                and not text.endswith(s.stop[0])
                and c.get("stop_reason", s.stop[0]) == s.stop[0]
            ):
                text += s.stop[0]
            tokens = c.get("num_tokens")
            if tokens is None:
                tokens = total if (s.n == 1 and isinstance(total, int)) else 0
            out.append(
                Completion(
                    text.strip(),
                    finish,  # type: ignore[arg-type]
                    int(tokens),
                    logprobs=_logprobs(c.get("logprobs")),
                )
            )
        return out

    def close(self) -> None:
        self._closed.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()


def _logprobs(data: Any) -> tuple[TokenLogprobs, ...] | None:
    """A choice's ``logprobs.content`` (``token``, ``logprob``, ``top_logprobs``) as ours."""
    content = data.get("content") if isinstance(data, dict) else None
    if not isinstance(content, list) or not content:
        return None
    out = []
    for entry in content:
        if not isinstance(entry, dict):
            return None
        top = entry.get("top_logprobs") or [entry]
        out.append(
            TokenLogprobs(
                str(entry.get("token", "")),
                tuple(
                    (str(t.get("token", "")), float(t.get("logprob", -math.inf)))
                    for t in top
                    if isinstance(t, dict)
                ),
            )
        )
    return tuple(out)
