"""``flexjudge view PATH --export DIR``: the same page as a static folder.

The folder holds the page, its script and style, the summaries (``data/items.json``), item
details in chunks of :data:`CHUNK`, and copies of exactly the media and plots the items
reference.  Serve it with any static file server (browsers do not let a page read
``file://`` data); full-text search there covers ids and snippets only.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from flexjudge.view.server import STATIC_FILES, ViewerState, media_bytes, page_html, static_file
from flexjudge.view.sources import ViewSource

CHUNK = 500  # items per detail file: the page's app.js uses the same number


def _write_json(path: Path, payload: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, ensure_ascii=False, allow_nan=False, default=str))


def export_view(source: ViewSource, out: Path) -> dict[str, Any]:
    """Write the static viewer for ``source`` into ``out``; returns counts of what it wrote
    (media it could not read are listed under ``media_errors`` and left out)."""
    out = Path(out)
    state = ViewerState(source)
    (out / "static").mkdir(parents=True, exist_ok=True)
    (out / "index.html").write_text(page_html("static/", "data/"), encoding="utf-8")
    for name in STATIC_FILES:
        (out / "static" / name).write_bytes(static_file(name))
    _write_json(out / "data" / "meta.json", state.meta())
    _write_json(out / "data" / "items.json", state.items())
    report = state.report()
    report["plots"] = {}
    for name, plot in source.plots.items():
        (out / "plots").mkdir(exist_ok=True)
        shutil.copyfile(plot, out / "plots" / f"{name}.png")
        report["plots"][name] = f"/plots/{name}.png"
    _write_json(out / "data" / "report.json", report)
    chunks: dict[int, dict[str, Any]] = {}
    for item in source.items:
        detail = state.detail(item.idx)
        chunks.setdefault(item.idx // CHUNK, {})[str(item.idx)] = detail
    for number, chunk in chunks.items():
        _write_json(out / "data" / "item" / f"{number}.json", chunk)
    errors: list[str] = []
    number = 0
    while (ref := state.media.get(number)) is not None:
        try:
            data, _ = media_bytes(ref)
        except Exception as exc:
            errors.append(f"{ref.raw}: {exc}")
        else:
            (out / "media").mkdir(exist_ok=True)
            (out / "media" / str(number)).write_bytes(data)
        number += 1
    return {"out": str(out), "items": len(source.items), "media": number, "media_errors": errors}
