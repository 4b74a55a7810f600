"""Frame-count, frame-index and frame-size rules of qwen-vl-utils 0.0.8 (spec §7.4).

These functions are pure; they raise :class:`~flexjudge.errors.InputError` on impossible
requests (too few frames, absurd aspect ratio).  ``Video.prepare`` re-raises them as
:class:`~flexjudge.errors.MediaError` naming the file.
"""

from __future__ import annotations

import math

import numpy as np
import PIL.Image

from flexjudge._util.optional import require
from flexjudge.errors import InputError
from flexjudge.media._spec import VideoKernel, VideoPrep

MAX_RATIO = 200
_RESIZE_CHUNK = 16  # frames resized per torch call
_DEFAULT = VideoPrep()


def _round_by(number: float, factor: int) -> int:
    return round(number / factor) * factor


def _ceil_by(number: float, factor: int) -> int:
    return math.ceil(number / factor) * factor


def _floor_by(number: float, factor: int) -> int:
    return math.floor(number / factor) * factor


def smart_nframes(total_frames: int, native_fps: float, prep: VideoPrep = _DEFAULT) -> int:
    """Number of frames sampled from a video of ``total_frames`` at ``native_fps``.

    ``round_to_factor(clamp(total / native_fps * fps, ceil_factor(min_frames),
    floor_factor(min(max_frames, total))))`` (Python's ``round``: halves go to even).  Raises
    :class:`InputError` when the result is outside ``[frame_factor, total_frames]`` (e.g. a
    one-frame video) or the fps is not positive.
    """
    if not native_fps > 0:
        raise InputError(f"video frame rate must be > 0, got {native_fps!r}")
    factor = prep.frame_factor
    min_frames = _ceil_by(prep.min_frames, factor)
    max_frames = _floor_by(min(prep.max_frames, total_frames), factor)
    nframes: float = total_frames / native_fps * prep.fps
    nframes = min(max(nframes, min_frames), max_frames)
    result = _round_by(nframes, factor)
    if not factor <= result <= total_frames:
        raise InputError(
            f"cannot sample a video of {total_frames} frame(s): need at least {factor} frames "
            f"(got nframes={result})"
        )
    return int(result)


def sample_indices(total_frames: int, nframes: int, kernel: VideoKernel = "torch") -> np.ndarray:
    """``round(linspace(0, total_frames - 1, nframes))`` as int64.

    ``kernel="torch"`` uses ``torch.linspace`` in float32 exactly like qwen-vl-utils;
    ``"pil"`` uses numpy float64 (can differ by one frame for very long videos).
    """
    if kernel == "torch":
        torch = require("torch", "video")
        idx = torch.linspace(0, total_frames - 1, nframes).round().long()
        return np.asarray(idx.numpy(), dtype=np.int64)
    return np.round(np.linspace(0, total_frames - 1, nframes)).astype(np.int64)


def smart_resize(
    height: int, width: int, *, factor: int = 28, min_pixels: float, max_pixels: float
) -> tuple[int, int]:
    """``(height, width)`` rounded to multiples of ``factor`` within the pixel budget.

    Downscales (floor) when ``round(h)·round(w) > max_pixels``, else upscales (ceil) when below
    ``min_pixels``.  Unlike qwen-vl-utils 0.0.14 there is no ``min_pixels <= max_pixels``
    assertion (0.0.8 had none; GenAI-Bench relies on it).  Raises :class:`InputError` when the
    aspect ratio exceeds 200.
    """
    if height <= 0 or width <= 0:
        raise InputError(f"frame size must be positive, got {height}×{width}")
    if max(height, width) / min(height, width) > MAX_RATIO:
        raise InputError(
            f"absolute aspect ratio must be smaller than {MAX_RATIO}, got "
            f"{max(height, width) / min(height, width)}"
        )
    h_bar = max(factor, _round_by(height, factor))
    w_bar = max(factor, _round_by(width, factor))
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = _floor_by(height / beta, factor)
        w_bar = _floor_by(width / beta, factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = _ceil_by(height * beta, factor)
        w_bar = _ceil_by(width * beta, factor)
    return int(h_bar), int(w_bar)


def effective_max_pixels(nframes: int, prep: VideoPrep = _DEFAULT) -> float:
    """Per-frame pixel cap used by qwen-vl-utils ``fetch_video`` for ``nframes`` frames."""
    library_max = max(
        min(prep.max_frame_pixels, prep.total_pixels / nframes * prep.frame_factor),
        int(prep.min_pixels * 1.05),
    )
    return min(prep.max_pixels, library_max)


def frame_size(
    height: int, width: int, nframes: int, prep: VideoPrep = _DEFAULT
) -> tuple[int, int]:
    """Output ``(height, width)`` of every sampled frame (see :func:`smart_resize`)."""
    return smart_resize(
        height,
        width,
        factor=prep.image_factor,
        min_pixels=prep.min_pixels,
        max_pixels=effective_max_pixels(nframes, prep),
    )


def resize_frames(
    frames: np.ndarray, size: tuple[int, int], kernel: VideoKernel = "torch"
) -> np.ndarray:
    """Resize uint8 frames ``(T, H, W, 3)`` to ``size = (height, width)``, bicubic + antialias.

    ``kernel="torch"`` matches ``torchvision.transforms.functional.resize`` on a uint8 tensor
    (float32 interpolation, clamp to [0, 255], round); ``"pil"`` uses PIL's bicubic filter.
    Frames are processed in chunks to bound memory.
    """
    height, width = size
    if frames.shape[1:3] == (height, width):
        return frames
    out = np.empty((frames.shape[0], height, width, frames.shape[3]), dtype=np.uint8)
    if kernel == "pil":
        for i, frame in enumerate(frames):
            img = PIL.Image.fromarray(frame).resize((width, height), PIL.Image.Resampling.BICUBIC)
            out[i] = np.asarray(img)
        return out
    torch = require("torch", "video")
    functional = require("torch.nn.functional", "video")
    for start in range(0, frames.shape[0], _RESIZE_CHUNK):
        chunk = torch.from_numpy(np.ascontiguousarray(frames[start : start + _RESIZE_CHUNK]))
        tensor = chunk.permute(0, 3, 1, 2).to(torch.float32)
        resized = functional.interpolate(
            tensor, size=[height, width], mode="bicubic", align_corners=False, antialias=True
        )
        resized = resized.clamp(0, 255).round().to(torch.uint8)
        out[start : start + chunk.shape[0]] = resized.permute(0, 2, 3, 1).numpy()
    return out
