"""Media paths in input files: relative ones resolve against one folder (the input file's,
or ``--media-root``) in every command; paths written to an output resolve from the output
file's folder."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: the media list keys of an input item
MEDIA_KEYS = ("images", "videos", "audios")
_NOT_PATHS = ("data:", "http://", "https://", "file://", "s3://", "gs://")


def is_relative_path(value: Any) -> bool:
    """Whether ``value`` is a relative file path string (not a URL or data URL)."""
    return (
        isinstance(value, str)
        and bool(value)
        and not value.startswith(_NOT_PATHS)
        and not Path(value).is_absolute()
    )


def resolve_media(values: list[Any], base_dir: Path) -> list[Any]:
    """``values`` with each relative path string joined onto ``base_dir``."""
    return [str(base_dir / v) if is_relative_path(v) else v for v in values]


def relative_to_output(value: Any, output_dir: Path) -> Any:
    """A path string rewritten relative to ``output_dir`` (where the file that mentions it
    lives), so the output reads back from any working directory; other values unchanged."""
    if not isinstance(value, str) or value.startswith(_NOT_PATHS) or not value:
        return value
    return os.path.relpath(Path(value).resolve(), output_dir.resolve())
