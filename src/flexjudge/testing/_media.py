"""Small deterministic media for tests: images, videos, audio, and files holding them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from flexjudge._util.optional import require


def _gradient_frame(height: int, width: int, rng: np.random.Generator, shift: int) -> np.ndarray:
    """A smooth colour gradient plus noise: compresses well yet differs per seed and frame."""
    ys, xs = np.mgrid[0:height, 0:width]
    base = rng.integers(0, 256, size=3)
    frame = np.stack(
        [
            (xs * 255 // max(width - 1, 1) + base[0] + shift) % 256,
            (ys * 255 // max(height - 1, 1) + base[1]) % 256,
            ((xs + ys) * 127 // max(width + height - 2, 1) + base[2] + 2 * shift) % 256,
        ],
        axis=-1,
    )
    noise = rng.integers(-8, 9, size=frame.shape)
    return np.clip(frame + noise, 0, 255).astype(np.uint8)


def make_test_image(w: int = 64, h: int = 64, seed: int = 0) -> Image.Image:
    """An RGB ``w`` x ``h`` PIL image, the same for the same arguments."""
    rng = np.random.default_rng(seed)
    return Image.fromarray(_gradient_frame(h, w, rng, 0), mode="RGB")


def make_test_video(frames: int = 4, h: int = 56, w: int = 56, seed: int = 0) -> np.ndarray:
    """A uint8 array ``(frames, h, w, 3)`` whose content moves from frame to frame."""
    rng = np.random.default_rng(seed)
    video: np.ndarray = np.stack([_gradient_frame(h, w, rng, 16 * t) for t in range(frames)])
    return video


def make_test_audio(seconds: float = 1.0, sr: int = 16000, seed: int = 0) -> np.ndarray:
    """Mono float32 audio in [-1, 1]: a seed-dependent chord with a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * sr), dtype=np.float64) / sr
    freqs = rng.uniform(110.0, 880.0, size=3)
    chord = np.sin(2 * np.pi * freqs[:, None] * t[None, :]).mean(axis=0)
    wave: np.ndarray = 0.5 * chord + 0.01 * rng.standard_normal(t.shape)
    audio: np.ndarray = np.clip(wave, -1.0, 1.0).astype(np.float32)
    return audio


def write_test_video(
    path: str | Path,
    frames: int = 8,
    h: int = 64,
    w: int = 64,
    fps: int = 4,
    seed: int = 0,
) -> Path:
    """Encode :func:`make_test_video` as an MPEG-4 ``.mp4`` with PyAV; return the path.

    ``h`` and ``w`` must be even (a codec requirement).  Needs ``flexjudge[video]``.
    """
    av = require("av", "video")
    if h % 2 or w % 2:
        raise ValueError(f"video height and width must be even, got {h}x{w}")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for frame in make_test_video(frames, h, w, seed):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out


def write_test_wav(path: str | Path, seconds: float = 1.0, sr: int = 16000, seed: int = 0) -> Path:
    """Write :func:`make_test_audio` as a 16-bit PCM ``.wav``; return the path.

    Needs ``flexjudge[audio]`` (soundfile).
    """
    sf = require("soundfile", "audio")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(out), make_test_audio(seconds, sr, seed), sr, subtype="PCM_16")
    return out
