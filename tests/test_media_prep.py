"""Protocols carry the media package's preprocessing specs; the judge applies them per mode."""

from __future__ import annotations

from flexjudge.media import (
    IMAGE_GENAI_BENCH,
    IMAGE_MJ_BENCH,
    IMAGE_MLLM_JUDGE,
    IMAGE_NATIVE,
    AudioPrep,
    ImagePrep,
    MediaPrep,
    VideoPrep,
)
from flexjudge.protocol import MediaPrepSpec, get_protocol


def test_protocols_carry_the_benchmarks_media_specs() -> None:
    assert get_protocol("mllm-judge/score").prep.image == IMAGE_MLLM_JUDGE
    assert get_protocol("mj-bench/alignment").prep.image == IMAGE_MJ_BENCH
    assert get_protocol("genai-bench/image").prep.image == IMAGE_GENAI_BENCH
    assert get_protocol("vl-rewardbench").prep.image == IMAGE_NATIVE
    assert get_protocol("text/pair").prep == MediaPrep()
    assert MediaPrepSpec is MediaPrep


def test_for_mode_converts_to_rgb_first_in_clean_mode_and_sets_the_audio_loader() -> None:
    prep = MediaPrep(image=ImagePrep(resize=336, convert_rgb_before_resize=False))
    clean, reference = prep.for_mode("clean"), prep.for_mode("reference")
    assert clean.image == ImagePrep(resize=336, convert_rgb_before_resize=True)
    assert reference.image == prep.image
    assert clean.audio == AudioPrep(16000, "clean") and reference.audio == AudioPrep(
        16000, "reference"
    )
    assert clean.video == reference.video == VideoPrep(fps=1.0, max_pixels=224 * 224)
