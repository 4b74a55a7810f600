"""Media on the OpenAI chat-completions wire, both ways: PNG / 16 kHz WAV / MP4 base64.

The OpenAI-compatible backend encodes media into content parts with the ``*_data_url`` /
``audio_wav_base64`` encoders; the OpenAI-compatible server decodes them back with the
``decode_*`` functions (errors are :class:`InputError` naming the request field).  Base64
itself is decoded by :func:`flexjudge.media._base64.decode_base64`.
"""

from __future__ import annotations

import base64
import io
import wave

import numpy as np
import PIL.Image

from flexjudge._util.optional import require
from flexjudge.errors import InputError
from flexjudge.families import AUDIO_SAMPLE_RATE
from flexjudge.media._base64 import Base64Error, decode_base64

#: the sample rate of WAV audio on the wire
AUDIO_RATE = AUDIO_SAMPLE_RATE


def image_data_url(image: PIL.Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def audio_wav_base64(wave_f32: np.ndarray, rate: int = AUDIO_RATE) -> str:
    """16-bit PCM mono WAV of a float waveform in [-1, 1], base64-encoded."""
    pcm = (np.clip(np.asarray(wave_f32, dtype=np.float32), -1, 1) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return base64.b64encode(buf.getvalue()).decode()


def video_data_url(frames: np.ndarray, fps: float) -> str:
    """An MP4 (mpeg4) data URL of ``(T, H, W, 3)`` uint8 frames; needs the ``av`` package."""
    av = require("av", "video")
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=max(1, round(fps)))
        stream.height, stream.width = int(frames.shape[1]) // 2 * 2, int(frames.shape[2]) // 2 * 2
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            crop = np.ascontiguousarray(frame[: stream.height, : stream.width])
            container.mux(stream.encode(av.VideoFrame.from_ndarray(crop, format="rgb24")))
        container.mux(stream.encode())
    return "data:video/mp4;base64," + base64.b64encode(buf.getvalue()).decode()


def decode_data_url(url: str, field: str) -> bytes:
    """The bytes of a base64 ``data:`` URL; anything else raises :class:`InputError`."""
    try:
        return decode_base64(url, data_url_only=True)
    except Base64Error as exc:
        raise InputError(str(exc), field=field) from exc


def decode_image(data: bytes, field: str) -> PIL.Image.Image:
    try:
        return PIL.Image.open(io.BytesIO(data)).convert("RGB")
    except Exception as exc:  # PIL raises several types for corrupt data
        raise InputError(f"not a decodable image: {exc}", field=field) from exc


def decode_wav(data: bytes, field: str) -> np.ndarray:
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            if w.getsampwidth() != 2 or w.getnchannels() != 1 or w.getframerate() != AUDIO_RATE:
                raise InputError("audio must be 16 kHz mono 16-bit WAV", field=field)
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    except (wave.Error, EOFError) as exc:
        raise InputError(f"not a WAV file: {exc}", field=field) from exc
    return (pcm.astype(np.float32) / 32767).astype(np.float32)


def decode_video(data: bytes, field: str) -> tuple[np.ndarray, float]:
    av = require("av", "video")
    try:
        with av.open(io.BytesIO(data)) as container:
            stream = container.streams.video[0]
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
            fps = float(stream.average_rate or 2.0)
    except Exception as exc:  # av raises its own error family
        raise InputError(f"not a decodable video: {exc}", field=field) from exc
    if not frames:
        raise InputError("video has no frames", field=field)
    return np.stack(frames).astype(np.uint8), fps
