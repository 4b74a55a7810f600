"""Videos: decode with PyAV (``[video]`` extra) or take frames in memory; sample and resize."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import PIL.Image

from flexjudge._util.optional import require
from flexjudge.errors import InputError
from flexjudge.media._base64 import media_payload
from flexjudge.media._common import (
    BytesLike,
    FileOrBytesMedium,
    PathLike,
    Source,
    array_hash,
    copied_source,
    describe,
    encoded_source,
)
from flexjudge.media._spec import VideoKernel, VideoPrep
from flexjudge.media._video_sampling import (
    frame_size,
    resize_frames,
    sample_indices,
    smart_nframes,
)

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpeg", ".mpg", ".flv", ".wmv", ".ts",
     ".3gp", ".ogv", ".gif"}
)  # fmt: skip
_DEFAULT_PREP = VideoPrep()
#: native-size frames held while decoding before they are resized (the result does not depend
#: on it: each frame is resized on its own)
STREAM_CHUNK = 4


@dataclass(frozen=True, eq=False)
class PreparedVideo:
    """Decoded frames ready for a backend.

    ``frames``: uint8 ``(T, H, W, 3)`` RGB; ``fps``: frame rate of the *sampled* frames
    (``T / total_frames × native_fps``); ``sampled_indices``: int64 indices into the original
    frames.  qwen-vl-utils hands vLLM float ``(T, C, H, W)`` tensors with the same 0–255 values;
    backends convert as needed.
    """

    frames: np.ndarray
    fps: float
    sampled_indices: np.ndarray
    native_fps: float | None = None
    total_frames: int | None = None

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """``(height, width)`` of every frame."""
        return (int(self.frames.shape[1]), int(self.frames.shape[2]))


@dataclass(frozen=True)
class VideoInfo:
    """Stream facts: decoded frame count, native frame rate and frame size."""

    total_frames: int
    fps: float
    height: int
    width: int


class Video(FileOrBytesMedium):
    """A video input: a file, encoded bytes, or in-memory frames ``(T, H, W, 3)`` uint8 + fps.

    Nothing is decoded at construction (arrays are validated).  Decoding needs PyAV
    (:class:`~flexjudge.errors.MissingDependencyError` naming ``flexjudge[video]`` otherwise);
    missing, unsupported, corrupt or frameless files raise
    :class:`~flexjudge.errors.MediaError` naming the path.
    """

    __slots__ = ("_fps", "_frames", "_hash", "_kept", "_src")

    _src: Source

    def __init__(
        self,
        source: PathLike | BytesLike | np.ndarray | Video,
        *,
        fps: float | None = None,
        record: str | None = None,
        field: str | None = None,
    ) -> None:
        self._hash: str | None = None
        self._frames: np.ndarray | None = None
        self._fps: float | None = None
        self._kept: tuple[VideoPrep, PreparedVideo] | None = None
        if isinstance(source, Video):
            self._src = copied_source(source._src, record, field)
            self._frames, self._fps = source._frames, source._fps
            self._kept = source._kept
        elif isinstance(source, np.ndarray):
            self._src = Source(record=record, field=field)
            self._frames, self._fps = _check_frames(source, fps, self._src)
        else:
            self._src = encoded_source(source, "a video", record=record, field=field)

    @classmethod
    def from_frames(
        cls,
        frames: np.ndarray | Sequence[np.ndarray | PIL.Image.Image],
        fps: float,
        *,
        record: str | None = None,
        field: str | None = None,
    ) -> Video:
        """Frames ``(T, H, W, 3)`` uint8 (or a list of equally sized frames/PIL images) + fps."""
        if not isinstance(frames, np.ndarray):
            src = Source(record=record, field=field)
            try:
                arrays = [
                    np.asarray(f.convert("RGB"))
                    if isinstance(f, PIL.Image.Image)
                    else np.asarray(f)
                    for f in frames
                ]
                frames = np.stack(arrays) if arrays else np.zeros((0, 0, 0, 3), np.uint8)
            except ValueError as exc:
                src.fail(f"video frames must all have the same shape: {exc}", exc)
        return cls(frames, fps=fps, record=record, field=field)

    def __repr__(self) -> str:
        return f"Video({self._src.label})"

    # -- decoding -----------------------------------------------------------------------------
    def info(self) -> VideoInfo:
        """Frame count (packets demuxed, not decoded), native fps and size; :class:`MediaError`."""
        if self._frames is not None:
            assert self._fps is not None
            t, h, w, _ = self._frames.shape
            return VideoInfo(int(t), self._fps, int(h), int(w))
        av = _av()
        with self._src.open("video", VIDEO_EXTENSIONS) as fh:
            try:
                with av.open(fh, mode="r") as container:
                    stream = self._stream(container)
                    fps = self._native_fps(stream)
                    count = sum(1 for p in container.demux(stream) if p.size > 0)
                    h, w = int(stream.codec_context.height), int(stream.codec_context.width)
            except InputError:
                raise
            except Exception as exc:
                self._src.fail(f"cannot read video: {describe(exc)}", exc)
        if count == 0:
            self._src.fail("video has no frames")
        return VideoInfo(count, fps, h, w)

    def validate(self) -> Video:
        """Probe the container/stream (:class:`MediaError` if unusable); returns ``self``."""
        self.info()
        return self

    def load(self) -> PreparedVideo:
        """All frames at native size and fps (no sampling); :class:`MediaError` if unreadable.

        For in-memory frames the result is a read-only view of the input array.
        """
        if self._frames is not None:
            assert self._fps is not None
            t = self._frames.shape[0]
            view = self._frames.view()  # no copy, but read-only: the input stays intact
            view.flags.writeable = False
            return PreparedVideo(view, self._fps, np.arange(t), self._fps, t)
        frames, fps, total = self._decode(None)
        return PreparedVideo(frames, fps, np.arange(total), fps, total)

    def prepare(self, prep: VideoPrep | None = None, *, keep: bool = False) -> PreparedVideo:
        """Sample and resize frames per ``prep`` (qwen-vl-utils 0.0.8 rules, spec §7.4).

        ``keep=True`` keeps the result on this object, and a later ``prepare`` with an equal
        ``prep`` returns it without decoding again.  The judge server decodes in its media
        pool this way, so the judge thread never does.  Batch runs do not keep, so frames
        are released after their batch.  Raises :class:`MediaError` for unreadable files and
        for videos with fewer frames than ``prep.frame_factor``.
        """
        prep = prep or _DEFAULT_PREP
        if self._kept is not None and self._kept[0] == prep:
            return self._kept[1]
        prepared = self._prepare(prep)
        if keep:
            self._kept = (prep, prepared)
        return prepared

    def _prepare(self, prep: VideoPrep) -> PreparedVideo:
        if self._frames is not None:
            assert self._fps is not None
            native_fps, total = self._fps, int(self._frames.shape[0])
            nframes, indices = self._plan(total, native_fps, prep)
            frames = self._frames[indices]
            size = self._sizer(nframes, prep)(int(frames.shape[1]), int(frames.shape[2]))
            out = resize_frames(frames, size, prep.kernel)
        else:
            # frames are resized as they are decoded: a long high-resolution video never
            # holds more than a chunk of native-size frames
            info = self.info()
            nframes, indices = self._plan(info.total_frames, info.fps, prep)
            sizer = self._sizer(nframes, prep)
            out, native_fps, total = self._decode(indices, sizer, prep.kernel)
            if total != info.total_frames:  # demuxed packets ≠ decoded frames: sample again
                nframes, indices = self._plan(total, native_fps, prep)
                sizer = self._sizer(nframes, prep)
                out, native_fps, total = self._decode(indices, sizer, prep.kernel)
        sample_fps = nframes / max(total, 1e-6) * native_fps
        return PreparedVideo(out, sample_fps, indices, native_fps, total)

    def content_hash(self) -> str:
        """SHA-256 (hex) of the file/encoded bytes, or of the frames array and fps."""
        if self._hash is None:
            if self._frames is not None:
                self._hash = array_hash("video", self._fps, array=self._frames)
            else:
                self._hash = self._src.sha256("video")
        return self._hash

    # -- internals ----------------------------------------------------------------------------
    def _plan(self, total: int, native_fps: float, prep: VideoPrep) -> tuple[int, np.ndarray]:
        try:
            nframes = smart_nframes(total, native_fps, prep)
        except InputError as exc:
            self._src.fail(exc.message, exc)
        return nframes, sample_indices(total, nframes, prep.kernel)

    def _stream(self, container: Any) -> Any:
        if not container.streams.video:
            self._src.fail("no video stream in file")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        return stream

    def _native_fps(self, stream: Any) -> float:
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if not fps > 0:
            self._src.fail("video stream has no frame rate")
        return fps

    def _sizer(self, nframes: int, prep: VideoPrep) -> Callable[[int, int], tuple[int, int]]:
        def size(height: int, width: int) -> tuple[int, int]:
            try:
                return frame_size(height, width, nframes, prep)
            except InputError as exc:
                self._src.fail(exc.message, exc)

        return size

    def _decode(
        self,
        indices: np.ndarray | None,
        sizer: Callable[[int, int], tuple[int, int]] | None = None,
        kernel: VideoKernel = "torch",
    ) -> tuple[np.ndarray, float, int]:
        """Decode ``indices`` (all frames when ``None``); returns frames, native fps, count.

        With ``sizer`` (native ``(h, w)`` → output size) kept frames are resized in chunks
        of :data:`STREAM_CHUNK` as they arrive, exactly as :func:`resize_frames` would."""
        av = _av()
        wanted = None if indices is None else {int(i) for i in indices}
        done: list[np.ndarray] = []  # resized chunks, in decode (= index) order
        pending: list[np.ndarray] = []
        kept: list[int] = []
        count = 0

        def flush() -> None:
            if pending:
                chunk = np.stack(pending)
                if sizer is not None:
                    size = sizer(int(chunk.shape[1]), int(chunk.shape[2]))
                    chunk = resize_frames(chunk, size, kernel)
                done.append(chunk)
                pending.clear()

        with self._src.open("video", VIDEO_EXTENSIONS) as fh:
            try:
                with av.open(fh, mode="r") as container:
                    stream = self._stream(container)
                    fps = self._native_fps(stream)
                    for count, frame in enumerate(container.decode(stream), start=1):
                        if wanted is None or count - 1 in wanted:
                            pending.append(frame.to_ndarray(format="rgb24"))
                            kept.append(count - 1)
                            if len(pending) == STREAM_CHUNK:
                                flush()
                    flush()
            except InputError:
                raise
            except Exception as exc:
                self._src.fail(f"cannot decode video: {describe(exc)}", exc)
        if count == 0:
            self._src.fail("video has no frames")
        order = list(range(count)) if indices is None else [int(i) for i in indices]
        if kept != order:
            return np.zeros((0, 0, 0, 3), np.uint8), fps, count  # count changed; caller resamples
        return np.concatenate(done), fps, count


def _av() -> Any:
    """The ``av`` module, or :class:`MissingDependencyError` naming ``flexjudge[video]``."""
    return require("av", "video")


def _check_frames(frames: np.ndarray, fps: float | None, src: Source) -> tuple[np.ndarray, float]:
    if fps is None or not fps > 0:
        src.fail(f"in-memory video frames need a positive fps, got {fps!r}")
    if frames.dtype != np.uint8:
        src.fail(f"video frames must be uint8, got {frames.dtype}")
    if frames.ndim != 4 or frames.shape[3] != 3:
        src.fail(f"video frames must have shape (T, H, W, 3), got {frames.shape}")
    if frames.shape[0] == 0 or frames.shape[1] == 0 or frames.shape[2] == 0:
        src.fail(f"video has no frames (shape {frames.shape})")
    return frames, float(fps)


def as_video(
    x: Any,
    *,
    fps: float | None = None,
    record: str | None = None,
    field: str | None = None,
) -> Video:
    """Coerce ``x`` to :class:`Video`.

    Accepts a :class:`Video`, a path (optionally ``file://``), a ``data:…;base64,`` URI,
    encoded bytes, a ``(T, H, W, 3)`` uint8 array or a list of frames (these need ``fps``), or a
    ``(frames, fps)`` tuple.  Anything else raises :class:`InputError`.
    """
    if isinstance(x, Video) and record is None and field is None:
        return x
    if isinstance(x, tuple) and len(x) == 2 and isinstance(x[1], int | float):
        return Video.from_frames(x[0], float(x[1]), record=record, field=field)
    if isinstance(x, str) and x.startswith("data:"):
        raw = media_payload(x, "video", record=record, field=field)
        return Video.from_bytes(raw, record=record, field=field)
    if isinstance(x, list):
        if fps is None:
            raise InputError("a list of video frames needs fps=", record=record, field=field)
        return Video.from_frames(x, fps, record=record, field=field)
    return Video(x, fps=fps, record=record, field=field)
