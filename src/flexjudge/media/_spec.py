"""Preprocessing specifications carried by protocols (frozen, hashable, backend-agnostic).

Each spec describes *how* a media input is turned into what a backend receives; the typed inputs
(:class:`~flexjudge.media.Image`, ``Video``, ``Audio``) apply them in ``prepare(spec)``.  Invalid
values raise :class:`~flexjudge.errors.InputError` at construction time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from flexjudge.errors import InputError
from flexjudge.families import AUDIO_SAMPLE_RATE

AudioMode = Literal["reference", "clean"]
VideoKernel = Literal["torch", "pil"]


@dataclass(frozen=True)
class ImagePrep:
    """How to preprocess an image before a backend sees it.

    ``resize``: ``None`` keeps the native size; an ``int`` squashes to ``n × n``; a tuple is
    ``(width, height)`` (PIL order).  The aspect ratio is never preserved (reference behaviour).
    The filter is PIL's default for the image mode: bicubic for RGB/L/RGBA…, but nearest-neighbour
    for palette (``P``) and bilevel (``1``) images.

    ``convert_rgb_before_resize``: ``True`` converts to RGB first (MLLM-as-a-Judge: palette images
    are then resized bicubically); ``False`` resizes the image in its original mode (MJ-Bench,
    GenAI-Bench: palette images are resized nearest-neighbour).

    Whatever the settings, the prepared image is an RGB ``PIL.Image.Image``: images still in
    another mode after resizing are converted with ``Image.convert("RGB")`` (alpha is dropped, not
    composited, as in the reference stack's processors).
    """

    resize: int | tuple[int, int] | None = None
    convert_rgb_before_resize: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.resize, list):
            object.__setattr__(self, "resize", tuple(self.resize))
        size = self.size
        if size is not None and (size[0] <= 0 or size[1] <= 0):
            raise InputError(f"ImagePrep.resize must be positive, got {self.resize!r}")

    @property
    def size(self) -> tuple[int, int] | None:
        """Target ``(width, height)`` or ``None`` for native size."""
        if self.resize is None:
            return None
        if isinstance(self.resize, int):
            return (self.resize, self.resize)
        if len(self.resize) != 2:
            raise InputError(
                f"ImagePrep.resize must be an int or (width, height), got {self.resize!r}"
            )
        return (int(self.resize[0]), int(self.resize[1]))


@dataclass(frozen=True)
class VideoPrep:
    """Frame sampling and per-frame resizing, reproducing qwen-vl-utils 0.0.8 (spec §7.4).

    * ``nframes = round_to_even(clamp(total / native_fps * fps, ceil_even(min_frames),
      floor_even(min(max_frames, total))))``;
    * frame indices ``round(linspace(0, total - 1, nframes))``;
    * every frame resized (bicubic, antialiased) to multiples of ``image_factor``:
      downscaled when ``round(h)·round(w) > max_pixels``, upscaled to reach ``min_pixels`` when
      below it.  As in the library, the effective maximum is
      ``min(max_pixels, max(min(max_frame_pixels, total_pixels / nframes · frame_factor),
      int(min_pixels · 1.05)))``.

    ``kernel="torch"`` computes indices with ``torch.linspace`` (float32) and resizes with
    ``torch.nn.functional.interpolate`` exactly like qwen-vl-utils/torchvision; ``"pil"`` avoids
    torch (numpy float64 indices, PIL bicubic): for very long videos an index can differ by one
    frame and pixel values differ slightly.
    """

    fps: float = 1.0
    max_pixels: int = 224 * 224
    min_pixels: int = 128 * 28 * 28
    min_frames: int = 4
    max_frames: int = 768
    frame_factor: int = 2
    image_factor: int = 28
    max_frame_pixels: int = 768 * 28 * 28
    total_pixels: int = 24576 * 28 * 28
    kernel: VideoKernel = "torch"

    def __post_init__(self) -> None:
        if not self.fps > 0:
            raise InputError(f"VideoPrep.fps must be > 0, got {self.fps!r}")
        for name in ("max_pixels", "min_pixels", "min_frames", "max_frames", "frame_factor"):
            if getattr(self, name) < 1:
                raise InputError(f"VideoPrep.{name} must be >= 1, got {getattr(self, name)!r}")
        if self.image_factor < 1:
            raise InputError(f"VideoPrep.image_factor must be >= 1, got {self.image_factor!r}")
        if self.kernel not in ("torch", "pil"):
            raise InputError(f"VideoPrep.kernel must be 'torch' or 'pil', got {self.kernel!r}")


@dataclass(frozen=True)
class AudioPrep:
    """Audio loading to a mono waveform at ``sample_rate``.

    ``mode="reference"`` reproduces the reference loader byte for byte (spec §8.1, quirk Q10):
    ``soundfile.read`` as float64, mean over channels; when the native rate differs from
    ``sample_rate`` the signal is cast to float32, resampled (librosa's default ``soxr_hq``) and
    then multiplied by 32767 and cast to int16 (truncation, no clipping).  Files already at
    ``sample_rate`` stay float64 in [-1, 1].

    ``mode="clean"`` always returns float32 in [-1, 1] (resampled when needed, then clipped).
    """

    sample_rate: int = AUDIO_SAMPLE_RATE
    mode: AudioMode = "clean"

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise InputError(f"AudioPrep.sample_rate must be > 0, got {self.sample_rate!r}")
        if self.mode not in ("reference", "clean"):
            raise InputError(f"AudioPrep.mode must be 'reference' or 'clean', got {self.mode!r}")


#: MLLM-as-a-Judge (§7.1): RGB, then 448×448 squash.
IMAGE_MLLM_JUDGE = ImagePrep(resize=448, convert_rgb_before_resize=True)
#: MJ-Bench (§7.3): 336×336 squash in the original mode.
IMAGE_MJ_BENCH = ImagePrep(resize=336, convert_rgb_before_resize=False)
#: GenAI-Bench image/editing (§7.4): 448×448 squash in the original mode.
IMAGE_GENAI_BENCH = ImagePrep(resize=448, convert_rgb_before_resize=False)
#: VL-RewardBench (§7.2): native size.
IMAGE_NATIVE = ImagePrep(resize=None, convert_rgb_before_resize=False)
#: GenAI-Bench video (§7.4): 1 fps, at most 224² pixels per frame.
VIDEO_GENAI_BENCH = VideoPrep()
#: Audio benchmarks, reference parity (§8.1, Q10).
AUDIO_REFERENCE = AudioPrep(sample_rate=AUDIO_SAMPLE_RATE, mode="reference")
#: Audio, clean: float32 in [-1, 1] at 16 kHz.
AUDIO_CLEAN = AudioPrep(sample_rate=AUDIO_SAMPLE_RATE, mode="clean")


MoleculeView = Literal["image", "text", "graph"]
MOLECULE_VIEWS: tuple[MoleculeView, ...] = ("image", "text", "graph")


@dataclass(frozen=True)
class MoleculePrep:
    """How a molecule is shown to a judge.

    ``view="image"``: an RDKit 2-D depiction, ``image_size × image_size`` pixels, given to a
    vision-language judge as an image; ``"text"``: canonical SMILES plus the descriptor card
    (:meth:`~flexjudge.media.Molecule.describe`) written into the prompt; ``"graph"``: atom/bond
    tensors (plus an ETKDG conformer seeded with ``seed`` when ``conformer``) for a
    molecular-encoder backend.
    """

    view: MoleculeView = "image"
    image_size: int = 448
    conformer: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if self.view not in MOLECULE_VIEWS:
            raise InputError(
                f"MoleculePrep.view must be one of {MOLECULE_VIEWS}, got {self.view!r}"
            )
        if self.image_size <= 0:
            raise InputError(f"MoleculePrep.image_size must be positive, got {self.image_size}")

    def key(self) -> str:
        """What of this spec changes what the judge sees (part of result-store keys)."""
        if self.view == "image":
            return f"image:{self.image_size}"
        if self.view == "graph":
            return f"graph:{int(self.conformer)}:{self.seed}"
        return "text"


@dataclass(frozen=True)
class MediaPrep:
    """The preprocessing of every medium, as a protocol prescribes it.

    The judge applies :meth:`for_mode`: in ``clean`` mode images are always converted to RGB
    before resizing (no nearest-neighbour palette resize), and the audio loader follows the
    judging mode (``reference`` keeps the reference loader's quirk Q10).
    """

    image: ImagePrep = field(default_factory=ImagePrep)
    video: VideoPrep = field(default_factory=VideoPrep)
    audio: AudioPrep = field(default_factory=AudioPrep)
    #: the view is chosen per run (``molecule_view``); a protocol sets the rest
    molecule: MoleculePrep = field(default_factory=MoleculePrep)

    def for_mode(self, mode: AudioMode) -> MediaPrep:
        """The preps to apply when judging in ``mode`` (``reference`` or ``clean``)."""
        rgb_first = self.image.convert_rgb_before_resize or mode == "clean"
        return MediaPrep(
            image=replace(self.image, convert_rgb_before_resize=rgb_first),
            video=self.video,
            audio=replace(self.audio, mode=mode),
            molecule=self.molecule,
        )
