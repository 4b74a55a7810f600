"""End to end through the CLI on tiny random-weight checkpoints: text, image, video, audio.

A random model writes no answer tags, so these runs also prove that unparsable output is
reported with its status instead of a silent tie.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from flexjudge.cli import app

pytestmark = pytest.mark.slow

PARSE_STATUSES = {"ok", "no_answer", "wrong_count", "out_of_range", "truncated", "malformed"}


def _run(args: list[str]) -> dict[str, object]:
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)  # type: ignore[no-any-return]


def _check_result(data: dict[str, object], task: str, n_samples: int = 1) -> None:
    assert data["task"] == task
    assert data["status"] in PARSE_STATUSES
    samples = data["samples"]
    assert isinstance(samples, list) and len(samples) == n_samples
    for s in samples:
        assert s["verdict"]["status"] in PARSE_STATUSES
        assert s["finish_reason"] in ("stop", "length")
    if data["status"] != "ok":
        assert data["preference"] is None and data["error"]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from flexjudge.testing import write_test_video, write_test_wav

    d = tmp_path_factory.mktemp("media")
    img = d / "img.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(img)
    corrupt = d / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    video = d / "clip.mp4"
    write_test_video(video)
    wav = d / "tone.wav"
    write_test_wav(wav)
    return {"image": img, "corrupt": corrupt, "video": video, "audio": wav}


def test_text_and_image_judgments(tiny_vl: Path, media: dict[str, Path]) -> None:
    base = ["--model", str(tiny_vl), "--max-tokens", "12", "--question", "What is shown?"]
    data = _run(["judge", "compare", *base, "--response", "a red box", "--response", "a cat"])
    _check_result(data, "compare")
    data = _run(
        [
            "judge",
            "score",
            *base,
            "--response",
            "red",
            "--image",
            str(media["image"]),
            "--protocol",
            "score-5",
            "--votes",
            "2",
        ]
    )
    _check_result(data, "score", n_samples=2)
    data = _run(
        [
            "judge",
            "rank",
            *base,
            "--response",
            "a",
            "--response",
            "b",
            "--response",
            "c",
            "--image",
            str(media["image"]),
        ]
    )
    _check_result(data, "rank")
    data = _run(
        [
            "judge",
            "compare",
            *base,
            "--response",
            "a",
            "--response",
            "b",
            "--image",
            str(media["image"]),
            "--protocol",
            "mllm-judge/pair",
            "--mode",
            "reference",
            "--swap",
        ]
    )
    _check_result(data, "compare", n_samples=2)
    assert [s["order"] for s in data["samples"]] == [[0, 1], [1, 0]]  # type: ignore[index]


def test_video_judgment(tiny_vl: Path, media: dict[str, Path]) -> None:
    data = _run(
        [
            "judge",
            "score",
            "--model",
            str(tiny_vl),
            "--max-tokens",
            "8",
            "--question",
            "What happens?",
            "--response",
            "colours change",
            "--video",
            str(media["video"]),
        ]
    )
    _check_result(data, "score")


def test_audio_judgment_on_omni(tiny_omni: Path, media: dict[str, Path]) -> None:
    data = _run(
        [
            "judge",
            "score",
            "--model",
            str(tiny_omni),
            "--max-tokens",
            "8",
            "--protocol",
            "nisqa",
            "--audio",
            str(media["audio"]),
        ]
    )
    _check_result(data, "score")
    data = _run(
        [
            "judge",
            "score",
            "--model",
            str(tiny_omni),
            "--max-tokens",
            "8",
            "--question",
            "Is it a tone?",
            "--response",
            "yes",
            "--audio",
            str(media["audio"]),
            "--image",
            str(media["image"]),
        ]
    )
    _check_result(data, "score")


def test_corrupt_image_is_a_clear_error(tiny_vl: Path, media: dict[str, Path]) -> None:
    res = CliRunner().invoke(
        app,
        [
            "judge",
            "score",
            "--model",
            str(tiny_vl),
            "--question",
            "q",
            "--response",
            "r",
            "--image",
            str(media["corrupt"]),
        ],
    )
    assert res.exit_code != 0
    assert "corrupt.jpg" in res.output and "images[0]" in res.output


def test_batch_run_with_media_and_bad_rows(
    tiny_omni: Path, media: dict[str, Path], tmp_path: Path
) -> None:
    items = [
        {"id": "t", "question": "q", "responses": ["a", "b"]},
        {"id": "i", "question": "q", "responses": ["a"], "images": [str(media["image"])]},
        {"id": "a", "responses": [], "audios": [str(media["audio"])], "protocol": "nisqa"},
        {"id": "bad", "question": "q", "responses": ["a"], "images": [str(media["corrupt"])]},
    ]
    src = tmp_path / "items.jsonl"
    src.write_text("".join(json.dumps(i) + "\n" for i in items))
    out = tmp_path / "out.jsonl"
    summary = _run(
        [
            "judge",
            "run",
            "--model",
            str(tiny_omni),
            "--input",
            str(src),
            "--output",
            str(out),
            "--max-tokens",
            "8",
        ]
    )
    assert summary["items"] == 4 and summary["errors"] == 1
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["t", "i", "a", "bad"]
    assert rows[3]["status"] == "error" and "corrupt.jpg" in rows[3]["error"]
    assert all(r["status"] in PARSE_STATUSES for r in rows[:3])
