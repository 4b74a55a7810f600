"""Turn an item's raw media into what backends take, as its protocol prescribes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


@dataclass
class ItemMedia:
    """An item's media, coerced to ``flexjudge.media`` objects, with their content hashes.

    Coercing reads no pixels or samples (only what hashing needs), so a resumed run can key
    every item without decoding media it will not judge again."""

    images: list[Any] = field(default_factory=list)
    videos: list[Any] = field(default_factory=list)
    audios: list[Any] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)


def load_media(
    images: list[Any], videos: list[Any], audios: list[Any], *, record: str | None = None
) -> ItemMedia:
    """Coerce and hash media.  Raises :class:`InputError`/``MediaError`` naming the record
    and the field (``images[i]``/``videos[i]``/``audios[i]``) of a missing or unreadable
    entry; undecodable content is found later, by :func:`prepare_media`."""
    out = ItemMedia()
    if not (images or videos or audios):
        return out
    from flexjudge import media

    for key, values in (("images", images), ("videos", videos), ("audios", audios)):
        for i, value in enumerate(values):
            with _naming(record, f"{key}[{i}]"):
                if key == "images":
                    obj: Any = media.as_image(value)
                    out.images.append(obj)
                elif key == "videos":
                    obj = media.as_video(value)
                    out.videos.append(obj)
                else:
                    obj = media.as_audio(value)
                    out.audios.append(obj)
                out.hashes.append(obj.content_hash())
    return out


def prepare_media(
    item_media: ItemMedia, protocol: Protocol, mode: Mode, *, record: str | None = None
) -> PreparedMedia:
    """Decode and preprocess media as the protocol prescribes.  Raises
    :class:`InputError`/``MediaError`` naming the record and the field of the bad entry."""
    out = PreparedMedia(hashes=list(item_media.hashes))
    if not (item_media.images or item_media.videos or item_media.audios):
        return out
    from flexjudge import media

    prep = protocol.prep
    image_prep = media.ImagePrep(
        resize=prep.image_resize,
        convert_rgb_before_resize=prep.image_rgb_first or mode == "clean",
    )
    video_prep = media.VideoPrep(fps=prep.video_fps, max_pixels=prep.video_max_pixels)
    audio_prep = media.AudioPrep(sample_rate=prep.audio_sample_rate, mode=mode)
    for i, img in enumerate(item_media.images):
        with _naming(record, f"images[{i}]"):
            out.images.append(img.prepare(image_prep))
    for i, vid in enumerate(item_media.videos):
        with _naming(record, f"videos[{i}]"):
            pv = vid.prepare(video_prep)
            out.videos.append(pv.frames)
            out.video_fps.append(float(pv.fps))
    for i, aud in enumerate(item_media.audios):
        with _naming(record, f"audios[{i}]"):
            out.audios.append(aud.prepare(audio_prep).array)
    return out


@contextmanager
def _naming(record: str | None, field_name: str) -> Iterator[None]:
    try:
        yield
    except InputError as exc:
        raise exc.with_context(record=record, field=field_name) from exc
    except (TypeError, ValueError) as exc:
        raise InputError(str(exc), record=record, field=field_name) from exc


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
