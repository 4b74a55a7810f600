"""The viewer's local, read-only web server (stdlib ``http.server``; no network, no CDN).

Routes: ``/`` (the page), ``/static/<file>`` (a fixed list of packaged files), ``/api/…``
(JSON), ``/media/N`` (media the loaded items reference, by number), ``/plot/NAME`` (a report's
plots).  Any other path is 404; media outside their root are refused with 403.
"""

from __future__ import annotations

import io
import mimetypes
from collections.abc import Callable
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flexjudge._util.json import dumps_bytes
from flexjudge.view.detail import MediaIndex, MediaRef, item_detail
from flexjudge.view.items import COLUMNS
from flexjudge.view.sources import ViewSource

STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css"}
#: nothing outside this page is ever loaded: scripts, styles and media come from this server
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'"
)
MAX_MEDIA_BYTES = 512 << 20
_MAGIC = (
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"fLaC", "audio/flac"),
    (b"OggS", "audio/ogg"),
    (b"ID3", "audio/mpeg"),
    (b"\x1a\x45\xdf\xa3", "video/webm"),
)


class ViewerState:
    """The loaded source and the media numbers handed out for it."""

    def __init__(self, source: ViewSource) -> None:
        self.source = source
        self.media = MediaIndex()
        self._rows: list[list[Any]] | None = None

    def meta(self) -> dict[str, Any]:
        """What the page needs first; ``complete`` false means the items are still loading
        (``count`` is then the total the source holds, facets cover the rows loaded so far)."""
        complete = self.source.complete.is_set()
        return {
            "kind": self.source.kind,
            "path": str(self.source.path),
            "count": len(self.source.items) if complete else self.source.total,
            "complete": complete,
            "facets": self.source.facets(),
            "has_report": self.source.report is not None,
            "plots": sorted(self.source.plots),
        }

    def items(self, first: int | None = None) -> dict[str, Any]:
        """Summary rows: the first ``first`` at once, or all of them once loaded."""
        if first is not None:
            head = [item.summary() for item in self.source.items[:first]]
            done = self.source.complete.is_set() and first >= len(self.source.items)
            return {"columns": list(COLUMNS), "rows": head, "complete": done}
        self.source.wait()
        if self._rows is None:
            self._rows = [item.summary() for item in self.source.items]
        return {"columns": list(COLUMNS), "rows": self._rows, "complete": True}

    def detail(self, idx: int) -> dict[str, Any] | None:
        if not 0 <= idx < len(self.source.items) and not self.source.wait(30):
            return None
        if not 0 <= idx < len(self.source.items):
            return None
        return item_detail(self.source, self.source.items[idx], self.media)

    def search(self, query: str) -> list[int]:
        """Items whose question, responses or snippet contain ``query`` (case-insensitive)."""
        self.source.wait()
        needle = query.casefold()
        hits = []
        for item in self.source.items:
            inputs = item.inputs or {}
            texts = [item.snippet, item.id, str(inputs.get("question") or "")]
            texts += [str(r) for r in inputs.get("responses") or []]
            if any(needle in t.casefold() for t in texts):
                hits.append(item.idx)
        return hits

    def report(self) -> dict[str, Any]:
        return {
            "kind": self.source.kind,
            "report": self.source.report,
            "plots": {name: f"/plot/{name}" for name in sorted(self.source.plots)},
        }


def media_bytes(ref: MediaRef) -> tuple[bytes, str]:
    """The bytes and content type of one referenced medium.  Raises ``PermissionError`` for
    a path outside its root and ``FileNotFoundError`` when it cannot be read."""
    from flexjudge.serve.media import RequestRejected, read_under_root

    if ref.kind == "molecule":
        from flexjudge.media import as_molecule

        buf = io.BytesIO()
        as_molecule(ref.raw).to_image(size=360).load().save(buf, format="PNG")
        return buf.getvalue(), "image/png"
    if ref.raw.startswith("data:"):
        header = ref.raw.split(",", 1)[0]
        if ref.kind != "image":
            raise FileNotFoundError(f"{header}: only image data URLs are shown")
        from flexjudge.media import decode_base64_media

        buf = io.BytesIO()
        decode_base64_media(ref.raw, "image", validate=False).load().save(buf, format="PNG")
        return buf.getvalue(), "image/png"
    raw = ref.raw.removeprefix("file://")
    try:
        data = read_under_root(raw, ref.root, MAX_MEDIA_BYTES, ref.raw)
    except RequestRejected as exc:
        if exc.status == 403:
            raise PermissionError(exc.message) from None
        raise FileNotFoundError(exc.message) from None
    return data, _content_type(data, raw)


