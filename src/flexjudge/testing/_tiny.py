"""Tiny random-weight Qwen checkpoints, built offline in about a second.

:func:`build_tiny_model` writes a complete Hugging Face folder (config, generation config,
safetensors weights, tokenizer, processor, chat template) that the ``Auto*`` classes load
like a real checkpoint.  The architecture is the real one (Qwen2.5-VL, the Qwen2.5-Omni
thinker, or text-only Qwen2) at toy size; the weights are random, so outputs are gibberish
but deterministic for a seed.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Literal, get_args

from flexjudge.errors import InputError
from flexjudge.testing._configs import text_config, vision_config, with_mrope
from flexjudge.testing._templates import QWEN2_5_OMNI_CHAT_TEMPLATE, QWEN2_5_VL_CHAT_TEMPLATE
from flexjudge.testing._tokenizer import TinyKind, build_tokenizer

#: a tokenizer kind, or ``"mol_llm"`` (a toy causal LM plus a molecular encoder)
ModelKind = TinyKind | Literal["mol_llm"]
TINY_KINDS: tuple[str, ...] = (*get_args(TinyKind), "mol_llm")

# Bump when the files written by build_tiny_model change, so tiny_model() caches rebuild.
_FORMAT_VERSION = "1"
_STAMP = ".flexjudge-tiny"
_PIXEL_UNIT = 28 * 28  # one merged 2x2 patch of 14 px


def _vision_processors(image_pixels: int, video_pixels: int) -> tuple[Any, Any]:
    from transformers import Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    # ``size`` holds min/max pixels; tiny bounds keep the number of visual tokens small.
    image = Qwen2VLImageProcessor(
        size={"shortest_edge": 4 * _PIXEL_UNIT, "longest_edge": image_pixels}
    )
    video = Qwen2VLVideoProcessor(
        size={"shortest_edge": 4 * _PIXEL_UNIT, "longest_edge": video_pixels}
    )
    return image, video


def _build_vl(tok: Any, text: dict[str, Any], head_dim: int) -> tuple[Any, Any]:
    from transformers import (
        Qwen2_5_VLConfig,
        Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor,
    )

    ids = tok.convert_tokens_to_ids
    text = with_mrope(text, head_dim)
    cfg = Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision_config(text["hidden_size"]),
        image_token_id=ids("<|image_pad|>"),
        video_token_id=ids("<|video_pad|>"),
        vision_start_token_id=ids("<|vision_start|>"),
        vision_end_token_id=ids("<|vision_end|>"),
        tie_word_embeddings=text["tie_word_embeddings"],
    )
    image, video = _vision_processors(16 * _PIXEL_UNIT, 16 * _PIXEL_UNIT)
    proc = Qwen2_5_VLProcessor(
        image_processor=image,
        tokenizer=tok,
        video_processor=video,
        chat_template=QWEN2_5_VL_CHAT_TEMPLATE,
    )
    return Qwen2_5_VLForConditionalGeneration(cfg), proc


def _build_omni(tok: Any, text: dict[str, Any], head_dim: int) -> tuple[Any, Any]:
    from transformers import (
        Qwen2_5OmniProcessor,
        Qwen2_5OmniThinkerConfig,
        Qwen2_5OmniThinkerForConditionalGeneration,
        WhisperFeatureExtractor,
    )

    ids = tok.convert_tokens_to_ids
    text = with_mrope(text, head_dim)
    # Some ids are not declared fields of the thinker config (the rope-index code and the
    # real checkpoints use them anyway): pass everything as one dict.
    fields: dict[str, Any] = dict(
        text_config=text,
        vision_config={
            k: v for k, v in vision_config(text["hidden_size"]).items() if k not in {"window_size"}
        },
        audio_config={
            "num_mel_bins": 128,
            "encoder_layers": 2,
            "encoder_attention_heads": 2,
            "encoder_ffn_dim": 64,
            "d_model": 32,
            "output_dim": text["hidden_size"],
            "n_window": 100,
            "max_source_positions": 1500,
        },
        audio_token_index=ids("<|AUDIO|>"),
        image_token_index=ids("<|IMAGE|>"),
        video_token_index=ids("<|VIDEO|>"),
        audio_start_token_id=ids("<|audio_bos|>"),
        audio_end_token_id=ids("<|audio_eos|>"),
        vision_start_token_id=ids("<|vision_bos|>"),
        vision_end_token_id=ids("<|vision_eos|>"),
        user_token_id=tok("user", add_special_tokens=False)["input_ids"][0],
        bos_token_id=text["bos_token_id"],
        eos_token_id=text["eos_token_id"],
        pad_token_id=text["pad_token_id"],
        tie_word_embeddings=text["tie_word_embeddings"],
    )
    cfg = Qwen2_5OmniThinkerConfig(**fields)
    image, video = _vision_processors(16 * _PIXEL_UNIT, 16 * _PIXEL_UNIT)
    # The real checkpoint pads audio to 300 s (chunk_length=300); 30 s keeps tests small.
    features = WhisperFeatureExtractor(
        feature_size=128, sampling_rate=16000, hop_length=160, chunk_length=30, n_fft=400
    )
    proc = Qwen2_5OmniProcessor(
        image_processor=image,
        video_processor=video,
        feature_extractor=features,
        tokenizer=tok,
        chat_template=QWEN2_5_OMNI_CHAT_TEMPLATE,
    )
    return Qwen2_5OmniThinkerForConditionalGeneration(cfg), proc


def _build_text(tok: Any, text: dict[str, Any]) -> tuple[Any, Any]:
    from transformers import Qwen2Config, Qwen2ForCausalLM

    rope = {"rope_type": "default", "rope_theta": 1e6}
    return Qwen2ForCausalLM(Qwen2Config(**text, rope_parameters=rope)), None


def _near_greedy_generation_config(tok: Any) -> Any:
    """The sampling defaults Qwen checkpoints ship: near-greedy, with a repetition penalty.

    A backend with vLLM semantics must ignore them; tests rely on that being visible.
    """
    from transformers import GenerationConfig

    ids = tok.convert_tokens_to_ids
    return GenerationConfig(
        bos_token_id=ids("<|endoftext|>"),
        pad_token_id=ids("<|endoftext|>"),
        eos_token_id=[ids("<|im_end|>"), ids("<|endoftext|>")],
        do_sample=True,
        top_k=1,
        top_p=0.001,
        temperature=0.1,
        repetition_penalty=1.05,
    )


def build_tiny_model(
    out_dir: str | Path,
    kind: ModelKind = "qwen2_5_vl",
    *,
    seed: int = 0,
    vocab: Literal["trained", "qwen"] = "trained",
    qwen_files_dir: str | Path | None = None,
    hidden_size: int = 64,
    num_layers: int = 2,
    head_dim: int = 16,
    tie_word_embeddings: bool | None = None,
) -> Path:
    """Write a tiny random-weight checkpoint of ``kind`` to ``out_dir`` and return its path.

    ``kind`` is ``"qwen2_5_vl"`` (load with ``AutoModelForImageTextToText``),
    ``"qwen2_5_omni"`` (the Omni *thinker*, also ``AutoModelForImageTextToText``) or
    ``"qwen2"`` (text-only ``Qwen2ForCausalLM``, ``AutoModelForCausalLM``).  Every kind
    loads with ``AutoProcessor``/``AutoTokenizer`` and carries the Qwen chat template.
    ``"mol_llm"`` is the molecular-encoder judge of the ``mol-llm`` backend (see
    :mod:`flexjudge.testing._tiny_mol`; ``vocab``/``tie_word_embeddings`` do not apply).

    ``vocab="trained"`` trains a ~660-token BPE on a built-in judge corpus;
    ``vocab="qwen"`` uses the real Qwen2.5 vocabulary from ``qwen_files_dir`` (a folder
    with ``vocab.json`` and ``merges.txt``), giving real token ids and a 151,936-row
    embedding (tied by default to halve the size).  The same ``seed`` always gives
    identical weights; the global torch RNG is left untouched.

    Raises :class:`~flexjudge.errors.InputError` for an unknown ``kind``/``vocab``, a
    missing ``qwen_files_dir`` or inconsistent sizes.
    """
    import torch

    if kind not in TINY_KINDS:
        raise InputError(f"unknown kind {kind!r}; choose one of {TINY_KINDS}", field="kind")
    if kind == "mol_llm":
        from flexjudge.testing._tiny_mol import build_tiny_mol_llm

        return build_tiny_mol_llm(
            out_dir, seed=seed, hidden_size=hidden_size, num_layers=num_layers, head_dim=head_dim
        )
    out = Path(out_dir)
    files_dir = Path(qwen_files_dir) if qwen_files_dir is not None else None
    template = QWEN2_5_OMNI_CHAT_TEMPLATE if kind == "qwen2_5_omni" else QWEN2_5_VL_CHAT_TEMPLATE
    tok = build_tokenizer(kind, vocab=vocab, qwen_files_dir=files_dir, chat_template=template)
    if vocab == "qwen":
        vocab_size = max(151936, len(tok))
        tie = True if tie_word_embeddings is None else tie_word_embeddings
    else:
        # Exactly the tokenizer's size: padded rows would be ids that decode to nothing.
        vocab_size = len(tok)
        tie = bool(tie_word_embeddings)
    text = text_config(tok, vocab_size, hidden_size, num_layers, head_dim, tie)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if kind == "qwen2_5_vl":
            model, proc = _build_vl(tok, text, head_dim)
        elif kind == "qwen2_5_omni":
            model, proc = _build_omni(tok, text, head_dim)
        else:
            model, proc = _build_text(tok, text)
    model.generation_config = _near_greedy_generation_config(tok)

    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    if proc is not None:
        proc.save_pretrained(out)
    else:
        tok.save_pretrained(out)
    return out


_cache_lock = threading.Lock()
_cache: dict[tuple[str, str | None], Path] = {}
_temp_root: Path | None = None


def _remove_temp_root() -> None:
    if _temp_root is not None:
        shutil.rmtree(_temp_root, ignore_errors=True)


def tiny_model(kind: ModelKind = "qwen2_5_vl", cache_dir: str | Path | None = None) -> Path:
    """Path of a tiny ``kind`` checkpoint (seed 0, trained vocab), built once per process.

    Without ``cache_dir`` the checkpoint goes to a temporary folder removed at exit.  With
    ``cache_dir`` it is kept in ``cache_dir/<kind>`` and reused across processes; the
    folder is written under a temporary name and renamed, so parallel test workers never
    see a half-written checkpoint.
    """
    global _temp_root
    key = (kind, None if cache_dir is None else str(Path(cache_dir).resolve()))
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        if cache_dir is None:
            if _temp_root is None:
                _temp_root = Path(tempfile.mkdtemp(prefix="flexjudge-tiny-"))
                atexit.register(_remove_temp_root)
            path = build_tiny_model(_temp_root / kind, kind)
        else:
            path = _cached_build(Path(cache_dir), kind)
        _cache[key] = path
        return path


def _cached_build(cache_dir: Path, kind: ModelKind) -> Path:
    final = cache_dir / kind
    stamp = final / _STAMP
    if stamp.is_file() and stamp.read_text() == _FORMAT_VERSION:
        return final
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{kind}-", dir=cache_dir))
    try:
        build_tiny_model(staging, kind)
        (staging / _STAMP).write_text(_FORMAT_VERSION)
        if final.exists():  # stale format, or another process won the race
            if (final / _STAMP).is_file() and (final / _STAMP).read_text() == _FORMAT_VERSION:
                return final
            shutil.rmtree(final, ignore_errors=True)
        os.replace(staging, final)
    except OSError:
        if not ((final / _STAMP).is_file()):
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def cli_tiny_model(out_dir: str | Path, kind: str = "qwen2_5_vl") -> Path:
    """Entry point of ``flexjudge testing tiny-model DIR --kind KIND``; returns the folder.

    Raises :class:`~flexjudge.errors.InputError` for an unknown ``kind``.
    """
    if kind not in TINY_KINDS:
        raise InputError(f"unknown kind {kind!r}; choose one of {TINY_KINDS}", field="kind")
    return build_tiny_model(out_dir, kind)  # type: ignore[arg-type]
