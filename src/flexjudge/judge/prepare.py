"""Turn an item's raw media into what backends take, as its protocol prescribes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from flexjudge._util.optional import available
from flexjudge.errors import InputError
from flexjudge.families import PLACEHOLDERS
from flexjudge.protocol import MOL_TOKENS, Mode, Protocol

T = TypeVar("T")


@dataclass
class PreparedMedia:
    images: list[Image.Image] = field(default_factory=list)
    videos: list[np.ndarray] = field(default_factory=list)
    video_fps: list[float] = field(default_factory=list)
    audios: list[np.ndarray] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    #: graph-view molecules (``flexjudge.media.MoleculeGraph``)
    molecules: list[Any] = field(default_factory=list)


@dataclass
class ItemMedia:
    """An item's media, coerced to ``flexjudge.media`` objects, with their content hashes.

    Coercing reads no pixels or samples (only what hashing needs), so a resumed run can key
    every item without decoding media it will not judge again."""

    images: list[Any] = field(default_factory=list)
    videos: list[Any] = field(default_factory=list)
    audios: list[Any] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    #: ``flexjudge.media.Molecule`` objects (validated with RDKit) and how they are shown
    molecules: list[Any] = field(default_factory=list)
    molecule_prep: Any = None

    @property
    def n_molecule_images(self) -> int:
        """Molecules shown as depictions: they follow the item's own images."""
        prep = self.molecule_prep
        return len(self.molecules) if prep is not None and prep.view == "image" else 0


def load_media(
    images: list[Any],
    videos: list[Any],
    audios: list[Any],
    *,
    record: str | None = None,
    molecules: list[Any] | None = None,
    molecule_prep: Any = None,
) -> ItemMedia:
    """Coerce and hash media.  Raises :class:`InputError`/``MediaError`` naming the record
    and the field (``images[i]``/``videos[i]``/``audios[i]``/``molecules[i]``) of a missing
    or unreadable entry; undecodable content is found later, by :func:`prepare_media`.
    Molecules are parsed (and so validated) here: a molecule's hash is its canonical SMILES
    plus how it is shown (``molecule_prep``, a ``flexjudge.media.MoleculePrep``)."""
    out = ItemMedia(molecule_prep=molecule_prep)
    if not (images or videos or audios or molecules):
        return out
    from flexjudge import media

    for i, value in enumerate(molecules or []):
        with _naming(record, f"molecules[{i}]"):
            if not available("rdkit"):
                raise InputError("judging molecules needs RDKit: pip install 'flexjudge[mol]'")
            out.molecules.append(media.as_molecule(value))
    for key, values in (("images", images), ("videos", videos), ("audios", audios)):
        for i, value in enumerate(values):
            with _naming(record, f"{key}[{i}]"):
                if key == "images":
                    obj: Any = media.as_image(value)
                    out.images.append(obj)
                elif key == "videos":
                    obj = media.as_video(value)
                    out.videos.append(obj)
                else:
                    obj = media.as_audio(value)
                    out.audios.append(obj)
                out.hashes.append(obj.content_hash())
    view = "" if molecule_prep is None else molecule_prep.key()
    out.hashes.extend(f"molecule:{view}:{mol.content_hash()}" for mol in out.molecules)
    return out


