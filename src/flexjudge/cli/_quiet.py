"""Keep the command line's stderr for what matters: no Hugging Face progress bars ("Loading
weights", "Writing model shards", downloads).  Real warnings still reach stderr; the one
transformers video warning that flexjudge's own frame sizing makes moot is avoided where the
backend calls the processor (``cap_pixels_per_frame=False``)."""

from __future__ import annotations

import os
import sys


def quiet_libraries() -> None:
    """Silence Hugging Face progress bars, now and in libraries imported later (unless
    ``HF_HUB_DISABLE_PROGRESS_BARS`` is set otherwise)."""
    if os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1") != "1":
        return
    if "huggingface_hub" in sys.modules:
        from huggingface_hub.utils import disable_progress_bars  # type: ignore[attr-defined]

        disable_progress_bars()
    if "transformers" in sys.modules:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
