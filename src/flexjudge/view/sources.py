"""Load what ``flexjudge view PATH`` can show: a ``judge run`` output, a result store, a
``bench run`` folder, or a ``bon`` / ``pairs`` output, into :class:`ViewItem` rows.

The kind is told from the path itself (a folder's files, a SQLite header, the first row's
keys).  An unreadable row becomes an item with status ``unreadable`` naming the file and
line; it never stops the load.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from flexjudge._util.json import loads
from flexjudge._util.jsonl import read_items
from flexjudge.errors import InputError
from flexjudge.view.items import ViewItem, judgment_item, snippet_of

SourceKind = Literal["judgments", "store", "bench", "bon", "pairs"]
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _done() -> threading.Event:
    event = threading.Event()
    event.set()
    return event


@dataclass
class ViewSource:
    """A loaded source: its items, and what the pages around them need."""

    kind: SourceKind
    path: Path
    items: list[ViewItem]
    media_root: Path
    report: dict[str, Any] | None = None  # bench report.json, bon / pairs summary.json
    plots: dict[str, Path] = field(default_factory=dict)
    store_path: Path | None = None  # details of store rows are read from here
    #: set once ``items`` holds every row (a big store's rest loads in the background)
    complete: threading.Event = field(default_factory=_done)
    total: int | None = None  # rows the source holds, known before they are all loaded

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every item is loaded; ``False`` if ``timeout`` passed first."""
        return self.complete.wait(timeout)

    def facets(self) -> dict[str, dict[str, int]]:
        """Counts by status and by protocol: the list page's filter choices."""
        out: dict[str, dict[str, int]] = {"status": {}, "protocol": {}}
        for item in self.items:
            out["status"][item.status] = out["status"].get(item.status, 0) + 1
            out["protocol"][item.protocol] = out["protocol"].get(item.protocol, 0) + 1
        return out


