"""Shared plumbing of the typed media inputs: where the bytes come from, hashing, errors."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn, Self

import numpy as np

from flexjudge.errors import InputError, MediaError

PathLike = str | os.PathLike[str]
BytesLike = bytes | bytearray | memoryview

_CHUNK = 1 << 20


class Source:
    """A file path or an in-memory byte string, with the context used in error messages."""

    __slots__ = ("data", "field", "path", "record")

    def __init__(
        self,
        *,
        path: Path | None = None,
        data: bytes | None = None,
        record: str | None = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.data = data
        self.record = record
        self.field = field

    @property
    def label(self) -> str:
        """What to name in error messages: the path, ``<bytes>`` or ``<memory>``."""
        if self.path is not None:
            return str(self.path)
        return "<bytes>" if self.data is not None else "<memory>"

    def error(self, message: str) -> MediaError:
        """A :class:`MediaError` naming this source (path, record, field)."""
        return MediaError(message, path=self.label, record=self.record, field=self.field)

    def fail(self, message: str, exc: BaseException | None = None) -> NoReturn:
        """Raise :meth:`error`, chained to ``exc``."""
        raise self.error(message) from exc

    def check_file(self, kind: str, extensions: frozenset[str] | None) -> Path:
        """The path, after checking it exists, is a file and (when given) has a known suffix."""
        assert self.path is not None
        path = self.path
        if not path.exists():
            self.fail(f"{kind} file not found")
        if not path.is_file():
            self.fail(f"{kind} path is not a regular file")
        suffix = path.suffix.lower()
        if extensions is not None and suffix and suffix not in extensions:
            self.fail(f"unsupported {kind} file extension {suffix!r}")
        return path

    @contextmanager
    def open(self, kind: str, extensions: frozenset[str] | None) -> Iterator[IO[bytes]]:
        """A binary file object over the source (missing file → :class:`MediaError`)."""
        if self.data is not None:
            yield io.BytesIO(self.data)
            return
        path = self.check_file(kind, extensions)
        try:
            fh = path.open("rb")
        except OSError as exc:
            self.fail(f"cannot open {kind} file: {exc.strerror or exc}", exc)
        with fh:
            yield fh

    def read_bytes(self, kind: str) -> bytes:
        """All the bytes (missing/unreadable file → :class:`MediaError`)."""
        if self.data is not None:
            return self.data
        path = self.check_file(kind, None)
        try:
            return path.read_bytes()
        except OSError as exc:
            self.fail(f"cannot read {kind} file: {exc.strerror or exc}", exc)

    def sha256(self, kind: str) -> str:
        """SHA-256 (hex) of the file or byte string."""
        if self.data is not None:
            return hashlib.sha256(self.data).hexdigest()
        path = self.check_file(kind, None)
        digest = hashlib.sha256()
        try:
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(_CHUNK), b""):
                    digest.update(chunk)
        except OSError as exc:
            self.fail(f"cannot read {kind} file: {exc.strerror or exc}", exc)
        return digest.hexdigest()


def to_path(path: PathLike) -> Path:
    """``Path`` from ``str``/``PathLike``; a ``file://`` prefix is stripped."""
    text = os.fspath(path)
    if text.startswith("file://"):
        text = text[len("file://") :]
    if text.startswith(("http://", "https://")):
        raise MediaError("remote URLs are not fetched; download the file first", path=text)
    return Path(text).expanduser()


def to_bytes(data: BytesLike) -> bytes:
    """Immutable copy of a bytes-like object."""
    return bytes(data)


def array_hash(*parts: object, array: np.ndarray) -> str:
    """SHA-256 of a small header (``parts``, dtype, shape) plus the array's C-order bytes."""
    digest = hashlib.sha256()
    header = repr((*parts, array.dtype.str, array.shape)).encode()
    digest.update(header)
    digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def describe(exc: BaseException) -> str:
    """A short human reason for a decoder exception (without repr()s of file objects)."""
    for attr in ("strerror", "error_string"):  # OSError/av FFmpegError; soundfile
        reason = getattr(exc, attr, None)
        if isinstance(reason, str) and reason.strip():
            return reason.strip()
    return str(exc).strip() or type(exc).__name__


def copied_source(src: Source, record: str | None, field: str | None) -> Source:
    """``src`` for a new input object, with ``record``/``field`` overriding when given."""
    return Source(
        path=src.path,
        data=src.data,
        record=record if record is not None else src.record,
        field=field if field is not None else src.field,
    )


def encoded_source(source: object, what: str, *, record: str | None, field: str | None) -> Source:
    """A :class:`Source` for encoded media given as bytes or a path.

    Raises :class:`InputError` naming the type when ``source`` is neither.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        return Source(data=to_bytes(source), record=record, field=field)
    if isinstance(source, str | os.PathLike):
        return Source(path=to_path(source), record=record, field=field)
    raise InputError(f"cannot make {what} from {type(source).__name__}", record=record, field=field)


class Located:
    """A medium's record and field (from its :class:`Source`), named in its errors."""

    __slots__ = ()

    _src: Source

    @property
    def record(self) -> str | None:
        return self._src.record

    @property
    def field(self) -> str | None:
        return self._src.field


class FileOrBytesMedium(Located):
    """What the image, video and audio inputs share: a path, and two constructors."""

    __slots__ = ()

    def __init__(self, source: Any, *, record: str | None = None, field: str | None = None):
        raise NotImplementedError  # each medium defines its own

    @classmethod
    def from_path(
        cls, path: PathLike, *, record: str | None = None, field: str | None = None
    ) -> Self:
        """The medium in the file at ``path`` (decoded lazily)."""
        return cls(to_path(path), record=record, field=field)

    @classmethod
    def from_bytes(
        cls, data: BytesLike, *, record: str | None = None, field: str | None = None
    ) -> Self:
        """Encoded bytes of the medium, format detected from the content (decoded lazily)."""
        return cls(to_bytes(data), record=record, field=field)

    @property
    def path(self) -> Path | None:
        """The file path, when the medium comes from a file."""
        return self._src.path
