"""Tokenizers for the tiny test checkpoints.

Two sources:

* ``"trained"``: a byte-level BPE trained on the fly (a fraction of a second) from a small
  built-in corpus of judge prompts, with Qwen's pre-tokenizer, so that judge prompts
  (``<think>``, ``[Question]``, digits, common English) tokenize into few tokens.
* ``"qwen"``: the real Qwen2.5 BPE (``vocab.json`` + ``merges.txt``) from a local directory,
  which gives the real Qwen token ids.

Both add Qwen's special tokens, with Qwen's exact names, in Qwen's order.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from flexjudge.errors import InputError

TinyKind = Literal["qwen2_5_vl", "qwen2_5_omni", "qwen2"]

# Qwen's pre-tokenization regex (the same one Qwen2Tokenizer uses).
_PRETOKENIZE = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)

#: Special tokens of Qwen2.5 / Qwen2.5-VL, in id order (first id 151643 in the real vocab).
QWEN2_5_VL_SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
#: Special tokens of Qwen2.5-Omni, in id order.
QWEN2_5_OMNI_SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|AUDIO|>",
    "<|audio_bos|>",
    "<|audio_eos|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_bos|>",
    "<|vision_eos|>",
    "<|vision_pad|>",
    "<|IMAGE|>",
    "<|VIDEO|>",
)
# Added after the specials in every Qwen2.5 tokenizer: two plain tokens, then six specials.
_TOOL_TOKENS = ("<tool_call>", "</tool_call>")
_FIM_TOKENS = (
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
)
#: Named tokens the Qwen2.5-Omni processor reads from its tokenizer.
OMNI_NAMED_TOKENS: dict[str, str] = {
    "image_token": "<|IMAGE|>",
    "audio_token": "<|AUDIO|>",
    "video_token": "<|VIDEO|>",
    "vision_bos_token": "<|vision_bos|>",
    "vision_eos_token": "<|vision_eos|>",
    "audio_bos_token": "<|audio_bos|>",
    "audio_eos_token": "<|audio_eos|>",
}

_CORPUS_LINES = (
    "You are a helpful assistant. The assistant first performs a detailed, step-by-step "
    "reasoning process in its mind and then provides the user with the answer.",
    "The reasoning process and answer are enclosed within <think> </think> and "
    "<answer> </answer> tags, respectively.",
    "<think> detailed reasoning process here, explaining each step of your evaluation for "
    "both assistants </think><answer> answer here </answer>",
    "Now the user asks you to judge the performance of two AI assistants in response to "
    "the question. Score assistants 1-10 (higher=better).",
    "Criteria includes helpfulness, relevance, accuracy, and level of detail. Avoid order, "
    "length, style or other bias.",
    "After thinking, when you finally reach a conclusion, clearly provide your evaluation "
    "scores within <answer> </answer> tags, i.e., for example, "
    "<answer>3</answer><answer>5</answer>",
    "[Question]\nWhat is shown in the image?\n\n[Assistant 1's Answer]\nA cat sitting on a "
    "red chair.\n\n[Assistant 2's Answer]\nA dog running in the park.",
    "[Question]\nDescribe the video.\n\n[Assistant's Answer]\nA person walks along the "
    "street and then opens a door.",
    "[Question]\nHow natural is the speech in the audio?\n\n[Assistant 1's Answer]\nThe "
    "voice sounds clear and natural.",
    "<think>\nAssistant 1 gives a correct and relevant answer. Assistant 2 misses the "
    "main object, so it is less accurate.\n</think>\n<answer>8</answer><answer>4</answer>",
    "<think>The first response is better because it is more helpful.</think> <answer>1</answer>",
    "<think>Both answers are similar in quality.</think><answer>[[A]]</answer> [[B]] [[C]]",
    "Which image is better? Image 1 or Image 2? Answer A or B. Rate the score from 0 to 9.",
    "0 1 2 3 4 5 6 7 8 9 10 0.5 1.5 2.5 3.5 4.5 100 2024 2025",
    "the a an of to and in is it that this for on with as was be are by at from or not but "
    "what which who how why when where there their they them he she his her we our you your",
    "good bad better worse best correct incorrect wrong right true false yes no quality "
    "image video audio picture frame sound speech music text caption prompt response model",
)


def judge_corpus() -> list[str]:
    """The built-in training corpus: judge prompts, ChatML turns and common words."""
    turns = [
        f"<|im_start|>system\n{_CORPUS_LINES[0]}<|im_end|>\n<|im_start|>user\n"
        f"{line}<|im_end|>\n<|im_start|>assistant\n"
        for line in _CORPUS_LINES[6:10]
    ]
    # Repetition makes the judge vocabulary frequent, so BPE merges it into few tokens.
    return [*_CORPUS_LINES, *turns] * 4


def special_tokens(kind: TinyKind) -> tuple[str, ...]:
    """All special/added tokens of ``kind``'s tokenizer, in Qwen's id order."""
    base = QWEN2_5_OMNI_SPECIAL_TOKENS if kind == "qwen2_5_omni" else QWEN2_5_VL_SPECIAL_TOKENS
    return (*base, *_TOOL_TOKENS, *_FIM_TOKENS)


def _trained_vocab(bpe_vocab_size: int) -> tuple[dict[str, int], list[tuple[str, str]]]:
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, trainers
    from tokenizers.models import BPE

    tok = Tokenizer(
        BPE(
            unk_token=None,
            continuing_subword_prefix="",
            end_of_word_suffix="",
            fuse_unk=False,
            byte_fallback=False,
        )
    )
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_PRETOKENIZE), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=bpe_vocab_size,
        min_frequency=1,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(judge_corpus(), trainer)
    model = json.loads(tok.to_str())["model"]
    # transformers wants merges as tuples; tokenizers may serialise them as "a b" or [a, b]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model["merges"]]
    return dict(model["vocab"]), merges


def _qwen_vocab(qwen_files_dir: Path) -> tuple[dict[str, int], list[tuple[str, str]]]:
    vocab_file, merges_file = qwen_files_dir / "vocab.json", qwen_files_dir / "merges.txt"
    missing = [p.name for p in (vocab_file, merges_file) if not p.is_file()]
    if missing:
        raise InputError(
            f"vocab='qwen' needs {', '.join(missing)} in {str(qwen_files_dir)!r} "
            "(a Qwen2.5 tokenizer directory)",
            field="qwen_files_dir",
        )
    vocab: dict[str, int] = json.loads(vocab_file.read_text(encoding="utf-8"))
    merges: list[tuple[str, str]] = []
    for line in merges_file.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#version"):
            left, right = line.split(" ")
            merges.append((left, right))
    return vocab, merges


def build_tokenizer(
    kind: TinyKind,
    *,
    vocab: Literal["trained", "qwen"] = "trained",
    qwen_files_dir: Path | None = None,
    bpe_vocab_size: int = 640,
    chat_template: str | None = None,
) -> Any:
    """Build a ``Qwen2Tokenizer`` for ``kind`` (see the module docstring for ``vocab``)."""
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    if vocab == "qwen":
        if qwen_files_dir is None:
            raise InputError("vocab='qwen' needs qwen_files_dir", field="qwen_files_dir")
        bpe, merges = _qwen_vocab(Path(qwen_files_dir))
    elif vocab == "trained":
        bpe, merges = _trained_vocab(bpe_vocab_size)
    else:
        raise InputError(f"unknown vocab {vocab!r}; use 'trained' or 'qwen'", field="vocab")

    names = special_tokens(kind)
    # Give the added tokens their ids up front, in Qwen's order: otherwise the tokenizer
    # registers eos/pad/named tokens first and the order (and the real Qwen ids) is lost.
    bpe = dict(bpe)
    first_added = max(bpe.values()) + 1
    bpe.update({name: first_added + i for i, name in enumerate(names)})
    extra: dict[str, Any] = {}
    if kind == "qwen2_5_omni":
        extra["extra_special_tokens"] = dict(OMNI_NAMED_TOKENS)
    # Built from a dict: the type stubs predate tuple merges and ``unk_token=None``.
    init: dict[str, Any] = {
        "vocab": bpe,
        "merges": merges,
        "unk_token": None,
        "bos_token": None,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        **extra,
    }
    tok = Qwen2Tokenizer(**init)

    def special(names: tuple[str, ...]) -> list[AddedToken]:
        return [AddedToken(s, special=True, normalized=False) for s in names]

    n_special = len(names) - len(_TOOL_TOKENS) - len(_FIM_TOKENS)
    # Qwen's order: the specials, the two tool-call tokens (not special), the FIM specials.
    tok.add_tokens(special(names[:n_special]), special_tokens=True)
    tok.add_tokens(list(_TOOL_TOKENS))
    tok.add_tokens(special(_FIM_TOKENS), special_tokens=True)
    tok.model_max_length = 32768
    if chat_template is not None:
        tok.chat_template = chat_template
    return tok
