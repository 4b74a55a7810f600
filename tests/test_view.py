"""``flexjudge view``: the data API behind the page, the server's routes and rules, export."""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flexjudge.cli import app
from flexjudge.testing import make_test_image, write_test_wav
from flexjudge.view import export_view, load_source, make_server

HOSTILE = "<script>document.title='owned'</script><img src=x onerror=alert(1)>"


def write_items(folder: Path) -> Path:
    """An items file with a text pair, an image, an audio clip, a molecule, a hostile text
    and a path that escapes the folder (media paths are relative to the file)."""
    folder.mkdir(parents=True, exist_ok=True)
    make_test_image().save(folder / "pic.png")
    write_test_wav(folder / "tone.wav", seconds=0.2)
    rows = [
        {"id": "pair", "question": "Capital of Australia?", "responses": ["Canberra", "Sydney"]},
        {
            "id": "img",
            "question": "What is shown?",
            "responses": ["A gradient."],
            "images": ["pic.png"],
        },
        {
            "id": "aud",
            "question": "Is this a tone?",
            "responses": ["Yes."],
            "audios": ["tone.wav"],
            "protocol": "score-5",
        },
        {
            "id": "mol",
            "question": "Is this ethanol?",
            "responses": ["Yes, CCO."],
            "molecules": ["CCO"],
        },
        {"id": "hostile", "question": HOSTILE, "responses": [HOSTILE, "plain"]},
        {"id": "escape", "question": "q", "responses": ["r"], "images": ["../outside.png"]},
    ]
    path = folder / "items.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    make_test_image().save(folder.parent / "outside.png")
    return path


def judge_run(
    items: Path, out: Path, *extra: str, model: str = "mock", backend: str = "mock"
) -> None:
    res = CliRunner().invoke(
        app,
        [
            "judge",
            "run",
            "--model",
            model,
            "--backend",
            backend,
            "-i",
            str(items),
            "-o",
            str(out),
            "--swap",
            "--votes",
            "2",
            *extra,
        ],
    )
    assert res.exit_code in (0, 1), res.output


@pytest.fixture()
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    items = write_items(tmp_path / "data")
    monkeypatch.chdir(items.parent)  # judge run resolves media from the working directory today
    out = tmp_path / "results.jsonl"
    judge_run(items, out, "--store", str(tmp_path / "run.sqlite"))
    return items, out


@pytest.fixture()
def served(run: tuple[Path, Path]) -> Iterator[tuple[str, ThreadingHTTPServer]]:
    items, out = run
    server = make_server(load_source(out, inputs=items))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}", server
    server.shutdown()
    server.server_close()


