"""Base64 (and ``data:`` URI) payloads, as sent to servers, turned into bytes.

:func:`decode_base64` is the one base64 / data-URL decoder of the package: the media types,
the judge server and the OpenAI-compatible router all call it and only translate its
:class:`Base64Error` into their own error (a :class:`MediaError`, an HTTP status, an
:class:`InputError` naming the field).
"""

from __future__ import annotations

import base64
import binascii

from flexjudge.errors import MediaError
from flexjudge.families import MediaKind

__all__ = ["Base64Error", "MediaKind", "decode_base64", "is_data_url", "media_payload"]
_URLSAFE = str.maketrans("-_", "+/")


class Base64Error(ValueError):
    """A payload that is not decodable base64 (or not a base64 ``data:`` URI)."""


def is_data_url(data: str | bytes) -> bool:
    head = data[:5].decode("ascii", "replace") if isinstance(data, bytes) else data[:5]
    return head == "data:"


def decode_base64(data: str | bytes, *, data_url_only: bool = False) -> bytes:
    """The bytes of base64 text, optionally a ``data:<mime>;base64,`` URI.

    Tolerates surrounding and embedded whitespace (line-wrapped base64), the URL-safe
    alphabet and missing padding.  Raises :class:`Base64Error` for a data URI without a
    ``,`` or without ``;base64``, for characters outside the alphabet, for an empty
    payload, and (``data_url_only=True``) for anything that is not a data URI.
    """
    text = data.decode("ascii", "replace") if isinstance(data, bytes) else data
    text = text.strip()
    if text.startswith("data:"):
        header, sep, payload = text.partition(",")
        if not sep:
            raise Base64Error("malformed data URI (no ',')")
        if not header.endswith(";base64"):
            raise Base64Error("data URI is not base64-encoded")
        text = payload
    elif data_url_only:
        raise Base64Error("only base64 data URLs are accepted")
    text = "".join(text.split())
    text = text.translate(_URLSAFE)
    text += "=" * (-len(text) % 4)
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Base64Error(f"invalid base64 ({exc})") from exc
    if not raw:
        raise Base64Error("empty payload")
    return raw


def media_payload(
    data: str | bytes, kind: str, *, record: str | None = None, field: str | None = None
) -> bytes:
    """:func:`decode_base64` for a medium: a bad payload raises :class:`MediaError`."""
    try:
        return decode_base64(data)
    except Base64Error as exc:
        raise MediaError(
            f"{kind} payload: {exc}", path="<base64>", record=record, field=field
        ) from exc
