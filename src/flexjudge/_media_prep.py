"""Turn an item's raw media into what backends take, as its protocol prescribes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from flexjudge.errors import InputError
from flexjudge.protocol import Mode, Protocol


@dataclass
class PreparedMedia:
    images: list[Image.Image] = field(default_factory=list)
    videos: list[np.ndarray] = field(default_factory=list)
    video_fps: list[float] = field(default_factory=list)
    audios: list[np.ndarray] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)


def prepare_media(
    images: list[Any],
    videos: list[Any],
    audios: list[Any],
    protocol: Protocol,
    mode: Mode,
    *,
    record: str | None = None,
) -> PreparedMedia:
    """Load and preprocess media.  Raises :class:`InputError`/``MediaError`` naming the
    record and the field (``images``/``videos``/``audios``) of the bad entry."""
    out = PreparedMedia()
    if not (images or videos or audios):
        return out
    from flexjudge import media

    prep = protocol.prep
    image_prep = media.ImagePrep(
        resize=prep.image_resize,
        convert_rgb_before_resize=prep.image_rgb_first or mode == "clean",
    )
    video_prep = media.VideoPrep(fps=prep.video_fps, max_pixels=prep.video_max_pixels)
    audio_prep = media.AudioPrep(sample_rate=prep.audio_sample_rate, mode=mode)
    for key, values in (("images", images), ("videos", videos), ("audios", audios)):
        for i, value in enumerate(values):
            try:
                if key == "images":
                    img = media.as_image(value)
                    out.images.append(img.prepare(image_prep))
                    out.hashes.append(img.content_hash())
                elif key == "videos":
                    vid = media.as_video(value)
                    pv = vid.prepare(video_prep)
                    out.videos.append(pv.frames)
                    out.video_fps.append(float(pv.fps))
                    out.hashes.append(vid.content_hash())
                else:
                    aud = media.as_audio(value)
                    pa = aud.prepare(audio_prep)
                    out.audios.append(pa.array)
                    out.hashes.append(aud.content_hash())
            except InputError as exc:
                raise exc.with_context(record=record, field=f"{key}[{i}]") from exc
            except (TypeError, ValueError) as exc:
                raise InputError(str(exc), record=record, field=f"{key}[{i}]") from exc
    return out


def reorder_media(
    media: PreparedMedia, response_media: tuple[str, int] | None, order: tuple[int, ...]
) -> PreparedMedia:
    """Permute the response media (``(kind, offset)``) into presentation ``order``."""
    if response_media is None or list(order) == sorted(order):
        return media
    kind, offset = response_media
    out = PreparedMedia(
        list(media.images),
        list(media.videos),
        list(media.video_fps),
        list(media.audios),
        list(media.hashes),
    )
    if kind == "image":
        out.images = out.images[:offset] + [out.images[offset + j] for j in order]
    elif kind == "video":
        out.videos = out.videos[:offset] + [out.videos[offset + j] for j in order]
        if len(out.video_fps) == len(media.videos):
            out.video_fps = out.video_fps[:offset] + [out.video_fps[offset + j] for j in order]
    else:
        out.audios = out.audios[:offset] + [out.audios[offset + j] for j in order]
    return out