def _content_type(data: bytes, name: str) -> str:
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF":
        return {b"WAVE": "audio/wav", b"WEBP": "image/webp"}.get(data[8:12], "audio/wav")
    if data[4:8] == b"ftyp":
        return "video/mp4"
    guessed = mimetypes.guess_type(name)[0]
    return (
        guessed
        if guessed and guessed.split("/")[0] in ("image", "audio", "video")
        else ("application/octet-stream")
    )


def page_html(static_prefix: str = "/static/", data_prefix: str = "") -> str:
    """The one HTML page; ``data_prefix`` set means a static export (data files, no API)."""
    mode = "export" if data_prefix else "live"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>flexjudge view</title><link rel='stylesheet' href='{static_prefix}app.css'>"
        f"</head><body data-mode='{mode}' data-prefix='{data_prefix}'>"
        "<header><a href='#/' class='brand'>flexjudge view</a><nav id='nav'></nav>"
        "<span id='source'></span></header><main id='main'>Loading…</main>"
        f"<script src='{static_prefix}app.js'></script></body></html>"
    )


def static_file(name: str) -> bytes:
    return (resources.files("flexjudge.view") / "static" / name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    server_version = "flexjudge-view"
    sys_version = ""

    def __init__(self, *args: Any, state: ViewerState, **kwargs: Any) -> None:
        self.state = state
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a local viewer has nothing to log per request

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, payload: Any, status: int = 200) -> None:
        body = dumps_bytes(payload)
        self._send(status, body, "application/json; charset=utf-8")

    def _error(self, status: HTTPStatus, message: str) -> None:
        self._json({"error": message}, status.value)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        parts = url.path.split("/")[1:]
        query = parse_qs(url.query)
        routes: dict[str, Callable[[], None]] = {
            "": lambda: self._send(200, page_html().encode(), "text/html; charset=utf-8"),
            "api": lambda: self._api(parts[1:], query),
            "static": lambda: self._static(parts[1:]),
            "media": lambda: self._media(parts[1:]),
            "plot": lambda: self._plot(parts[1:]),
        }
        route = routes.get(parts[0] if parts else "")
        if route is None or (parts[0] == "" and len(parts) > 1):
            self._error(HTTPStatus.NOT_FOUND, "no such page")
            return
        route()

    def _api(self, parts: list[str], query: dict[str, list[str]]) -> None:
        state = self.state
        if parts == ["meta"]:
            self._json(state.meta())
        elif parts == ["items"]:
            first = query.get("first", [""])[0]
            self._json(state.items(int(first) if first.isdigit() else None))
        elif parts == ["report"]:
            self._json(state.report())
        elif parts == ["search"]:
            self._json({"idx": state.search(query.get("q", [""])[0])})
        elif len(parts) == 2 and parts[0] == "item" and parts[1].isdigit():
            detail = state.detail(int(parts[1]))
            if detail is None:
                self._error(HTTPStatus.NOT_FOUND, "no such item")
            else:
                self._json(detail)
        else:
            self._error(HTTPStatus.NOT_FOUND, "no such API route")

    def _static(self, parts: list[str]) -> None:
        if len(parts) != 1 or parts[0] not in STATIC_FILES:
            self._error(HTTPStatus.NOT_FOUND, "no such file")
            return
        self._send(200, static_file(parts[0]), STATIC_FILES[parts[0]])

    def _media(self, parts: list[str]) -> None:
        ref = (
            self.state.media.get(int(parts[0])) if len(parts) == 1 and parts[0].isdigit() else None
        )
        if ref is None:
            self._error(HTTPStatus.NOT_FOUND, "no such medium")
            return
        try:
            data, kind = media_bytes(ref)
        except PermissionError as exc:
            self._error(HTTPStatus.FORBIDDEN, str(exc))
        except Exception as exc:
            self._error(HTTPStatus.NOT_FOUND, str(exc))
        else:
            self._send(200, data, kind)

    def _plot(self, parts: list[str]) -> None:
        plot = self.state.source.plots.get(parts[0]) if len(parts) == 1 else None
        if plot is None:
            self._error(HTTPStatus.NOT_FOUND, "no such plot")
            return
        self._send(200, plot.read_bytes(), "image/png")


def make_server(source: ViewSource, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """A ready server for ``source`` (``port=0``: any free port; see ``server_address``)."""
    server = ThreadingHTTPServer((host, port), partial(_Handler, state=ViewerState(source)))
    server.daemon_threads = True
    return server
