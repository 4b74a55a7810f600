"""Typed media inputs (image, video, audio, molecule) and their preprocessing specs.

This package knows nothing of models or backends.  A protocol carries a spec
(:class:`ImagePrep`, :class:`VideoPrep`, :class:`AudioPrep`); a backend calls
``media.prepare(spec)`` and receives an RGB ``PIL.Image.Image``, a :class:`PreparedVideo` or a
:class:`PreparedAudio`.  ``content_hash()`` gives a stable key for result stores.

Every failure caused by the data (missing file, unsupported extension, corrupt or empty content,
wrong array shape/dtype) raises :class:`flexjudge.errors.MediaError`, which names the file and,
when given, the record and field; missing optional packages raise
:class:`flexjudge.errors.MissingDependencyError` (``av`` → ``[video]``, ``soundfile``/``soxr`` →
``[audio]``, ``rdkit`` → ``[mol]``).
"""

from __future__ import annotations

from flexjudge.media._audio import (
    AUDIO_EXTENSIONS,
    Audio,
    AudioInfo,
    PreparedAudio,
    as_audio,
    resample,
)
from flexjudge.media._base64 import Base64Error, MediaKind, decode_base64
from flexjudge.media._codec import decode_base64_media
from flexjudge.media._image import Image, as_image, check_image_limits, image_extensions
from flexjudge.media._molecule import (
    MOLBLOCK_EXTENSIONS,
    SMILES_EXTENSIONS,
    Molecule,
    as_molecule,
)
from flexjudge.media._molecule_graph import (
    ATOM_FEATURE_SIZES,
    BOND_FEATURE_SIZES,
    MoleculeGraph,
)
from flexjudge.media._spec import (
    AUDIO_CLEAN,
    AUDIO_REFERENCE,
    IMAGE_GENAI_BENCH,
    IMAGE_MJ_BENCH,
    IMAGE_MLLM_JUDGE,
    IMAGE_NATIVE,
    MOLECULE_VIEWS,
    VIDEO_GENAI_BENCH,
    AudioMode,
    AudioPrep,
    ImagePrep,
    MediaPrep,
    MoleculePrep,
    MoleculeView,
    VideoKernel,
    VideoPrep,
)
from flexjudge.media._video import VIDEO_EXTENSIONS, PreparedVideo, Video, VideoInfo, as_video
from flexjudge.media._video_sampling import (
    effective_max_pixels,
    frame_size,
    resize_frames,
    sample_indices,
    smart_nframes,
    smart_resize,
)

__all__ = [
    "ATOM_FEATURE_SIZES",
    "AUDIO_CLEAN",
    "AUDIO_EXTENSIONS",
    "AUDIO_REFERENCE",
    "BOND_FEATURE_SIZES",
    "IMAGE_GENAI_BENCH",
    "IMAGE_MJ_BENCH",
    "IMAGE_MLLM_JUDGE",
    "IMAGE_NATIVE",
    "MOLBLOCK_EXTENSIONS",
    "MOLECULE_VIEWS",
    "SMILES_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "VIDEO_GENAI_BENCH",
    "Audio",
    "AudioInfo",
    "AudioMode",
    "AudioPrep",
    "Base64Error",
    "Image",
    "ImagePrep",
    "MediaKind",
    "MediaPrep",
    "Molecule",
    "MoleculeGraph",
    "MoleculePrep",
    "MoleculeView",
    "PreparedAudio",
    "PreparedVideo",
    "Video",
    "VideoInfo",
    "VideoKernel",
    "VideoPrep",
    "as_audio",
    "as_image",
    "as_molecule",
    "as_video",
    "check_image_limits",
    "decode_base64",
    "decode_base64_media",
    "effective_max_pixels",
    "frame_size",
    "image_extensions",
    "resample",
    "resize_frames",
    "sample_indices",
    "smart_nframes",
    "smart_resize",
]
