"""Images: load from a path, bytes, a PIL image or an array; squash-resize per ``ImagePrep``."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

import numpy as np
import PIL.Image

from flexjudge.errors import InputError
from flexjudge.media._base64 import media_payload
from flexjudge.media._common import (
    BytesLike,
    FileOrBytesMedium,
    PathLike,
    Source,
    copied_source,
    describe,
    encoded_source,
)
from flexjudge.media._spec import ImagePrep

_DEFAULT_PREP = ImagePrep()


@lru_cache(maxsize=1)
def image_extensions() -> frozenset[str]:
    """File suffixes (lower case, with dot) that PIL can open."""
    PIL.Image.init()
    return frozenset(ext.lower() for ext in PIL.Image.registered_extensions())


class Image(FileOrBytesMedium):
    """An image input: a file, encoded bytes, a ``PIL.Image.Image`` or a uint8 array.

    Nothing is decoded at construction; :meth:`open`, :meth:`load` and :meth:`prepare` decode
    and raise :class:`~flexjudge.errors.MediaError` (naming the path, record and field) when the
    file is missing, has an unsupported extension, or cannot be fully decoded (truncated or
    corrupt data).  ``record``/``field`` tie errors to a dataset item.
    """

    __slots__ = ("_hash", "_kept", "_pil", "_src")

    _src: Source

    def __init__(
        self,
        source: PathLike | BytesLike | PIL.Image.Image | np.ndarray | Image,
        *,
        record: str | None = None,
        field: str | None = None,
    ) -> None:
        self._hash: str | None = None
        self._kept: tuple[ImagePrep, PIL.Image.Image] | None = None
        self._pil: PIL.Image.Image | None = None
        if isinstance(source, Image):
            self._src = copied_source(source._src, record, field)
            self._pil = source._pil
            self._kept = source._kept
        elif isinstance(source, PIL.Image.Image):
            self._src = Source(record=record, field=field)
            self._pil = source
        elif isinstance(source, np.ndarray):
            self._src = Source(record=record, field=field)
            self._pil = _from_array(source, self._src)
        else:
            self._src = encoded_source(source, "an image", record=record, field=field)

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def from_pil(
        cls, image: PIL.Image.Image, *, record: str | None = None, field: str | None = None
    ) -> Image:
        """An in-memory PIL image (kept by reference, never modified)."""
        return cls(image, record=record, field=field)

    @classmethod
    def from_array(
        cls, array: np.ndarray, *, record: str | None = None, field: str | None = None
    ) -> Image:
        """A uint8 array ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)``; else :class:`MediaError`."""
        return cls(array, record=record, field=field)

    # -- properties ---------------------------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` read from the header only (no full decode)."""
        if self._pil is not None:
            return (int(self._pil.width), int(self._pil.height))
        with self._src.open("image", image_extensions()) as fh:
            try:
                with PIL.Image.open(fh) as im:
                    return (int(im.width), int(im.height))
            except Exception as exc:
                self._src.fail(f"cannot read image header: {_describe(exc)}", exc)

    def __repr__(self) -> str:
        return f"Image({self._src.label})"

    # -- decoding -----------------------------------------------------------------------------
    def open(self) -> PIL.Image.Image:
        """The fully decoded image in its original mode (``P``, ``RGBA``, ``L``, …).

        Raises :class:`MediaError` for missing, unsupported or corrupt data; the pixel data is
        forced with ``Image.load()`` so that truncated files fail here, not in a backend.  For an
        in-memory PIL source this is that object itself (do not modify it); files and bytes
        give a fresh, detached image.
        """
        if self._pil is not None:
            try:
                self._pil.load()
            except Exception as exc:
                self._src.fail(f"cannot decode image: {_describe(exc)}", exc)
            return self._pil
        with self._src.open("image", image_extensions()) as fh:
            try:
                with PIL.Image.open(fh) as im:
                    im.load()
                    decoded: PIL.Image.Image = im.copy()  # keeps mode, palette and info
            except Exception as exc:
                self._src.fail(f"cannot decode image: {_describe(exc)}", exc)
        return decoded

    def validate(self) -> Image:
        """Decode once, raising :class:`MediaError` if the data is unusable; returns ``self``."""
        self.open()
        return self

    def load(self) -> PIL.Image.Image:
        """The image as RGB at native size (``prepare(ImagePrep())``)."""
        return self.prepare(_DEFAULT_PREP)

    def prepare(self, prep: ImagePrep | None = None, *, keep: bool = False) -> PIL.Image.Image:
        """Apply ``prep`` and return a new RGB ``PIL.Image.Image``.

        Order: optional ``convert("RGB")``, optional resize with PIL's default filter for the
        current mode (nearest-neighbour for palette/bilevel images, bicubic otherwise), then a
        final ``convert("RGB")`` when the image is not RGB yet.  Decoding errors raise
        :class:`MediaError`.  ``keep=True`` keeps the result on this object: a later call
        with an equal ``prep`` returns that same (read-only by convention) image without
        decoding again (the judge server decodes each distinct file once this way).
        """
        prep = prep or _DEFAULT_PREP
        if self._kept is not None and self._kept[0] == prep:
            return self._kept[1]
        image = self._prepare(prep)
        if keep:
            self._kept = (prep, image)
        return image

    def _prepare(self, prep: ImagePrep) -> PIL.Image.Image:
        original = self.open()
        image = original
        try:
            if prep.convert_rgb_before_resize and image.mode != "RGB":
                image = image.convert("RGB")
            size = prep.size
            if size is not None and image.size != size:
                image = image.resize(size)
            if image.mode != "RGB":
                image = image.convert("RGB")
        except Exception as exc:
            self._src.fail(f"cannot convert/resize image (mode {original.mode}): {exc}", exc)
        if image is original:
            image = image.copy()
        return image

    def content_hash(self) -> str:
        """SHA-256 (hex): of the file/encoded bytes, or of mode, size, palette and pixels."""
        if self._hash is None:
            if self._pil is not None and self._src.path is None and self._src.data is None:
                self._hash = pil_hash(self.open())
            else:
                self._hash = self._src.sha256("image")
        return self._hash


