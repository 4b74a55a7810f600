"""Base64 payloads turned into typed media inputs (the decoding itself is in ``_base64``)."""

from __future__ import annotations

from typing import Literal, overload

from flexjudge.errors import InputError
from flexjudge.media._audio import Audio
from flexjudge.media._base64 import MediaKind, media_payload
from flexjudge.media._image import Image
from flexjudge.media._video import Video


@overload
def decode_base64_media(
    data: str | bytes,
    kind: Literal["image"],
    *,
    validate: bool = ...,
    record: str | None = ...,
    field: str | None = ...,
) -> Image: ...
@overload
def decode_base64_media(
    data: str | bytes,
    kind: Literal["video"],
    *,
    validate: bool = ...,
    record: str | None = ...,
    field: str | None = ...,
) -> Video: ...
@overload
def decode_base64_media(
    data: str | bytes,
    kind: Literal["audio"],
    *,
    validate: bool = ...,
    record: str | None = ...,
    field: str | None = ...,
) -> Audio: ...
def decode_base64_media(
    data: str | bytes,
    kind: MediaKind,
    *,
    validate: bool = True,
    record: str | None = None,
    field: str | None = None,
) -> Image | Video | Audio:
    """Decode base64 (optionally a ``data:<mime>;base64,`` URI) into an Image/Video/Audio.

    Invalid base64 or an empty payload raises :class:`MediaError`; with ``validate=True`` (the
    default) the content is also decoded/probed once so that corrupt or wrong-kind content
    raises :class:`MediaError` here rather than later.  An unknown ``kind`` raises
    :class:`InputError`.
    """
    if kind not in ("image", "video", "audio"):
        raise InputError(f"unknown media kind {kind!r}", record=record, field=field)
    raw = media_payload(data, kind, record=record, field=field)
    if kind == "image":
        image = Image.from_bytes(raw, record=record, field=field)
        return image.validate() if validate else image
    if kind == "video":
        video = Video.from_bytes(raw, record=record, field=field)
        return video.validate() if validate else video
    audio = Audio.from_bytes(raw, record=record, field=field)
    return audio.validate() if validate else audio
