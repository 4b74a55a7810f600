"""Base64 (and ``data:`` URI) payloads, as sent to servers, turned into typed media inputs."""

from __future__ import annotations

import base64
import binascii
from typing import Literal, overload

from flexjudge.errors import InputError, MediaError
from flexjudge.media._audio import Audio
from flexjudge.media._image import Image
from flexjudge.media._video import Video

MediaKind = Literal["image", "video", "audio"]
_URLSAFE = str.maketrans("-_", "+/")


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
    text = data.decode("ascii", "replace") if isinstance(data, bytes) else data
    text = text.strip()
    if text.startswith("data:"):
        header, sep, payload = text.partition(",")
        if not sep or not header.endswith(";base64"):
            raise MediaError(
                f"{kind} data URI is not base64-encoded",
                path="<base64>",
                record=record,
                field=field,
            )
        text = payload
    text = "".join(text.split())  # tolerate line-wrapped base64
    text = text.translate(_URLSAFE)  # and the URL-safe alphabet
    text += "=" * (-len(text) % 4)  # and missing padding
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MediaError(
            f"invalid base64 {kind} payload: {exc}", path="<base64>", record=record, field=field
        ) from exc
    if not raw:
        raise MediaError(f"empty {kind} payload", path="<base64>", record=record, field=field)
    if kind == "image":
        image = Image.from_bytes(raw, record=record, field=field)
        return image.validate() if validate else image
    if kind == "video":
        video = Video.from_bytes(raw, record=record, field=field)
        return video.validate() if validate else video
    audio = Audio.from_bytes(raw, record=record, field=field)
    return audio.validate() if validate else audio