def load_source(
    path: Path, *, inputs: Path | None = None, media_root: Path | None = None
) -> ViewSource:
    """Load ``path``; ``inputs`` is the items / candidates file the run read (question,
    responses and media come from it, matched by ``id``).  Media paths resolve from
    ``media_root``, else from the inputs file's folder.  Raises :class:`InputError` when
    ``path`` is none of the known kinds."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"no such file or folder: {path}")
    input_rows = _index_inputs(inputs) if inputs is not None else {}
    root = Path(media_root) if media_root is not None else (inputs or path).resolve().parent
    if path.is_dir():
        if (path / "selections.jsonl").is_file():
            return _bon(path, input_rows, root)
        if (path / "scored.jsonl").is_file() or (path / "predictions.jsonl").is_file():
            return _bench(path, root)
        raise InputError(
            f"{path}: a folder flexjudge view reads holds a bench run (scored.jsonl, "
            "predictions.jsonl) or a bon output (selections.jsonl)"
        )
    with open(path, "rb") as fh:
        magic = fh.read(len(_SQLITE_MAGIC))
    if magic == _SQLITE_MAGIC:
        return _store(path, input_rows, root)
    if path.with_suffix(".decisions.jsonl").is_file():
        return _pairs(path, path.with_suffix(".decisions.jsonl"), input_rows, root)
    rows = read_items(path)
    first = next((r for r in rows if isinstance(r, dict)), None)
    if first is not None and "win_forward" in first:
        return _pairs(None, path, input_rows, root)
    if first is not None and "selected" in first and "n_candidates" in first:
        return _bon_rows(path, rows, input_rows, root)
    if first is None or "status" in first:
        items = [
            _unreadable(i, row)
            if isinstance(row, Exception)
            else judgment_item(i, row, input_rows.get(str(row.get("id"))))
            for i, row in enumerate(rows)
        ]
        return ViewSource("judgments", path, items, root)
    raise InputError(
        f"{path}: first row has keys {sorted(first)[:8]}; expected a judge run output "
        "(status, scores, samples…), a pairs decisions file or bon selections"
    )


def _index_inputs(path: Path) -> dict[str, Mapping[str, Any]]:
    """Input rows by ``id`` (a row without one is keyed by its line number, as the runs do)."""
    out: dict[str, Mapping[str, Any]] = {}
    for row in read_items(Path(path)):
        if isinstance(row, dict):
            out[str(row.get("id"))] = row
    return out


def _unreadable(idx: int, exc: Exception) -> ViewItem:
    return ViewItem(idx, f"#{idx + 1}", "unreadable", "", "—", snippet=str(exc), row={})


#: rows of a store read before the page is served; the rest follow in the background
FIRST_ROWS = 200


def _store(path: Path, inputs: Mapping[str, Mapping[str, Any]], root: Path) -> ViewSource:
    from flexjudge.store import ResultStore

    def rows(store: ResultStore, offset: int, limit: int | None) -> list[ViewItem]:
        return [
            judgment_item(offset + i, head, inputs.get(str(head.get("id"))), key=key)
            for i, (key, head) in enumerate(store.heads(offset, limit))
        ]

    with ResultStore(path) as store:
        total = len(store)
        items = rows(store, 0, FIRST_ROWS)
    source = ViewSource("store", path, items, root, store_path=path, total=total)
    if len(items) < total:
        source.complete = threading.Event()

        def load_rest() -> None:
            try:
                with ResultStore(path) as store:
                    source.items.extend(rows(store, len(items), None))
            finally:
                source.complete.set()

        threading.Thread(target=load_rest, name="flexjudge-view-load", daemon=True).start()
    return source


def _bench(folder: Path, root: Path) -> ViewSource:
    report: dict[str, Any] | None = None
    if (folder / "report.json").is_file():
        report = loads((folder / "report.json").read_bytes())
    preds: dict[tuple[str, int], Mapping[str, Any]] = {}
    if (folder / "predictions.jsonl").is_file():
        for pred_row in read_items(folder / "predictions.jsonl"):
            if isinstance(pred_row, dict):
                preds[(str(pred_row.get("id")), int(pred_row.get("trial", 0)))] = pred_row
    scored = read_items(folder / "scored.jsonl") if (folder / "scored.jsonl").is_file() else []
    benchmark = str((report or {}).get("benchmark") or folder.name)
    items: list[ViewItem] = []
    rows: list[Mapping[str, Any] | Exception] = list(scored) or list(preds.values())
    for i, entry in enumerate(rows):
        if isinstance(entry, Exception):
            items.append(_unreadable(i, entry))
            continue
        row = entry
        trial = int(row.get("trial", 0))
        pred = preds.get((str(row.get("id")), trial), row)
        status = (
            "error"
            if pred.get("status") == "error" or row.get("error")
            else ("parse_failure" if row.get("failed") else "ok")
        )
        cats = row.get("categories") or {}
        items.append(
            ViewItem(
                idx=i,
                id=f"{row.get('id')}" + (f" · trial {trial}" if trial else ""),
                status=status,
                protocol=benchmark,
                verdict="—" if row.get("pred") is None else str(row.get("pred")),
                human=row.get("correct") if isinstance(row.get("correct"), bool) else None,
                category=", ".join(f"{k}={v}" for k, v in cats.items()) or None,
                snippet=snippet_of(pred.get("text")),
                row={"scored": row, "prediction": pred},
            )
        )
    plots = {
        name: folder / file
        for name, file in ((report or {}).get("plots") or {}).items()
        if (folder / file).is_file()
    }
    return ViewSource("bench", folder, items, root, report=report, plots=plots)


def _bon(folder: Path, inputs: Mapping[str, Mapping[str, Any]], root: Path) -> ViewSource:
    source = _bon_rows(
        folder / "selections.jsonl", read_items(folder / "selections.jsonl"), inputs, root
    )
    source.path = folder
    if (folder / "summary.json").is_file():
        source.report = loads((folder / "summary.json").read_bytes())
    for plot in sorted(folder.glob("*.png")):
        source.plots[plot.stem] = plot
    return source


def _bon_rows(
    path: Path,
    rows: list[dict[str, Any] | Exception],
    inputs: Mapping[str, Mapping[str, Any]],
    root: Path,
) -> ViewSource:
    items = []
    for i, row in enumerate(rows):
        if isinstance(row, Exception):
            items.append(_unreadable(i, row))
            continue
        selected, labels = chosen_candidate(row.get("selected")), row.get("labels")
        human = None
        if isinstance(selected, int) and isinstance(labels, list) and selected < len(labels):
            human = bool(labels[selected])
        inp = inputs.get(str(row.get("id")))
        items.append(
            ViewItem(
                idx=i,
                id=str(row.get("id", i)),
                status="error" if row.get("error") else "ok",
                protocol="best-of-n",
                verdict="—" if selected is None else f"#{int(selected) + 1} selected",
                human=human,
                snippet=snippet_of(inp.get("question") if inp else None),
                row=row,
                inputs=inp,
            )
        )
    return ViewSource("bon", path, items, root)


def chosen_candidate(selected: Any) -> int | None:
    """A best-of-N row's selection: an index, or one per tie-breaking trial (the most
    frequent, the lowest index on a tie)."""
    if isinstance(selected, int):
        return selected
    if isinstance(selected, list) and selected and all(isinstance(s, int) for s in selected):
        picks: list[int] = selected
        return min(set(picks), key=lambda s: (-picks.count(s), s))
    return None


def _pairs(
    pairs_path: Path | None,
    decisions_path: Path,
    inputs: Mapping[str, Mapping[str, Any]],
    root: Path,
) -> ViewSource:
    kept: dict[str, Mapping[str, Any]] = {}
    if pairs_path is not None:
        for row in read_items(pairs_path):
            if isinstance(row, dict) and "id" in row:
                kept[str(row["id"])] = row
    items = []
    for i, row in enumerate(read_items(decisions_path)):
        if isinstance(row, Exception):
            items.append(_unreadable(i, row))
            continue
        rid = str(row.get("id", i))
        status = "error" if row.get("error") else ("dropped" if row.get("reason") else "kept")
        chosen = row.get("chosen_index")
        verdict = (
            f"#{int(chosen) + 1} chosen"
            if status == "kept" and isinstance(chosen, int)
            else str(row.get("reason") or row.get("error") or "—")
        )
        inp = inputs.get(rid)
        items.append(
            ViewItem(
                idx=i,
                id=rid,
                status=status,
                protocol="pairs",
                verdict=verdict,
                snippet=snippet_of(inp.get("question") if inp else None),
                row={"decision": row, "pair": kept.get(rid)},
                inputs=inp,
            )
        )
    summary_path = decisions_path.with_name(
        decisions_path.name.replace(".decisions.jsonl", ".summary.json")
    )
    report = loads(summary_path.read_bytes()) if summary_path.is_file() else None
    return ViewSource("pairs", pairs_path or decisions_path, items, root, report=report)
