"""Test helpers: tiny offline Qwen checkpoints and deterministic media.

Everything here works without network access.  Importing this package is cheap; torch and
transformers are imported only when a model is built.

>>> from flexjudge.testing import tiny_model, make_test_image
>>> path = tiny_model("qwen2_5_vl")  # doctest: +SKIP
"""

from __future__ import annotations

from flexjudge.testing._hostile import HOSTILE_CANDIDATES
from flexjudge.testing._http import serve_in_thread
from flexjudge.testing._media import (
    make_test_audio,
    make_test_image,
    make_test_video,
    write_test_video,
    write_test_wav,
)
from flexjudge.testing._templates import QWEN2_5_OMNI_CHAT_TEMPLATE, QWEN2_5_VL_CHAT_TEMPLATE
from flexjudge.testing._tiny import TINY_KINDS, build_tiny_model, cli_tiny_model, tiny_model
from flexjudge.testing._tokenizer import TinyKind, judge_corpus

__all__ = [
    "HOSTILE_CANDIDATES",
    "QWEN2_5_OMNI_CHAT_TEMPLATE",
    "QWEN2_5_VL_CHAT_TEMPLATE",
    "TINY_KINDS",
    "TinyKind",
    "build_tiny_model",
    "cli_tiny_model",
    "judge_corpus",
    "make_test_audio",
    "make_test_image",
    "make_test_video",
    "serve_in_thread",
    "tiny_model",
    "write_test_video",
    "write_test_wav",
]