def prepare_media(
    item_media: ItemMedia, protocol: Protocol, mode: Mode, *, record: str | None = None
) -> PreparedMedia:
    """Decode and preprocess media as the protocol prescribes.  Raises
    :class:`InputError`/``MediaError`` naming the record and the field of the bad entry."""
    out = PreparedMedia(hashes=list(item_media.hashes))
    if not (item_media.images or item_media.videos or item_media.audios or item_media.molecules):
        return out
    from flexjudge import media

    image_prep, video_prep, audio_prep = media_preps(protocol, mode)
    for i, img in enumerate(item_media.images):
        with _naming(record, f"images[{i}]"):
            out.images.append(img.prepare(image_prep))
    for i, vid in enumerate(item_media.videos):
        with _naming(record, f"videos[{i}]"):
            pv = vid.prepare(video_prep)
            out.videos.append(pv.frames)
            out.video_fps.append(float(pv.fps))
    for i, aud in enumerate(item_media.audios):
        with _naming(record, f"audios[{i}]"):
            out.audios.append(aud.prepare(audio_prep).array)
    mol_prep = item_media.molecule_prep
    for i, mol in enumerate(item_media.molecules):
        with _naming(record, f"molecules[{i}]"):
            if mol_prep.view == "image":
                out.images.append(mol.to_image(mol_prep.image_size).prepare(media.ImagePrep()))
            elif mol_prep.view == "graph":
                out.molecules.append(mol.to_graph(conformer=mol_prep.conformer, seed=mol_prep.seed))
    return out


def media_preps(protocol: Protocol, mode: Mode) -> tuple[Any, Any, Any]:
    """The ``(ImagePrep, VideoPrep, AudioPrep)`` ``protocol`` prescribes in ``mode``."""
    prep = protocol.prep.for_mode(mode)
    return prep.image, prep.video, prep.audio


@contextmanager
def _naming(record: str | None, field_name: str) -> Iterator[None]:
    try:
        yield
    except InputError as exc:
        raise exc.with_context(record=record, field=field_name) from exc
    except (TypeError, ValueError) as exc:
        raise InputError(str(exc), record=record, field=field_name) from exc


def reorder_media(
    media: PreparedMedia, response_media: tuple[str, int] | None, order: tuple[int, ...]
) -> PreparedMedia:
    """Permute the response media (``(kind, offset)``) into presentation ``order``."""
    if response_media is None or list(order) == sorted(order):
        return media
    kind, offset = response_media
    out = PreparedMedia(
        list(media.images),
        list(media.videos),
        list(media.video_fps),
        list(media.audios),
        list(media.hashes),
        list(media.molecules),
    )
    if kind == "image":
        out.images = permute_slice(out.images, offset, order)
    elif kind == "video":
        out.videos = permute_slice(out.videos, offset, order)
        if len(out.video_fps) == len(media.videos):
            out.video_fps = permute_slice(out.video_fps, offset, order)
    else:
        out.audios = permute_slice(out.audios, offset, order)
    return out


#: model families that see a molecule best as a depiction
_VISION_FAMILIES = tuple(f for f, marks in PLACEHOLDERS.items() if "image" in marks)


def resolve_molecule_view(option: str, backend_view: str | None, family: str) -> str:
    """The view molecules are shown in: the explicit option, else the backend's own view,
    else ``image`` for vision-language families and ``text`` for the others."""
    if option != "auto":
        return option
    if backend_view:
        return backend_view
    return "image" if family in _VISION_FAMILIES else "text"


def molecule_slots(item_media: ItemMedia, *, record: str | None = None) -> tuple[str, ...]:
    """The prompt slot of each text- or graph-view molecule: its descriptor card, or its
    ``<mol>`` placeholder tokens (image-view molecules are images and take no slot)."""
    prep = item_media.molecule_prep
    if prep is None or prep.view == "image":
        return ()
    if prep.view == "graph":
        return (MOL_TOKENS,) * len(item_media.molecules)
    slots = []
    for i, mol in enumerate(item_media.molecules):
        with _naming(record, f"molecules[{i}]"):
            slots.append(mol.describe())
    return tuple(slots)


def permute_slice(values: Sequence[T], offset: int, order: Sequence[int]) -> list[T]:
    """``values`` with the ``len(order)`` entries from ``offset`` on shown in ``order``
    (``order[i]`` is the index, within that slice, of the entry shown ``i``-th)."""
    end = offset + len(order)
    return [*values[:offset], *(values[offset + j] for j in order), *values[end:]]
