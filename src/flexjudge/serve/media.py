"""Safe media intake for the judge server: base64, allow-listed local files, limits.

Nothing here fetches URLs.  Local paths are refused unless a media root is configured;
then the path is opened component by component from a descriptor of the root
(``openat``-style, no component followed blindly), so no directory-symlink swap can lead
outside.  A symlink is followed only when its target, read as text, stays inside the root.
Only regular files are opened (``O_NONBLOCK`` first, so a FIFO cannot block a worker), and
a file with several hard links is refused: one of them may live outside the root.  A path
outside the root gets the same 403 whether or not the file exists.

Every request has a :class:`MediaBudget`: each reference is charged the bytes its decoded
form will take (read from the image header, the video container's metadata or the audio
header, before anything is decoded) against ``max_decoded_bytes``; videos are also bounded
in stream frames and audio in duration; a file or payload referenced several times is read
and checked once.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flexjudge.media._base64 import Base64Error, decode_base64
from flexjudge.serve.models import MediaInput
from flexjudge.serve.paths import RequestRejected as RequestRejected
from flexjudge.serve.paths import read_under_root as read_under_root

if TYPE_CHECKING:
    from flexjudge.judge import Judge
    from flexjudge.judge.types import JudgeItem


@dataclass(frozen=True)
class MediaLimits:
    """What one request's media may cost (see :class:`flexjudge.serve.ServerConfig`)."""

    media_root: Path | None
    max_media: int
    max_pixels: int
    max_media_bytes: int
    max_decoded_bytes: int = 1 << 30
    max_video_frames: int = 1800
    max_audio_seconds: float = 600.0
    allow_hard_links: bool = False


@dataclass
class MediaBudget:
    """One request's decoded-media account and its cache of files already read."""

    limits: MediaLimits
    used: int = 0
    cache: dict[Any, tuple[bytes, int]] = field(default_factory=dict)  # key → (bytes, cost)

    def charge(self, cost: int, where: str) -> None:
        self.used += cost
        if self.used > self.limits.max_decoded_bytes:
            raise RequestRejected(
                413,
                f"{where}: decoded media of this request would take {self.used:,} bytes, "
                f"over the limit of {self.limits.max_decoded_bytes:,}",
            )


def _decode_base64(data: str, where: str) -> bytes:
    try:
        return decode_base64(data)
    except Base64Error as exc:
        raise RequestRejected(422, f"{where}: {exc}") from None


def _check_image(data: bytes, max_pixels: int, where: str) -> int:
    """Header check; returns the decoded RGB size in bytes."""
    from flexjudge.errors import InputError
    from flexjudge.media import check_image_limits

    try:
        width, height = check_image_limits(data, max_pixels)
    except InputError as exc:
        status = 413 if "limit" in exc.message else 422
        raise RequestRejected(status, f"{where}: {exc.message}") from None
    return width * height * 3


def _check_video(data: bytes, limits: MediaLimits, where: str) -> int:
    """Container metadata (packets demuxed, nothing decoded) against the limits; returns
    the peak bytes decoding holds: the sampled frames at their output size (frames are
    resized as they are decoded) plus one chunk of native-size frames."""
    from flexjudge.errors import FlexJudgeError
    from flexjudge.media import Video, VideoPrep
    from flexjudge.media._video import STREAM_CHUNK
    from flexjudge.media._video_sampling import frame_size, smart_nframes

    try:
        info = Video(data).info()
    except FlexJudgeError as exc:
        raise RequestRejected(422, f"{where}: {exc}") from None
    if info.width * info.height > limits.max_pixels:
        raise RequestRejected(
            413,
            f"{where}: video frames are {info.width}×{info.height}, "
            f"over the limit of {limits.max_pixels:,} pixels",
        )
    if info.total_frames > limits.max_video_frames:
        raise RequestRejected(
            413,
            f"{where}: video has {info.total_frames:,} frames, over the limit of "
            f"{limits.max_video_frames:,} decoded frames",
        )
    prep = VideoPrep()
    try:
        kept = smart_nframes(info.total_frames, info.fps, prep)
        height, width = frame_size(info.height, info.width, kept, prep)
    except FlexJudgeError as exc:
        raise RequestRejected(422, f"{where}: {exc}") from None
    native = min(kept, STREAM_CHUNK) * info.height * info.width * 3
    return kept * height * width * 3 + native