def pil_hash(image: PIL.Image.Image) -> str:
    """SHA-256 of a decoded PIL image (mode, size, palette, pixel bytes)."""
    digest = hashlib.sha256()
    digest.update(repr(("pil", image.mode, image.size)).encode())
    palette = image.getpalette() if image.mode in ("P", "PA") else None
    if palette is not None:
        digest.update(bytes(palette))
    digest.update(image.tobytes())
    return digest.hexdigest()


def _from_array(array: np.ndarray, src: Source) -> PIL.Image.Image:
    if array.dtype != np.uint8:
        src.fail(f"image array must be uint8, got {array.dtype}")
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (1, 3, 4))):
        src.fail(f"image array must be (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        src.fail(f"image array is empty (shape {array.shape})")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    return PIL.Image.fromarray(np.ascontiguousarray(array))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, PIL.UnidentifiedImageError):
        return "not a recognised image format"
    if isinstance(exc, PIL.Image.DecompressionBombError):
        return f"image too large ({exc})"
    return describe(exc)


def as_image(
    x: Any,
    *,
    record: str | None = None,
    field: str | None = None,
) -> Image:
    """Coerce ``x`` to :class:`Image`.

    Accepts an :class:`Image` (returned as is unless ``record``/``field`` are given), a path
    (``str``/``PathLike``, optional ``file://``), a ``data:…;base64,`` URI, encoded bytes, a PIL
    image or a uint8 array.  Anything else raises :class:`InputError`.
    """
    if isinstance(x, Image) and record is None and field is None:
        return x
    if isinstance(x, str) and x.startswith("data:"):
        raw = media_payload(x, "image", record=record, field=field)
        return Image.from_bytes(raw, record=record, field=field)
    return Image(x, record=record, field=field)


def check_image_limits(
    image: Any, max_pixels: int, *, max_side: int | None = None
) -> tuple[int, int]:
    """Return ``(width, height)``; raise :class:`InputError` when the image is too large.

    ``image`` is anything :func:`as_image` accepts; only the header is read for files/bytes.
    The check fails when ``width × height > max_pixels`` or either side exceeds ``max_side``.
    Unreadable images raise :class:`MediaError`.
    """
    img = as_image(image)
    width, height = img.size  # MediaError when unreadable
    label = str(img.path) if img.path is not None else None
    if width * height > max_pixels:
        raise InputError(
            f"image is {width}×{height} = {width * height:,} pixels, over the limit of "
            f"{max_pixels:,}" + (f" ({label})" if label else ""),
            record=img.record,
            field=img.field,
        )
    if max_side is not None and max(width, height) > max_side:
        raise InputError(
            f"image is {width}×{height}, a side is over the limit of {max_side}"
            + (f" ({label})" if label else ""),
            record=img.record,
            field=img.field,
        )
    return (width, height)
