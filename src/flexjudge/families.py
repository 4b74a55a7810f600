"""Model families and their media placeholders: the one place these strings are written.

A *family* names how a checkpoint's prompts are laid out and which media its processor takes:
``qwen2_5_vl`` (images, videos), ``qwen2_5_omni`` (images, videos, audio), ``llama3`` (text,
Llama-3 headers) and ``text`` (any other causal LM).  A *placeholder* is the string typed into
a rendered prompt where one medium goes; the processor expands its *token* into the medium's
embeddings.  Protocols, backends, the servers and the tiny test checkpoints all read these
tables, so a new family is added here once.
"""

from __future__ import annotations

from typing import Literal, get_args

ModelFamily = Literal["qwen2_5_vl", "qwen2_5_omni", "text", "llama3"]
MediaKind = Literal["image", "video", "audio"]

MODEL_FAMILIES: tuple[ModelFamily, ...] = get_args(ModelFamily)
MEDIA_KINDS: tuple[MediaKind, ...] = get_args(MediaKind)

#: the family of the paper's Flex-VL judge, assumed where nothing else is known
DEFAULT_FAMILY: ModelFamily = "qwen2_5_vl"

#: per family and medium: (opening mark, the token the processor expands, closing mark)
_MARKS: dict[str, dict[str, tuple[str, str, str]]] = {
    "qwen2_5_vl": {
        "image": ("<|vision_start|>", "<|image_pad|>", "<|vision_end|>"),
        "video": ("<|vision_start|>", "<|video_pad|>", "<|vision_end|>"),
    },
    "qwen2_5_omni": {
        "image": ("<|vision_bos|>", "<|IMAGE|>", "<|vision_eos|>"),
        "video": ("<|vision_bos|>", "<|VIDEO|>", "<|vision_eos|>"),
        "audio": ("<|audio_bos|>", "<|AUDIO|>", "<|audio_eos|>"),
    },
}

#: the token the processor expands, per family and medium (families without media are absent)
PLACEHOLDER_TOKENS: dict[str, dict[str, str]] = {
    family: {kind: token for kind, (_, token, _) in marks.items()}
    for family, marks in _MARKS.items()
}

#: the full placeholder typed into a prompt, per family and medium
PLACEHOLDERS: dict[str, dict[str, str]] = {
    family: {kind: "".join(parts) for kind, parts in marks.items()}
    for family, marks in _MARKS.items()
}

#: placeholders typed literally in the reference templates (spec §3.2): Qwen2.5-VL's for
#: images and videos, Qwen2.5-Omni's for audio
REFERENCE_PLACEHOLDERS: dict[str, str] = {
    "image": PLACEHOLDERS["qwen2_5_vl"]["image"],
    "video": PLACEHOLDERS["qwen2_5_vl"]["video"],
    "audio": PLACEHOLDERS["qwen2_5_omni"]["audio"],
}

#: the rate every audio input is resampled to: the Qwen2.5-Omni audio encoder's (Whisper's)
AUDIO_SAMPLE_RATE = 16000

#: the molecule placeholder of the Mol-LLaMA prompts (spec §11), and how many a prompt repeats
MOLECULE_PLACEHOLDER = "<mol>"
MOLECULE_PLACEHOLDER_COUNT = 8

#: the Llama-3 header mark whose presence in a vocabulary identifies the ``llama3`` family
LLAMA3_HEADER = "<|start_header_id|>"

_VL_MODEL_TYPES = frozenset({"qwen2_5_vl", "qwen2_vl"})
_OMNI_MODEL_TYPES = frozenset({"qwen2_5_omni", "qwen2_5_omni_thinker"})


def media_family(model_type: str) -> ModelFamily | None:
    """The media-taking family of a ``config.model_type``, or None for a text-only model."""
    if model_type in _VL_MODEL_TYPES:
        return "qwen2_5_vl"
    if model_type in _OMNI_MODEL_TYPES:
        return "qwen2_5_omni"
    return None


def placeholder_tokens(family: str) -> tuple[str | None, str | None, str | None]:
    """The (image, video, audio) tokens ``family``'s processor expands; None where it takes none."""
    tokens = PLACEHOLDER_TOKENS.get(family, {})
    return tokens.get("image"), tokens.get("video"), tokens.get("audio")
