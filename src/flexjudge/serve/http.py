"""HTTP-level limits: body size and read deadline (ASGI middleware), and a uvicorn setup that
closes connections which never finish their headers, caps open connections and times out
idle keep-alives (slowloris and trickled bodies hold nothing for long)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Protocol


class ConnectionLimits(Protocol):
    """The :class:`~flexjudge.serve.ServerConfig` fields the HTTP layer reads."""

    host: str
    port: int
    header_timeout: float
    max_connections: int
    keep_alive_timeout: float


class BodyLimitMiddleware:
    """Pure ASGI middleware: 413 for a declared or streamed body over ``max_bytes``."""

    def __init__(self, app: Any, max_bytes: int, body_timeout: float | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = True
            if too_big:
                await _send_json(send, 413, f"request body is over {self.max_bytes} bytes")
                return
        seen = 0
        started = False
        refused = False
        body_done = False
        deadline = None if self.body_timeout is None else time.monotonic() + self.body_timeout

        async def limited_receive() -> Any:
            nonlocal seen, refused, body_done
            if refused:
                return {"type": "http.disconnect"}
            if deadline is None or body_done:
                message = await receive()
            else:  # a trickled body holds a connection and a task: bound the whole read
                try:
                    message = await asyncio.wait_for(
                        receive(), max(0.0, deadline - time.monotonic())
                    )
                except TimeoutError:
                    refused = True
                    if not started:
                        await _send_json(
                            send, 408, f"request body not received within {self.body_timeout:g} s"
                        )
                    return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                body_done = not message.get("more_body", False)
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # answer now and tell the app the client left: it stops reading
                    refused = True
                    if not started:
                        await _send_json(send, 413, f"request body is over {self.max_bytes} bytes")
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Any) -> None:
            nonlocal started
            if refused:
                return  # the 413 already went out
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise


async def _send_json(send: Any, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def protocol_class(header_timeout: float, max_connections: int) -> type[Any]:
    """uvicorn's h11 protocol with a deadline for each request's headers and a cap on open
    connections (uvicorn has keep-alive and concurrency limits, but neither closes a
    connection that sends half a request line and then waits)."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class LimitedH11Protocol(H11Protocol):  # type: ignore[misc]
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                transport.close()
                return
            self._arm_header_deadline()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm_header_deadline()  # the next request on this connection gets one too

        def _arm_header_deadline(self) -> None:
            armed_for = self.cycle

            def expire() -> None:
                if self.cycle is armed_for and not self.transport.is_closing():
                    self.transport.close()  # no (new) request line + headers in time

            handle = self.loop.call_later(header_timeout, expire)
            previous = getattr(self, "_header_deadline", None)
            if previous is not None:
                previous.cancel()
            self._header_deadline = handle

        def connection_lost(self, exc: Exception | None) -> None:
            previous = getattr(self, "_header_deadline", None)
            if previous is not None:
                previous.cancel()
            super().connection_lost(exc)

    return LimitedH11Protocol


def uvicorn_config(app: Any, cfg: ConnectionLimits, **overrides: Any) -> Any:
    """A ``uvicorn.Config`` applying ``cfg``'s connection limits (h11 protocol)."""
    import uvicorn

    settings: dict[str, Any] = {
        "host": cfg.host,
        "port": cfg.port,
        "http": protocol_class(cfg.header_timeout, cfg.max_connections),
        "timeout_keep_alive": max(1, round(cfg.keep_alive_timeout)),
        "log_level": "info",
    }
    settings.update(overrides)
    return uvicorn.Config(app, **settings)


def run_server(app: Any, cfg: ConnectionLimits, **overrides: Any) -> None:
    """Serve ``app`` with uvicorn under ``cfg``'s limits (blocks)."""
    import uvicorn

    uvicorn.Server(uvicorn_config(app, cfg, **overrides)).run()