def get(url: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as res:
            return res.status, res.read(), dict(res.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def get_json(url: str) -> Any:
    status, body, _ = get(url)
    assert status == 200, body
    return json.loads(body)


def test_judge_run_output_loads_with_inputs_and_facets(run: tuple[Path, Path]) -> None:
    items, out = run
    source = load_source(out, inputs=items)
    assert source.kind == "judgments" and len(source.items) == 6
    by_id = {i.id: i for i in source.items}
    assert by_id["pair"].status == "ok" and by_id["pair"].snippet == "Capital of Australia?"
    assert by_id["pair"].swap_disagree in (True, False)  # judged in both orders
    assert sum(source.facets()["status"].values()) == 6


def test_store_source_reads_heads_then_full_records(run: tuple[Path, Path], tmp_path: Path) -> None:
    items, _ = run
    source = load_source(tmp_path / "run.sqlite", inputs=items)
    assert source.kind == "store" and {i.status for i in source.items} == {"ok"}
    assert all(i.key and "samples" not in i.row for i in source.items)
    from flexjudge.view.detail import MediaIndex, item_detail

    detail = item_detail(source, source.items[0], MediaIndex())
    assert len(detail["samples"]) == 4  # 2 votes x 2 orders, read back from the store


def test_api_item_page_has_samples_orders_prompt_and_media(
    served: tuple[str, ThreadingHTTPServer],
) -> None:
    base, _ = served
    meta = get_json(base + "/api/meta")
    assert meta["kind"] == "judgments" and meta["count"] == 6
    table = get_json(base + "/api/items")
    idx = {row[1]: row[0] for row in table["rows"]}
    pair = get_json(f"{base}/api/item/{idx['pair']}")
    assert [r["label"] for r in pair["responses"]] == ["A", "B"]
    assert pair["orders"] == ["A B", "B A"] and len(pair["samples"]) == 4
    assert pair["prompt"]["matches"] is True  # re-rendered prompt equals the judged one
    assert all(s["reasoning"] for s in pair["samples"])
    kinds = {}
    for name in ("img", "aud", "mol"):
        (medium,) = get_json(f"{base}/api/item/{idx[name]}")["media"]
        status, body, headers = get(base + medium["url"])
        assert status == 200, body
        kinds[name] = (body[:4], headers["Content-Type"])
    assert kinds["img"] == (b"\x89PNG", "image/png")
    assert kinds["aud"] == (b"RIFF", "audio/wav")
    assert kinds["mol"] == (b"\x89PNG", "image/png")  # RDKit depiction of the SMILES


def test_traversal_and_unlisted_paths_are_refused(
    served: tuple[str, ThreadingHTTPServer], tmp_path: Path
) -> None:
    base, _ = served
    table = get_json(base + "/api/items")
    idx = {row[1]: row[0] for row in table["rows"]}
    (medium,) = get_json(f"{base}/api/item/{idx['escape']}")["media"]
    assert get(base + medium["url"])[0] == 403  # ../outside.png exists but is outside the root
    for path in (
        "/static/../../etc/passwd",
        "/static/%2e%2e/x",
        "/media/999",
        "/media/-1",
        "/media/../api/meta",
        "/plot/../x",
        "/etc/passwd",
        "/api/item/99",
    ):
        assert get(base + path)[0] == 404, path
    status, _, headers = get(base + "/")
    assert status == 200 and "default-src 'none'" in headers["Content-Security-Policy"]


def test_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    items = write_items(tmp_path / "data")
    os.symlink(tmp_path / "outside.png", items.parent / "link.png")
    row = {"id": "x", "status": "ok", "protocol": "score-10", "task": "score"}
    (tmp_path / "r.jsonl").write_text(json.dumps(row) + "\n")
    (items.parent / "in.jsonl").write_text(json.dumps({"id": "x", "images": ["link.png"]}) + "\n")
    server = make_server(load_source(tmp_path / "r.jsonl", inputs=items.parent / "in.jsonl"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = "http://{}:{}".format(*server.server_address[:2])
    try:
        (medium,) = get_json(base + "/api/item/0")["media"]
        assert get(base + medium["url"])[0] == 403
    finally:
        server.shutdown()
        server.server_close()


def test_server_binds_loopback_by_default(run: tuple[Path, Path]) -> None:
    server = make_server(load_source(run[1]))
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.server_close()


def test_search_covers_questions_and_responses(served: tuple[str, ThreadingHTTPServer]) -> None:
    base, _ = served
    hits = get_json(base + "/api/search?q=sydney")["idx"]
    assert len(hits) == 1
    assert get_json(base + "/api/search?q=nothing-like-this")["idx"] == []


def test_bench_folder_has_report_plots_and_human_agreement(tmp_path: Path) -> None:
    data = tmp_path / "pair.jsonl"
    rows = [
        {
            "id": i,
            "image": "",
            "instruction": f"q{i}",
            "answers": [{"answer": "a"}, {"answer": "b"}],
            "human": ["A", "B", "C"][i % 3],
            "original_dataset": "coco",
        }
        for i in range(3)
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "bench"
    res = CliRunner().invoke(
        app,
        [
            "bench",
            "run",
            "mllm-judge",
            "--split",
            "pair",
            "--model",
            "mock",
            "--backend",
            "mock",
            "--data",
            str(data),
            "--out",
            str(out),
        ],
    )
    if res.exit_code != 0:
        pytest.skip(f"bench run on this schema failed: {res.output[-300:]}")
    source = load_source(out)
    assert source.kind == "bench" and source.report is not None
    assert source.items and all(i.human in (True, False, None) for i in source.items)
    assert set(source.plots) <= set(source.report.get("plots", {}))


def test_bon_and_pairs_outputs_load(tmp_path: Path) -> None:
    cands = tmp_path / "cands.jsonl"
    rows = [
        {"id": "a", "question": "q1", "responses": ["x score=2", "y score=8"], "labels": [0, 1]}
    ]
    cands.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = CliRunner().invoke(
        app,
        [
            "bon",
            "--model",
            "mock",
            "--backend",
            "mock",
            "--input",
            str(cands),
            "--out",
            str(tmp_path / "bon"),
        ],
    )
    assert res.exit_code == 0, res.output
    bon = load_source(tmp_path / "bon", inputs=cands)
    assert bon.kind == "bon" and len(bon.items) == 1 and bon.report is not None
    from flexjudge.view.detail import MediaIndex, item_detail

    detail = item_detail(bon, bon.items[0], MediaIndex())
    assert [c["score"] for c in detail["candidates"]] == sorted(
        [c["score"] for c in detail["candidates"]], reverse=True
    )
    out = tmp_path / "pairs.jsonl"
    res = CliRunner().invoke(
        app,
        ["pairs", "--model", "m", "--backend", "mock", "--input", str(cands), "--out", str(out)],
    )
    assert res.exit_code == 0, res.output
    pairs = load_source(out, inputs=cands)
    assert pairs.kind == "pairs" and pairs.items[0].status in ("kept", "dropped")


def test_export_writes_a_static_folder(run: tuple[Path, Path], tmp_path: Path) -> None:
    items, out = run
    report = export_view(load_source(out, inputs=items), tmp_path / "site")
    site = tmp_path / "site"
    assert report["items"] == 6 and len(report["media_errors"]) == 1  # the escaping path
    assert (site / "index.html").read_text().count("data-mode='export'") == 1
    chunk = json.loads((site / "data" / "item" / "0.json").read_text())
    assert len(chunk) == 6 and (site / "media" / "0").is_file()
    assert "https://" not in (site / "static" / "app.js").read_text()  # nothing from a CDN


def test_unknown_file_gets_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "x.jsonl"
    bad.write_text(json.dumps({"foo": 1}) + "\n")
    res = CliRunner().invoke(app, ["view", str(bad)])
    assert res.exit_code == 2 and "expected a judge run output" in res.output


def test_big_store_serves_its_first_rows_while_the_rest_loads(tmp_path: Path) -> None:
    from flexjudge.store import ResultStore
    from flexjudge.view.sources import FIRST_ROWS

    n = FIRST_ROWS + 300
    row = {"task": "score", "protocol": "score-10", "status": "ok", "scores": [7.0]}
    with ResultStore(tmp_path / "big.sqlite") as store:
        store.put_many([(f"k{i}", {**row, "id": f"item-{i}"}) for i in range(n)])
    source = load_source(tmp_path / "big.sqlite")
    assert source.total == n and len(source.items) >= FIRST_ROWS
    server = make_server(source)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = "http://{}:{}".format(*server.server_address[:2])
    try:
        first = get_json(base + "/api/items?first=100")
        assert [r[1] for r in first["rows"]] == [f"item-{i}" for i in range(100)]
        everything = get_json(base + "/api/items")
        assert everything["complete"] and len(everything["rows"]) == n
        assert [r[0] for r in everything["rows"]] == list(range(n))
        meta = get_json(base + "/api/meta")
        assert meta["complete"] and meta["count"] == n
        assert get_json(f"{base}/api/item/{n - 1}")["id"] == f"item-{n - 1}"
    finally:
        server.shutdown()
        server.server_close()
