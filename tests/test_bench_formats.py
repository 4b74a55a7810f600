"""Benchmarks read as their publishers distribute them: HF parquet/arrow files, ``datasets``
save/cache folders, ``{bytes, path}`` / PIL / array media cells, URLs on a local mirror, and one
clear message for a file in the wrong format."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from flexjudge.backends import MockBackend
from flexjudge.bench import BenchRunConfig, LoadConfig, get_benchmark, run_benchmark
from flexjudge.bench._formats import media_cell, mirror_path
from flexjudge.bench._io import read_records
from flexjudge.cli import app
from flexjudge.errors import InputError
from flexjudge.judge import Judge
from flexjudge.testing import make_test_image, write_test_video


def _png(seed: int) -> bytes:
    buf = io.BytesIO()
    make_test_image(32, 32, seed=seed).save(buf, format="PNG")
    return buf.getvalue()


def _vlrb_rows(n: int = 3) -> list[dict[str, Any]]:
    """VL-RewardBench's HF ``test`` schema (``image`` is an Image feature)."""
    return [
        {
            "id": f"mathverse_{i}",
            "query": "Which answer is right?",
            "response": ["the first", "the second one"],
            "human_ranking": [0, 1] if i % 2 == 0 else [1, 0],
            "image": {"bytes": _png(i), "path": f"{i}.png"},
            "models": ["m1", "m2"],
            "judge": "human",
            "rationale": "",
            "query_source": "mathverse",
            "ground_truth": "",
        }
        for i in range(n)
    ]


