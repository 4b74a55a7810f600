"""The publishers' distribution formats: Hugging Face parquet and arrow files, ``datasets``
save/cache folders, and media cells as they come out of them (``{bytes, path}`` dicts, PIL
images, ``{array, sampling_rate}`` audio, URLs mapped onto a local mirror).

Every reader returns ``[(where, row)]`` like :func:`flexjudge.bench._io.read_records`, with
``where`` = ``file[row]``; media errors name the file, the row and the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np

from flexjudge.errors import InputError

PARQUET_MAGIC = b"PAR1"
ARROW_FILE_MAGIC = b"ARROW1"
#: files that mark a ``datasets`` ``save_to_disk`` folder (a Dataset or a DatasetDict)
SAVED_MARKERS = ("state.json", "dataset_dict.json")
TABULAR_SUFFIXES = (".parquet", ".arrow")


def sniff(path: Path) -> str | None:
    """``"parquet"`` / ``"arrow"`` from the file's magic bytes (whatever its name), else None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return None
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.startswith(ARROW_FILE_MAGIC) or head.startswith(b"\xff\xff\xff\xff"):
        return "arrow"
    return None


def is_tabular_dir(path: Path) -> bool:
    """A ``save_to_disk`` folder, a ``datasets`` cache folder or a folder of parquet files."""
    if not path.is_dir():
        return False
    if any((path / m).is_file() for m in SAVED_MARKERS):
        return True
    return any(path.glob("*.arrow")) or any(path.glob("**/*.parquet"))


def read_table_file(path: Path, kind: str) -> list[tuple[str, Any]]:
    """Rows of one parquet or arrow (IPC stream or file) file, media cells left raw."""
    import pyarrow as pa

    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(path)
        else:
            with open(path, "rb") as fh:
                try:
                    table = pa.ipc.open_stream(fh).read_all()
                except pa.ArrowInvalid:
                    fh.seek(0)
                    table = pa.ipc.open_file(fh).read_all()
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{path} is not a readable {kind} file: {exc}", field="data") from exc
    return [(f"{path.name}[{i}]", row) for i, row in enumerate(table.to_pylist())]


def read_tabular_dir(path: Path, split: str | None = None) -> list[tuple[str, Any]]:
    """Rows of a ``datasets`` folder: ``save_to_disk`` output (a Dataset, or a DatasetDict
    whose ``split`` is taken), a ``load_dataset`` cache folder of ``*.arrow`` shards, or a hub
    snapshot of parquet shards (``split`` picks the shards whose name starts with it)."""
    if any((path / m).is_file() for m in SAVED_MARKERS):
        return _saved_dataset(path, split)
    shards = sorted(path.glob("*.arrow"))
    kind = "arrow"
    if not shards:
        shards, kind = sorted(path.glob("**/*.parquet")), "parquet"
    if split is not None:
        named = [s for s in shards if s.name.split("-")[0].split(".")[0] == split]
        named = named or [s for s in shards if split in s.parent.name]
        shards = named or shards
    if not shards:
        raise InputError(f"no parquet or arrow files under {path}", field="data")
    rows: list[tuple[str, Any]] = []
    for shard in shards:
        rows.extend(read_table_file(shard, kind))
    return rows


def _saved_dataset(path: Path, split: str | None) -> list[tuple[str, Any]]:
    import datasets

    try:
        ds: Any = datasets.load_from_disk(str(path))
    except Exception as exc:  # a damaged or foreign folder
        raise InputError(f"{path} is not a readable datasets folder: {exc}", field="data") from exc
    if isinstance(ds, datasets.DatasetDict):
        names = list(ds)
        pick = split if split in ds else (names[0] if len(names) == 1 else None)
        if pick is None:
            raise InputError(
                f"{path} holds the splits {names}; none is called {split!r}", field="data"
            )
        ds = ds[pick]
    return dataset_rows(ds, path.name)


def dataset_rows(ds: Any, name: str) -> list[tuple[str, Any]]:
    """Rows of a ``datasets.Dataset`` with media cells undecoded (``{bytes, path}``)."""
    table = ds.with_format("arrow")[:]
    return [(f"{name}[{i}]", row) for i, row in enumerate(table.to_pylist())]


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def mirror_path(url: str, media_root: Path) -> Path:
    """The local copy of ``url`` under ``media_root``: the URL path kept, with the host as a
    first folder when a mirror made with ``wget -x`` has one."""
    parsed = urlparse(url)
    rel = unquote(parsed.path).lstrip("/")
    with_host = media_root / parsed.netloc / rel
    return with_host if with_host.exists() else media_root / rel


def media_cell(
    value: Any,
    *,
    root: Path | None,
    media_root: Path | None,
    where: str,
    field: str,
    resolve: Any = None,
) -> Any:
    """One media cell as the judge takes it.

    * a path string: resolved against ``root`` (``resolve(root, name)`` when given);
    * a URL: mapped onto ``media_root`` (:func:`mirror_path`); without one an error, since
      media are never downloaded;
    * ``{bytes, path}`` (HF Image/Audio/Video storage): the bytes, else the path;
    * ``{array, sampling_rate}`` (decoded HF audio): ``(array, rate)``;
    * PIL images, arrays and bytes: as they are.

    Raises :class:`InputError` naming ``where`` and ``field`` for anything else.
    """
    if value is None:
        raise InputError("missing media", record=where, field=field)
    if isinstance(value, str):
        if is_url(value):
            if media_root is None:
                raise InputError(
                    f"{value!r} is a URL; media are not downloaded: mirror them and pass "
                    "--media-root (the URL path is kept under it)",
                    record=where,
                    field=field,
                )
            return str(mirror_path(value, media_root))
        if root is None:
            return value
        return resolve(root, value) if resolve is not None else str(root / value)
    if isinstance(value, Mapping):
        if value.get("bytes") is not None:
            return bytes(value["bytes"])
        if value.get("array") is not None:
            rate = value.get("sampling_rate")
            if not isinstance(rate, int | float) or isinstance(rate, bool):
                raise InputError(
                    "audio array without a numeric 'sampling_rate'", record=where, field=field
                )
            return (np.asarray(value["array"]), int(rate))
        if isinstance(value.get("path"), str) and value["path"]:
            return media_cell(
                value["path"],
                root=root,
                media_root=media_root,
                where=where,
                field=field,
                resolve=resolve,
            )
        raise InputError(
            f"media dict without bytes, array or path (keys {sorted(value)})",
            record=where,
            field=field,
        )
    if isinstance(value, bytes | bytearray | np.ndarray | tuple) or hasattr(value, "getpixel"):
        return value
    raise InputError(
        f"expected a path, URL, {{bytes, path}} dict, PIL image or array, "
        f"got {type(value).__name__}",
        record=where,
        field=field,
    )
