"""Checkpoint fingerprints: what a result-store key knows of the model that judged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf")
_SAMPLE_BLOCKS, _BLOCK_BYTES = 64, 64 << 10  # 4 MiB read per weights file
_MAX_HASHED_FILE = 64 << 20  # other files up to this size are hashed whole


def checkpoint_fingerprint(head: dict[str, Any], folder: Path) -> str:
    """16 hex digits over ``head`` (JSON) and, when ``folder`` is a local checkpoint folder,
    every file in it by name and :func:`_file_digest`."""
    digest = hashlib.sha256()
    digest.update(json.dumps(head, sort_keys=True, default=str).encode())
    if folder.is_dir():
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            digest.update(path.name.encode())
            digest.update(_file_digest(path))
    return digest.hexdigest()[:16]


def _file_digest(path: Path) -> bytes:
    """Whole content of small files; size, mtime and evenly spread blocks of weight files."""
    stat = path.stat()
    digest = hashlib.sha256(str(stat.st_size).encode())
    with path.open("rb") as handle:
        is_weights = path.name.endswith(_WEIGHT_SUFFIXES) or stat.st_size > _MAX_HASHED_FILE
        if not is_weights or stat.st_size <= _SAMPLE_BLOCKS * _BLOCK_BYTES:
            digest.update(handle.read())
            return digest.digest()
        digest.update(str(stat.st_mtime_ns).encode())
        last = stat.st_size - _BLOCK_BYTES
        for k in range(_SAMPLE_BLOCKS):
            handle.seek(last * k // (_SAMPLE_BLOCKS - 1))
            digest.update(handle.read(_BLOCK_BYTES))
    return digest.digest()
