"""What a user meets on the command line and in the Python API (issue 15): exit codes, clean
streams, text output, media paths, protocol commands, HF loading conventions, server caps."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from flexjudge import BackendError, InputError, Judge, MockBackend
from flexjudge.cli import app
from flexjudge.cli._common import verdict_line

REPO = Path(__file__).resolve().parents[1]


def _invoke(args: list[str]) -> tuple[int, str, str]:
    res = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    return res.exit_code, res.stdout, res.stderr


def _items(path: Path, rows: list[dict[str, object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _run_args(tmp_path: Path, *extra: str) -> list[str]:
    items = _items(
        tmp_path / "items.jsonl",
        [{"id": str(i), "question": "q", "responses": ["a", "b"]} for i in range(3)],
    )
    out = tmp_path / "out.jsonl"
    return ["judge", "run", "-m", "mock", "--backend", "mock", "-i", str(items), "-o", str(out)]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ---------------------------------------------------------------- exit codes and streams
def test_version() -> None:
    from flexjudge import __version__

    code, out, _ = _invoke(["--version"])
    assert code == 0 and out.strip() == f"flexjudge {__version__}"


def test_run_wide_error_fails_fast_with_exit_2(tmp_path: Path) -> None:
    code, out, err = _invoke([*_run_args(tmp_path), "--protocol", "nope"])
    assert code == 2 and out == ""
    assert "unknown protocol 'nope'" in json.loads(err)["error"]
    assert not (tmp_path / "out.jsonl").exists()  # nothing ran


def test_protocol_the_model_family_cannot_serve_fails_fast(tmp_path: Path) -> None:
    code, _, err = _invoke([*_run_args(tmp_path), "--protocol", "nisqa"])
    assert code == 2 and "needs a qwen2_5_omni model" in json.loads(err)["error"]


def test_budget_forcing_on_a_backend_that_cannot_continue_fails_fast(tmp_path: Path) -> None:
    pytest.importorskip("httpx")
    args = _run_args(tmp_path)
    args[args.index("mock", 4)] = "openai"  # --backend openai
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    code, out, err = _invoke([*args, "--base-url", url, "--budget-forcing", "1"])
    assert code == 2 and out == ""
    assert "cannot continue a prefix" in json.loads(err)["error"]


def test_dead_base_url_fails_fast(tmp_path: Path) -> None:
    pytest.importorskip("httpx")
    args = _run_args(tmp_path)
    args[args.index("mock", 4)] = "openai"
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    code, _, err = _invoke([*args, "--base-url", url])
    assert code == 2 and f"cannot reach the server at {url}" in json.loads(err)["error"]


def test_all_items_failed_exits_1_and_still_writes_rows(tmp_path: Path) -> None:
    items = _items(
        tmp_path / "items.jsonl",
        [
            {"id": str(i), "question": "q", "responses": ["a"], "images": ["missing.png"]}
            for i in range(2)
        ],
    )
    out = tmp_path / "out.jsonl"
    code, stdout, _ = _invoke(
        ["judge", "run", "-m", "m", "--backend", "mock", "-i", str(items), "-o", str(out)]
    )
    assert code == 1
    assert json.loads(stdout)["errors"] == 2
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["status"] for r in rows] == ["error", "error"]


def test_stdout_carries_only_the_summary(tmp_path: Path) -> None:
    code, out, err = _invoke(_run_args(tmp_path))
    assert code == 0, err
    summary = json.loads(out)  # the whole of stdout is one JSON document
    assert summary["items"] == 3 and summary["ok"] == 3


def test_text_format_one_line_per_verdict(tmp_path: Path) -> None:
    args = ["judge", "compare", "-m", "m", "--backend", "mock", "--question", "q"]
    code, out, _ = _invoke(
        [*args, "--response", "a", "--response", "b", "--votes", "3", "--format", "text"]
    )
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(
        r"(A wins|B wins|tie) [\d.]+ vs [\d.]+ \(ok, [0-3]/3 votes\) — The mock judge weighs .*",
        lines[0],
    ), lines[0]
    code, out, _ = _invoke([*_run_args(tmp_path), "--format", "text"])
    assert code == 0 and re.search(r"^items\s+3$", out, re.M) and re.search(r"^ok\s+3$", out, re.M)


def test_verdict_line_names_failures() -> None:
    r = Judge(MockBackend(outputs=["no tags"])).score("q", "a")
    assert verdict_line(r).startswith("no verdict (no_answer") or "no verdict" in verdict_line(r)
    err = Judge(MockBackend()).run(
        [{"id": "x", "question": "q", "responses": ["a"], "protocol": "nope"}]
    )[0]
    assert verdict_line(err).startswith("x: error — ")


# ---------------------------------------------------------------- media paths
def test_media_paths_resolve_against_the_input_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    Image.new("RGB", (32, 32), "red").save(data / "cat.png")
    items = _items(
        data / "items.jsonl",
        [{"id": "1", "question": "q", "responses": ["a"], "images": ["cat.png"]}],
    )
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    out = tmp_path / "out.jsonl"
    base = ["judge", "run", "-m", "m", "--backend", "mock", "-i", str(items), "-o", str(out)]
    code, _, err = _invoke(base)
    assert code == 0, err
    assert json.loads(out.read_text())["status"] == "ok"
    code, _, _ = _invoke([*base, "--media-root", str(elsewhere)])  # no cat.png there
    row = json.loads(out.read_text())
    assert code == 1 and row["status"] == "error" and "images[0]" in row["error"]


def test_pairs_write_media_paths_relative_to_the_output(tmp_path: Path) -> None:
    from flexjudge.apps._pairs import PairsReport, write_pairs

    img = tmp_path / "in" / "a.png"
    img.parent.mkdir()
    Image.new("RGB", (8, 8)).save(img)
    row = {
        "prompt": "q",
        "chosen": "a",
        "rejected": "b",
        "images": [str(img), "data:image/png;base64,AA"],
    }
    out = tmp_path / "out" / "deep" / "pairs.jsonl"
    write_pairs(PairsReport([row], [], {}), out)
    written = json.loads(out.read_text())["images"]
    assert written[0] == "../../in/a.png" and (out.parent / written[0]).is_file()
    assert written[1] == row["images"][1]  # type: ignore[index]


# ---------------------------------------------------------------- protocols
def test_protocols_list_prints_the_docs_table() -> None:
    code, out, _ = _invoke(["protocols", "list"])
    assert code == 0
    lines = (REPO / "docs" / "protocols.md").read_text(encoding="utf-8").splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("| protocol |"))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    assert out.splitlines() == lines[start:end]


def test_protocols_show_general_and_rendered() -> None:
    code, out, _ = _invoke(["protocols", "show", "score-10"])
    assert code == 0 and "## system" in out and "## user" in out and "{question}" in out
    assert "{response_1}" in out
    code, out, _ = _invoke(
        ["protocols", "show", "mllm-judge/pair", "--mode", "reference", "--render"]
    )
    assert code == 0 and out.startswith("<|im_start|>system\n") and "<|image_pad|>" in out
    code, _, err = _invoke(["protocols", "show", "nope"])
    assert code == 2 and "unknown protocol" in err


def test_protocols_export_text_and_json() -> None:
    code, out, _ = _invoke(["protocols", "export", "--text"])
    assert code == 0 and out.startswith("## P-01 ")
    code, out, _ = _invoke(["protocols", "export"])
    assert code == 0 and set(json.loads(out)) >= {"P-01", "P-32"}


# ---------------------------------------------------------------- Python API
def test_single_call_error_names_record_and_field_once() -> None:
    with pytest.raises(InputError) as info:
        Judge(MockBackend()).score("q", "a", images=["/nope/missing.png"], id="r1")
    text = str(info.value)
    assert text.count("field 'images[0]'") == 1 and info.value.field == "images[0]"


def test_hf_load_options_are_checked_per_backend() -> None:
    with pytest.raises(BackendError, match="backend 'mock' does not take device_map, dtype"):
        Judge.from_pretrained("m", backend="mock", device_map="auto", dtype="float16")
    from flexjudge.backends import load_kwargs

    assert load_kwargs("vllm", dtype="torch.bfloat16", revision=None) == {"dtype": "bfloat16"}


@pytest.mark.slow
def test_from_pretrained_passes_hf_options_to_the_model(tiny_vl: Path) -> None:
    torch = pytest.importorskip("torch")
    judge = Judge.from_pretrained(
        str(tiny_vl),
        device_map="cpu",
        dtype=torch.float32,
        attn_implementation="eager",
        trust_remote_code=False,
        revision=None,
        max_tokens=4,
    )
    model = judge.backend.model  # type: ignore[attr-defined]
    assert model.dtype == torch.float32 and judge.backend.device == "cpu"  # type: ignore[attr-defined]
    assert model.config._attn_implementation == "eager"
    assert judge.score("q", "a").status != "error"
    half = Judge.from_pretrained(str(tiny_vl), torch_dtype="bfloat16")
    assert half.backend.model.dtype == torch.bfloat16  # type: ignore[attr-defined]


# ---------------------------------------------------------------- best-of-N plot
def test_bon_plot_copes_with_no_parsed_candidate(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from flexjudge.apps._bon import BestOfNConfig, best_of_n, write_best_of_n
    from flexjudge.apps._records import parse_candidates

    recs = [
        parse_candidates({"id": "1", "question": "q", "responses": ["a", "b"], "labels": [1, 0]})
    ]
    report = best_of_n(Judge(MockBackend(outputs=["no tags"])), recs, BestOfNConfig())
    paths = write_best_of_n(report, tmp_path, plot=True)
    assert paths["plot"].stat().st_size > 0


# ---------------------------------------------------------------- server caps
def test_server_requests_set_options_within_caps() -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from flexjudge.serve.app import ServerConfig, create_app

    backend = MockBackend()
    cfg = ServerConfig(max_votes=3, max_request_tokens=64, allow_swap=False)
    with TestClient(create_app(Judge(backend), cfg)) as client:
        body = {"mode": "compare", "question": "q", "responses": ["a", "b"]}
        ok = client.post(
            "/v1/judge", json=body | {"votes": 3, "max_tokens": 64, "temperature": 0.2}
        )
        assert ok.status_code == 200, ok.text
        sampling = backend.calls[-1].sampling
        assert (sampling.n, sampling.max_tokens, sampling.temperature) == (3, 64, 0.2)
        for extra, field in (
            ({"votes": 4}, "votes"),
            ({"max_tokens": 65}, "max_tokens"),
            ({"swap": True}, "swap"),
        ):
            res = client.post("/v1/judge", json=body | extra)
            assert res.status_code == 422 and res.json()["error"].startswith(field), res.text
        res = client.post("/v1/judge", json=body | {"temperature": "nan"})
        assert res.status_code == 422


# ---------------------------------------------------------------- train input errors
def test_train_names_a_non_utf8_line(tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_bytes(b'{"prompt": "a", "text": "b"}\n{"prompt": "caf\xe9", "text": "b"}\n')
    from flexjudge.train._data import read_rows

    with pytest.raises(InputError, match=r"line 2 is not UTF-8"):
        read_rows(data)


def test_train_checks_the_base_before_launching(tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text('{"prompt": "a", "text": "b"}\n')
    bad = tmp_path / "no-such-model"
    args = ["train", "--base", str(bad), "--data", str(data), "--output", str(tmp_path / "o")]
    code, _, err = _invoke([*args, "--launch", "2", "--device", "cpu"])
    assert code == 2 and "cannot load base checkpoint" in err and "Traceback" not in err


def test_train_numbers_rows_from_1() -> None:
    from flexjudge.train._data import CHATML, tokenize_rows

    class _Tok:
        def __call__(self, text: str, add_special_tokens: bool = True) -> dict[str, list[int]]:
            return {"input_ids": [ord(c) % 50 for c in text]}

    with pytest.raises(InputError) as info:
        tokenize_rows(
            [{"prompt": "x"}], tokenizer=_Tok(), markers=CHATML, mode="clean", block_size=64
        )
    assert info.value.record == "row 1"


def test_unknown_protocol_row_names_its_record_and_field() -> None:
    rows = [{"id": "p1", "question": "q", "responses": ["a"], "protocol": "nope"}]
    result = Judge(MockBackend()).run(rows)[0]
    assert result.status == "error" and result.error_field == "protocol"
    assert (result.error or "").startswith("record 'p1', field 'protocol': unknown protocol 'nope'")
