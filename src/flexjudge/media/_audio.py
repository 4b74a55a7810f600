"""Audio: read with soundfile (``[audio]`` extra), mix to mono, resample per ``AudioPrep``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from flexjudge._util.optional import require
from flexjudge.errors import InputError
from flexjudge.media._base64 import media_payload
from flexjudge.media._common import (
    BytesLike,
    FileOrBytesMedium,
    PathLike,
    Source,
    array_hash,
    copied_source,
    describe,
    encoded_source,
)
from flexjudge.media._spec import AudioPrep

AUDIO_EXTENSIONS = frozenset(
    {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aiff", ".aif", ".aifc", ".au",
     ".snd", ".caf", ".w64", ".rf64", ".sd2", ".voc", ".htk", ".nist", ".sph", ".ircam", ".paf",
     ".svx", ".avr", ".wve", ".mpc", ".xi", ".pvf", ".mat"}
)  # fmt: skip
_DEFAULT_PREP = AudioPrep()


@dataclass(frozen=True, eq=False)
class PreparedAudio:
    """A 1-D mono waveform and its sample rate (float32/float64 in [-1, 1], or int16-scaled in
    reference mode after resampling — quirk Q10)."""

    array: np.ndarray
    sample_rate: int

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return float(self.array.shape[0]) / self.sample_rate


@dataclass(frozen=True)
class AudioInfo:
    """Header facts of an audio input."""

    sample_rate: int
    frames: int
    channels: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """``librosa.resample(y, orig_sr=orig_sr, target_sr=target_sr)`` with librosa's defaults.

    That is ``soxr_hq`` resampling, output length fixed to ``ceil(len(y) · ratio)`` (trimmed or
    zero-padded) and cast back to ``y.dtype``; called on soxr directly to skip librosa's slow
    first-import JIT.  Raises :class:`InputError` for non-float or non-finite input (librosa
    raises too) and :class:`MissingDependencyError` without ``soxr`` (``flexjudge[audio]``).
    """
    if orig_sr == target_sr:
        return y
    if not np.issubdtype(y.dtype, np.floating):
        raise InputError(f"audio must be floating-point to resample, got {y.dtype}")
    if not np.isfinite(y).all():
        raise InputError("audio buffer is not finite everywhere (NaN or inf)")
    soxr = require("soxr", "audio")
    n_samples = int(np.ceil(y.shape[-1] * (float(target_sr) / orig_sr)))
    y_hat = np.asarray(soxr.resample(y, orig_sr, target_sr, quality="soxr_hq"))
    if y_hat.shape[-1] > n_samples:
        y_hat = y_hat[..., :n_samples]
    elif y_hat.shape[-1] < n_samples:
        y_hat = np.pad(y_hat, [(0, 0)] * (y_hat.ndim - 1) + [(0, n_samples - y_hat.shape[-1])])
    return np.asarray(y_hat, dtype=y.dtype)


class Audio(FileOrBytesMedium):
    """An audio input: a file, encoded bytes, or an array plus its sample rate.

    In-memory arrays are ``(n,)`` or ``(n, channels)`` (soundfile layout; pass
    ``channels_first=True`` for ``(channels, n)``); integer arrays are scaled to [-1, 1] the way
    soundfile reads integer PCM (int16 / 32768, …).  Reading needs ``soundfile``
    (:class:`~flexjudge.errors.MissingDependencyError` naming ``flexjudge[audio]``); missing,
    unsupported, corrupt or empty audio raises :class:`~flexjudge.errors.MediaError` naming
    the path.
    """

    __slots__ = ("_array", "_hash", "_rate", "_src")

    _src: Source

    def __init__(
        self,
        source: PathLike | BytesLike | np.ndarray | Audio,
        *,
        sample_rate: int | None = None,
        channels_first: bool = False,
        record: str | None = None,
        field: str | None = None,
    ) -> None:
        self._hash: str | None = None
        self._array: np.ndarray | None = None
        self._rate: int | None = None
        if isinstance(source, Audio):
            self._src = copied_source(source._src, record, field)
            self._array, self._rate = source._array, source._rate
        elif isinstance(source, np.ndarray):
            self._src = Source(record=record, field=field)
            self._array, self._rate = _check_array(source, sample_rate, channels_first, self._src)
        else:
            self._src = encoded_source(source, "audio", record=record, field=field)

    @classmethod
    def from_array(
        cls,
        array: np.ndarray,
        sample_rate: int,
        *,
        channels_first: bool = False,
        record: str | None = None,
        field: str | None = None,
    ) -> Audio:
        """A waveform array and its sample rate (see the class docstring for layouts)."""
        return cls(
            array,
            sample_rate=sample_rate,
            channels_first=channels_first,
            record=record,
            field=field,
        )

    def __repr__(self) -> str:
        return f"Audio({self._src.label})"

    def info(self) -> AudioInfo:
        """Rate, frame count and channels from the header; :class:`MediaError` if unreadable."""
        if self._array is not None:
            assert self._rate is not None
            channels = 1 if self._array.ndim == 1 else int(self._array.shape[1])
            return AudioInfo(self._rate, int(self._array.shape[0]), channels)
        sf = require("soundfile", "audio")
        with self._src.open("audio", AUDIO_EXTENSIONS) as fh:
            try:
                meta = sf.info(fh)
            except Exception as exc:
                self._src.fail(f"cannot read audio: {describe(exc)}", exc)
        return AudioInfo(int(meta.samplerate), int(meta.frames), int(meta.channels))

    def validate(self) -> Audio:
        """Decode once (:class:`MediaError` if unusable); returns ``self``."""
        self._read()
        return self

    def load(self) -> PreparedAudio:
        """Mono float32 in [-1, 1] at the native sample rate."""
        data, rate = self._read()
        return PreparedAudio(_mono(data).astype(np.float32), rate)

    def prepare(self, prep: AudioPrep | None = None) -> PreparedAudio:
        """Mono waveform at ``prep.sample_rate`` (see :class:`AudioPrep` for the two modes).

        Raises :class:`MediaError` for unreadable/empty audio and, when resampling (both modes)
        or in clean mode, for NaN/inf samples.
        """
        prep = prep or _DEFAULT_PREP
        data, rate = self._read()
        audio = _mono(data)  # float64, like soundfile.read + mean over channels
        try:
            if prep.mode == "reference":
                if rate != prep.sample_rate:
                    audio = resample(audio.astype(np.float32), rate, prep.sample_rate)
                if audio.dtype == np.float32:  # only after resampling: quirk Q10
                    with np.errstate(invalid="ignore", over="ignore"):
                        audio = (audio * 32767).astype(np.int16)
                return PreparedAudio(audio, prep.sample_rate)
            if not np.isfinite(audio).all():
                raise InputError("audio contains NaN or inf samples")
            if rate != prep.sample_rate:
                audio = resample(audio, rate, prep.sample_rate)
            clean = np.clip(audio, -1.0, 1.0).astype(np.float32)
        except InputError as exc:
            self._src.fail(exc.message, exc)
        return PreparedAudio(clean, prep.sample_rate)

    def content_hash(self) -> str:
        """SHA-256 (hex) of the file/encoded bytes, or of the array and its sample rate."""
        if self._hash is None:
            if self._array is not None:
                self._hash = array_hash("audio", self._rate, array=self._array)
            else:
                self._hash = self._src.sha256("audio")
        return self._hash

    def _read(self) -> tuple[np.ndarray, int]:
        """float64 samples ``(n,)`` or ``(n, channels)`` and the rate, as ``soundfile.read``."""
        if self._array is not None:
            assert self._rate is not None
            return self._array.copy(), self._rate
        sf = require("soundfile", "audio")
        with self._src.open("audio", AUDIO_EXTENSIONS) as fh:
            try:
                data, rate = sf.read(fh, dtype="float64", always_2d=False)
            except Exception as exc:
                self._src.fail(f"cannot decode audio: {describe(exc)}", exc)
        if data.size == 0:
            self._src.fail("audio has no samples")
        return np.asarray(data, dtype=np.float64), int(rate)


def _mono(data: np.ndarray) -> np.ndarray:
    return data.mean(axis=1) if data.ndim > 1 else data


def _check_array(
    array: np.ndarray, sample_rate: int | None, channels_first: bool, src: Source
) -> tuple[np.ndarray, int]:
    """Validate and convert to float64 ``(n,)``/``(n, ch)`` as soundfile would return."""
    if sample_rate is None or int(sample_rate) != sample_rate or sample_rate <= 0:
        src.fail(f"an audio array needs a positive integer sample_rate, got {sample_rate!r}")
    return _to_float64(array, channels_first, src), int(sample_rate)


def _to_float64(array: np.ndarray, channels_first: bool, src: Source) -> np.ndarray:
    if array.ndim not in (1, 2):
        src.fail(f"audio array must be 1-D or 2-D, got shape {array.shape}")
    if array.ndim == 2 and channels_first:
        array = array.T
    if array.size == 0:
        src.fail(f"audio array is empty (shape {array.shape})")
    kind = array.dtype.kind
    if kind == "f":
        return array.astype(np.float64)
    if kind == "i":
        return array.astype(np.float64) / float(2 ** (8 * array.dtype.itemsize - 1))
    if kind == "u":
        half = float(2 ** (8 * array.dtype.itemsize - 1))
        return (array.astype(np.float64) - half) / half
    src.fail(f"audio array must be integer or float, got {array.dtype}")


def as_audio(
    x: Any,
    *,
    sample_rate: int | None = None,
    record: str | None = None,
    field: str | None = None,
) -> Audio:
    """Coerce ``x`` to :class:`Audio`.

    Accepts an :class:`Audio`, a path (optionally ``file://``), a ``data:…;base64,`` URI, encoded
    bytes, an array (needs ``sample_rate``) or an ``(array, sample_rate)`` tuple.  Anything
    else raises :class:`InputError`.
    """
    if isinstance(x, Audio) and record is None and field is None:
        return x
    if isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], np.ndarray):
        return Audio.from_array(x[0], int(x[1]), record=record, field=field)
    if isinstance(x, str) and x.startswith("data:"):
        raw = media_payload(x, "audio", record=record, field=field)
        return Audio.from_bytes(raw, record=record, field=field)
    return Audio(x, sample_rate=sample_rate, record=record, field=field)
