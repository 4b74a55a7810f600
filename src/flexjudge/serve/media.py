"""Safe media intake for the judge server: base64, allow-listed local files, limits.

Nothing here fetches URLs.  Local paths are refused unless a media root is configured; then
the path is resolved (symlinks followed) and must stay inside the root, contain no ``..``
and name a regular file, which is opened without following a final symlink.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexjudge.serve.models import MediaInput


class RequestRejected(Exception):
    """A request the server refuses; becomes a JSON error with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class MediaLimits:
    media_root: Path | None
    max_media: int
    max_pixels: int
    max_media_bytes: int


def _decode_base64(data: str, where: str) -> bytes:
    if data.startswith("data:"):
        _, sep, data = data.partition(",")
        if not sep:
            raise RequestRejected(422, f"{where}: malformed data URI")
    try:
        raw = base64.b64decode(data.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RequestRejected(422, f"{where}: invalid base64 ({exc})") from exc
    if not raw:
        raise RequestRejected(422, f"{where}: empty media")
    return raw


def read_under_root(raw: str, root: Path, max_bytes: int, where: str) -> bytes:
    """Bytes of ``raw`` (relative to ``root``, or absolute inside it).  Refuses ``..``,
    anything resolving outside ``root``, non-regular files and files over ``max_bytes``."""
    if "\x00" in raw or not raw:
        raise RequestRejected(422, f"{where}: invalid path")
    given = Path(raw)
    if ".." in given.parts:
        raise RequestRejected(403, f"{where}: '..' is not allowed in media paths")
    base = root.resolve()
    candidate = given if given.is_absolute() else base / given
    try:
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError):
        raise RequestRejected(422, f"{where}: no such file under the media root") from None
    if not resolved.is_relative_to(base):
        raise RequestRejected(403, f"{where}: path is outside the media root")
    try:
        fd = os.open(resolved, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        raise RequestRejected(422, f"{where}: file cannot be opened") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RequestRejected(422, f"{where}: not a regular file")
        if info.st_size > max_bytes:
            raise RequestRejected(413, f"{where}: file is over {max_bytes} bytes")
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)
    except OSError:
        raise RequestRejected(422, f"{where}: file cannot be read") from None
    finally:
        os.close(fd)


def _check_image(data: bytes, max_pixels: int, where: str) -> None:
    from flexjudge.errors import InputError
    from flexjudge.media import check_image_limits

    try:
        check_image_limits(data, max_pixels)
    except InputError as exc:
        status = 413 if "limit" in exc.message else 422
        raise RequestRejected(status, f"{where}: {exc.message}") from None


def _check_video(data: bytes, max_pixels: int, where: str) -> None:
    from flexjudge.errors import FlexJudgeError
    from flexjudge.media import Video

    try:
        info = Video(data).info()
    except FlexJudgeError as exc:
        raise RequestRejected(422, f"{where}: {exc}") from None
    if info.width * info.height > max_pixels:
        raise RequestRejected(
            413,
            f"{where}: video frames are {info.width}×{info.height}, "
            f"over the limit of {max_pixels:,} pixels",
        )


def load_media(
    kind: str, entries: list[MediaInput], limits: MediaLimits, prefix: str = ""
) -> list[Any]:
    """Decoded bytes for every entry of ``kind`` (``images``/``videos``/``audios``), checked
    against the limits.  Raises :class:`RequestRejected` naming the entry."""
    out: list[Any] = []
    for i, entry in enumerate(entries):
        where = f"{prefix}{kind}[{i}]"
        if entry.url is not None:
            raise RequestRejected(403, f"{where}: URL fetching is disabled on this server")
        if entry.path is not None:
            if limits.media_root is None:
                raise RequestRejected(
                    403,
                    f"{where}: local file paths are refused (the server "
                    "was started without --media-root)",
                )
            data = read_under_root(entry.path, limits.media_root, limits.max_media_bytes, where)
        else:
            assert entry.base64 is not None
            data = _decode_base64(entry.base64, where)
        if len(data) > limits.max_media_bytes:
            raise RequestRejected(413, f"{where}: media is over {limits.max_media_bytes} bytes")
        if kind == "images":
            _check_image(data, limits.max_pixels, where)
        elif kind == "videos":
            _check_video(data, limits.max_pixels, where)
        out.append(data)
    return out


def load_molecules(entries: list[Any], limits: MediaLimits) -> list[Any]:
    """``flexjudge.media.Molecule`` objects for the request's ``molecules`` (SMILES strings or
    :class:`~flexjudge.serve.models.MoleculeInput`), validated with RDKit.  Raises
    :class:`RequestRejected` naming ``molecules[i]``."""
    from flexjudge.errors import FlexJudgeError
    from flexjudge.media import MOLBLOCK_EXTENSIONS, Molecule, as_molecule

    out: list[Any] = []
    for i, entry in enumerate(entries):
        where = f"molecules[{i}]"
        text = entry if isinstance(entry, str) else (entry.smiles or entry.base64 or "")
        if len(text) > limits.max_media_bytes:
            raise RequestRejected(413, f"{where}: molecule is over {limits.max_media_bytes} bytes")
        try:
            if isinstance(entry, str) or entry.smiles is not None:
                out.append(Molecule(text, field=where))
            elif entry.base64 is not None:
                out.append(as_molecule({"base64": text, "format": entry.format}, field=where))
            else:
                assert entry.path is not None
                if limits.media_root is None:
                    raise RequestRejected(
                        403,
                        f"{where}: local file paths are refused (the server "
                        "was started without --media-root)",
                    )
                data = read_under_root(entry.path, limits.media_root, limits.max_media_bytes, where)
                fmt = "mol" if Path(entry.path).suffix.lower() in MOLBLOCK_EXTENSIONS else "smi"
                out.append(Molecule.from_bytes(data, fmt=fmt, field=where))
        except FlexJudgeError as exc:
            raise RequestRejected(422, f"{where}: {exc}") from None
    return out


def count_media(*groups: list[Any]) -> int:
    return sum(len(g) for g in groups)