def _check_audio(data: bytes, limits: MediaLimits, where: str) -> int:
    """Header duration against ``max_audio_seconds``; returns the decoded size (float64
    samples of every channel, as soundfile reads them, plus the 16 kHz float32 result)."""
    from flexjudge.errors import FlexJudgeError
    from flexjudge.media import Audio

    try:
        info = Audio(data).info()
    except FlexJudgeError as exc:
        raise RequestRejected(422, f"{where}: {exc}") from None
    if not info.sample_rate > 0:
        raise RequestRejected(422, f"{where}: audio has no sample rate")
    if info.duration > limits.max_audio_seconds:
        raise RequestRejected(
            413,
            f"{where}: audio lasts {info.duration:,.1f} s, over the limit of "
            f"{limits.max_audio_seconds:g} s",
        )
    return info.frames * max(info.channels, 1) * 8 + int(info.duration * 16_000 * 4)


def load_media(
    kind: str,
    entries: list[MediaInput],
    limits: MediaLimits,
    prefix: str = "",
    budget: MediaBudget | None = None,
) -> list[Any]:
    """Bytes for every entry of ``kind`` (``images``/``videos``/``audios``), checked against
    the limits from headers and metadata only.  ``budget`` is the request's account (one
    per request; a fresh one when omitted): every reference is charged its decoded size,
    and a file or payload met before in the request is not read or checked again.  Raises
    :class:`RequestRejected` naming the entry."""
    budget = budget if budget is not None else MediaBudget(limits)
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
            key: tuple[str, str] = (kind, "path:" + os.path.normpath(entry.path))
        else:
            assert entry.base64 is not None
            key = (kind, "base64:" + hashlib.sha256(entry.base64.encode()).hexdigest())
        seen = budget.cache.get(key)
        if seen is None:
            seen = _read_and_check(kind, entry, limits, where)
            budget.cache[key] = seen
        data, cost = seen
        budget.charge(cost, where)
        out.append(data)
    return out


def _read_and_check(
    kind: str, entry: MediaInput, limits: MediaLimits, where: str
) -> tuple[bytes, int]:
    if entry.path is not None:
        assert limits.media_root is not None
        data = read_under_root(
            entry.path,
            limits.media_root,
            limits.max_media_bytes,
            where,
            allow_hard_links=limits.allow_hard_links,
        )
    else:
        assert entry.base64 is not None
        data = _decode_base64(entry.base64, where)
    if len(data) > limits.max_media_bytes:
        raise RequestRejected(413, f"{where}: media is over {limits.max_media_bytes} bytes")
    if kind == "images":
        cost = _check_image(data, limits.max_pixels, where)
    elif kind == "videos":
        cost = _check_video(data, limits, where)
    else:
        cost = _check_audio(data, limits, where)
    return data, cost


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


def predecode_media(
    item: JudgeItem,
    judge: Judge,
    prefix: str = "",
    shared: dict[int, tuple[bytes, Any]] | None = None,
) -> JudgeItem:
    """Decode ``item``'s images and videos as ``judge`` will (its protocol's preparation)
    and keep the result on each :class:`~flexjudge.media.Image`/``Video``, so the single
    judge thread finds them ready instead of decoding.  Runs in the media pool, after the
    budget checks.  ``shared`` (one per request) maps the payloads :func:`load_media` handed
    out (one ``bytes`` object per distinct file) to their media object: each distinct file
    is decoded once per request, however many times it is named.  An item whose protocol
    cannot be resolved is left to the judge, which reports it."""
    if not (item.images or item.videos):
        return item
    from flexjudge.errors import FlexJudgeError
    from flexjudge.judge.prepare import media_preps
    from flexjudge.media import Image, Video
    from flexjudge.protocol import protocol_for

    cfg = judge.config
    try:
        protocol = protocol_for(item.resolved_task(), item.protocol or cfg.protocol)
    except (FlexJudgeError, KeyError, ValueError):
        return item
    image_prep, video_prep, _ = media_preps(protocol, cfg.mode)
    objects = shared if shared is not None else {}

    def ready(kind: str, values: list[Any]) -> list[Any]:
        out = []
        for i, data in enumerate(values):
            known = objects.get(id(data))
            if known is not None and known[0] is data:  # the very payload seen before
                media = known[1]
            else:
                media = Image(data) if kind == "images" else Video(data)
                objects[id(data)] = (data, media)  # holding data keeps its id unique
            try:
                media.prepare(image_prep if kind == "images" else video_prep, keep=True)
            except FlexJudgeError as exc:
                raise RequestRejected(422, f"{prefix}{kind}[{i}]: {exc}") from None
            out.append(media)
        return out

    item.images = ready("images", item.images)
    item.videos = ready("videos", item.videos)
    return item
