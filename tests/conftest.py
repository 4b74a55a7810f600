"""Shared test fixtures.

``shared_data`` finds the read-only ``../shared/data`` folder beside the checkout (or
``$FLEXJUDGE_SHARED``) and skips the test, saying why, when it is absent.  Tests that must run
anywhere build their own data.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO_ROOT = Path(__file__).resolve().parents[1]


def find_shared() -> Path | None:
    """The ``shared`` folder: ``$FLEXJUDGE_SHARED`` or ``../shared`` beside the repo."""
    env = os.environ.get("FLEXJUDGE_SHARED")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared")
    for c in candidates:
        if (c / "data").is_dir():
            return c
    return None


def shared_path(*parts: str) -> Path:
    """Path under ``shared/``; skips the calling test when it is not there."""
    root = find_shared()
    if root is None:
        pytest.skip("../shared is absent (set FLEXJUDGE_SHARED): real-data test skipped")
    path = root.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: real-data test skipped")
    return path


@pytest.fixture
def shared() -> Path:
    """The ``shared`` folder (skips when absent)."""
    return shared_path()


@pytest.fixture(scope="session")
def tiny_vl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight Qwen2.5-VL checkpoint, built once per session."""
    from flexjudge.testing import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_vl"), kind="qwen2_5_vl")


@pytest.fixture(scope="session")
def tiny_omni(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random-weight Qwen2.5-Omni thinker checkpoint, built once per session."""
    from flexjudge.testing import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny_omni"), kind="qwen2_5_omni")