def _parquet(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def test_vl_rewardbench_parquet_image_dicts_load_and_judge(tmp_path: Path) -> None:
    data = _parquet(tmp_path / "test-00000-of-00001.parquet", _vlrb_rows())
    recs = get_benchmark("vl-rewardbench").load(LoadConfig("test", data))
    assert [r.error for r in recs] == [None, None, None]
    assert isinstance(recs[0].images[0], bytes) and recs[0].images[0] == _png(0)
    backend = MockBackend()
    score = run_benchmark(
        BenchRunConfig("vl-rewardbench", "mock", tmp_path / "run", data=data, plots=False),
        judge=Judge(backend),
    )
    assert score.counts["errors"] == 0 and score.counts["scored"] == 3 * 5
    assert backend.calls[0].images  # the decoded image reached the backend


def test_datasets_save_to_disk_and_cache_folder(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    rows = _vlrb_rows(2)
    for r in rows:
        r["image"] = make_test_image(32, 32, seed=1)  # PIL in, Image feature out
    features = datasets.Features(
        {
            **{k: datasets.Value("string") for k in ("id", "query", "judge", "rationale")},
            **{k: datasets.Value("string") for k in ("query_source", "ground_truth")},
            "response": datasets.Sequence(datasets.Value("string")),
            "models": datasets.Sequence(datasets.Value("string")),
            "human_ranking": datasets.Sequence(datasets.Value("int64")),
            "image": datasets.Image(),
        }
    )
    ds = datasets.Dataset.from_list(rows, features=features)
    saved = tmp_path / "saved"
    datasets.DatasetDict({"test": ds}).save_to_disk(str(saved))
    bench = get_benchmark("vl-rewardbench")
    recs = bench.load(LoadConfig("test", saved))
    assert [r.error for r in recs] == [None, None]
    assert isinstance(recs[0].images[0], bytes)  # undecoded {bytes, path} storage
    # a load_dataset cache folder: bare arrow shards (stream format) with dataset_info.json
    cache = tmp_path / "cache" / "default" / "0.0.0" / "abc"
    cache.mkdir(parents=True)
    for shard in (saved / "test").glob("*.arrow"):
        shutil.copy(shard, cache / "vl-rewardbench-test.arrow")
    recs2 = bench.load(LoadConfig("test", cache))
    assert [r.id for r in recs2] == [r.id for r in recs]
    assert recs2[0].images[0] == recs[0].images[0]


def test_a_row_that_does_not_fit_names_file_row_and_field(tmp_path: Path) -> None:
    rows = _vlrb_rows(3)
    rows[1]["image"] = {"bytes": None, "path": None}
    rows[2]["human_ranking"] = [0, 0]
    data = _parquet(tmp_path / "vlrb.parquet", rows)
    recs = get_benchmark("vl-rewardbench").load(LoadConfig("test", data))
    assert recs[0].error is None
    assert recs[1].error is not None and "vlrb.parquet[1]" in recs[1].error
    assert "'image'" in recs[1].error
    assert recs[2].error is not None and "vlrb.parquet[2]" in recs[2].error
    assert "human_ranking" in recs[2].error


def test_wrong_format_file_is_one_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "data.json"
    bad.write_bytes(b"\x89\xfe\x00binary garbage\xff")
    with pytest.raises(InputError, match="neither UTF-8"):
        read_records(bad)
    fake = tmp_path / "x.parquet"
    fake.write_text("[]", encoding="utf-8")
    with pytest.raises(InputError, match="not a parquet file"):
        read_records(fake)
    res = CliRunner().invoke(
        app,
        [
            *("bench", "run", "vl-rewardbench", "-m", "x", "--backend", "mock"),
            *("--out", str(tmp_path / "o"), "--data", str(bad)),
        ],
    )
    # the console entry point turns this into one JSON line on stderr and exit code 2
    assert res.exit_code != 0 and isinstance(res.exception, InputError)
    assert "neither UTF-8" in str(res.exception)


def test_parquet_with_a_wrong_suffix_is_recognised_by_content(tmp_path: Path) -> None:
    data = _parquet(tmp_path / "rows.json", _vlrb_rows(1))
    assert read_records(data)[0][1]["id"] == "mathverse_0"


def _genai_video_rows(n: int) -> list[dict[str, Any]]:
    return [
        {
            "prompt": f"a cat {i}",
            "left_video": f"https://huggingface.co/datasets/X/resolve/main/videos/l{i}.mp4",
            "right_video": f"https://huggingface.co/datasets/X/resolve/main/videos/r{i}.mp4",
            "left_model": "a",
            "right_model": "b",
            "vote_type": "leftvote",
        }
        for i in range(n)
    ]


def test_genai_bench_video_urls_map_onto_the_media_root_mirror(tmp_path: Path) -> None:
    data = _parquet(tmp_path / "video_generation.parquet", _genai_video_rows(2))
    mirror = tmp_path / "mirror"
    for i in range(2):
        for side in "lr":
            path = mirror / "datasets/X/resolve/main/videos" / f"{side}{i}.mp4"
            path.parent.mkdir(parents=True, exist_ok=True)
            write_test_video(path, frames=4, h=32, w=32)
    bench = get_benchmark("genai-bench")
    recs = bench.load(LoadConfig("video", data, media_root=mirror))
    assert [r.error for r in recs] == [None, None]
    assert recs[0].videos[0] == str(mirror / "datasets/X/resolve/main/videos/l0.mp4")
    without = bench.load(LoadConfig("video", data))
    assert all(r.error and "is a URL" in r.error and "left_video" in r.error for r in without)
    assert "video_generation.parquet[0]" in str(without[0].error)


def test_mirror_path_keeps_the_url_path_with_or_without_the_host(tmp_path: Path) -> None:
    url = "https://example.org/a/b%20c.jpg"
    assert mirror_path(url, tmp_path) == tmp_path / "a/b c.jpg"
    (tmp_path / "example.org/a").mkdir(parents=True)
    (tmp_path / "example.org/a/b c.jpg").write_bytes(b"x")
    assert mirror_path(url, tmp_path) == tmp_path / "example.org/a/b c.jpg"


def test_media_cells_audio_arrays_pil_and_bad_values(tmp_path: Path) -> None:
    kw: dict[str, Any] = {"root": tmp_path, "media_root": None, "where": "f[3]", "field": "audio"}
    wave = np.zeros(160, dtype=np.float32)
    out = media_cell({"array": wave, "sampling_rate": 16000, "path": None}, **kw)
    assert isinstance(out, tuple) and out[1] == 16000 and out[0].shape == (160,)
    assert media_cell({"bytes": None, "path": "x.wav"}, **kw) == str(tmp_path / "x.wav")
    pil = make_test_image(8, 8)
    assert media_cell(pil, **kw) is pil
    with pytest.raises(InputError, match="sampling_rate") as e:
        media_cell({"array": [0.0]}, **kw)
    assert "f[3]" in str(e.value) and "audio" in str(e.value)
    with pytest.raises(InputError, match="got int"):
        media_cell(5, **kw)


def test_mj_bench_hf_parquet_subsets(tmp_path: Path) -> None:
    rows = [
        {
            "caption": "a dog",
            "image0": {"bytes": _png(i), "path": None},
            "image1": {"bytes": _png(i + 9), "path": None},
            "label": i % 2,
            "info": "",
        }
        for i in range(2)
    ]
    _parquet(tmp_path / "hf" / "alignment" / "object.parquet", rows)
    recs = get_benchmark("mj-bench").load(LoadConfig("alignment", tmp_path / "hf"))
    assert [(r.id, r.gold) for r in recs] == [("object/0", "A"), ("object/1", "B")]
    assert all(isinstance(im, bytes) for r in recs for im in r.images)


def test_mllm_judge_github_json_still_loads(tmp_path: Path) -> None:
    row = {
        "id": 1,
        "pair_id": 0,
        "image_path": "image/1.jpg",
        "original_dataset": "coco",
        "instruction": "q",
        "answer1": {"name": "a", "answer": "x"},
        "answer2": {"name": "b", "answer": "y"},
        "human": "A",
    }
    path = tmp_path / "pair.jsonl"
    path.write_text("\ufeff" + json.dumps(row) + "\n", encoding="utf-8")  # a BOM is accepted
    recs = get_benchmark("mllm-judge").load(LoadConfig("pair", path))
    assert recs[0].error is None and recs[0].gold == "A"


def test_nisqa_table_with_audio_bytes_and_arrays_is_judged(tmp_path: Path) -> None:
    from flexjudge.testing import write_test_wav

    wav = write_test_wav(tmp_path / "a.wav", seconds=0.2)
    rows = [
        {"audio": {"bytes": Path(wav).read_bytes(), "path": "a.wav"}, "mos": 3.5, "set": "FOR"},
        {
            "audio": {"array": [0.0, 0.1, -0.1] * 1000, "sampling_rate": 16000, "path": None},
            "mos": 2.0,
            "set": "FOR",
        },
        {"audio": {"array": [0.0], "sampling_rate": None, "path": None}, "mos": 1.0},
    ]
    for r in rows:  # one schema for every row (pyarrow infers a single struct type)
        r["audio"] = {"bytes": None, "path": None, "array": None, "sampling_rate": None} | r[
            "audio"
        ]
    data = _parquet(tmp_path / "nisqa.parquet", rows)
    backend = MockBackend(family="qwen2_5_omni")
    score = run_benchmark(
        BenchRunConfig("nisqa", "mock", tmp_path / "run", data=data, plots=False),
        judge=Judge(backend),
    )
    assert score.counts["records"] == 3 and score.counts["errors"] == 1
    bad = next(r for r in score.rows if r.error)
    assert "nisqa.parquet[2]" in str(bad.error) and "sampling_rate" in str(bad.error)
    assert len(backend.calls) == 2 and all(c.audios for c in backend.calls)
