"""Image-text training rows (the Table 5 ablation): placeholders, token expansion, collation.

A row may carry ``images``: a list of paths relative to the data file's folder (absolute
paths are kept).  Its prompt holds one image placeholder per image, as the judge renders it
(``<|vision_start|><|image_pad|><|vision_end|>`` for Qwen2.5-VL, ``<|vision_bos|><|IMAGE|>
<|vision_eos|>`` for the Omni thinker); a prompt with none gets them at the start of its
first user turn.  At tokenisation each image token is expanded to as many copies as the
image's merged patch grid (``t·h·w / merge²``), exactly as the processor does at inference,
so the image tokens sit in the masked prompt part and the loss stays on the assistant part.
The pixels are decoded again in the collator (a data set of images is never held in
memory), and each batch's ``pixel_values`` / ``image_grid_thw`` are concatenated in row
order, the layout the model's forward expects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexjudge.errors import InputError
from flexjudge.protocol import PLACEHOLDERS
from flexjudge.train._data import (
    ChatMarkers,
    CompletionCollator,
    TokenizedExample,
    row_to_text,
    tokenize_example,
)

IMAGES_FIELD = "images"
#: the data set column of resolved image files (not "images": TRL would take over collation)
IMAGE_FILES_COLUMN = "image_files"


def row_image_paths(row: dict[str, Any], record: str, root: Path) -> list[str]:
    """The row's image files (``[]`` without ``images``), resolved against ``root``.

    Raises :class:`InputError` naming ``record`` and ``images`` for a malformed list or a
    missing file.
    """
    value = row.get(IMAGES_FIELD)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InputError("'images' must be a list of file paths", record=record, field=IMAGES_FIELD)
    paths: list[str] = []
    for i, name in enumerate(value):
        path = Path(name) if Path(name).is_absolute() else root / name
        if not path.is_file():
            raise InputError(
                f"images[{i}]: {path} does not exist", record=record, field=IMAGES_FIELD
            )
        paths.append(str(path))
    return paths


def load_images(paths: Sequence[str], record: str) -> list[Any]:
    """Decode ``paths`` as RGB PIL images; raises :class:`~flexjudge.errors.MediaError`
    naming the file, ``record`` and ``images`` for an unreadable one."""
    from flexjudge.media import Image

    return [Image(p, record=record, field=IMAGES_FIELD).load() for p in paths]


@dataclass(frozen=True)
class ImageTokens:
    """What image rows need from the base model's processor."""

    image_processor: Any
    token: str  # the one placeholder token the processor expands (``<|image_pad|>``)
    token_id: int
    placeholder: str  # the full placeholder block the judge writes into prompts
    merge_size: int

    @classmethod
    def from_processor(cls, processor: Any, tokenizer: Any, family: str) -> ImageTokens:
        """Raises :class:`InputError` when the processor cannot take images."""
        image_processor = getattr(processor, "image_processor", None)
        token = getattr(processor, "image_token", None)
        block = PLACEHOLDERS.get(family, {}).get("image")
        if image_processor is None or not isinstance(token, str) or block is None:
            raise InputError(
                f"rows with images need a vision-language base (Qwen2.5-VL or the Omni "
                f"thinker); this {family} base's processor has no image processor",
                field=IMAGES_FIELD,
            )
        token_id = tokenizer.convert_tokens_to_ids(token)
        merge = int(getattr(image_processor, "merge_size", 1) or 1)
        return cls(image_processor, token, int(token_id), block, merge)

    def grids(self, images: Sequence[Any]) -> list[tuple[int, int, int]]:
        """The ``(t, h, w)`` patch grid of each image, as the processor computes it."""
        out = self.image_processor(images=list(images), return_tensors="pt")
        return [(int(t), int(h), int(w)) for t, h, w in out["image_grid_thw"].tolist()]

    def tokens_per_image(self, grid: tuple[int, int, int]) -> int:
        t, h, w = grid
        return t * h * w // (self.merge_size * self.merge_size)

    def with_placeholders(self, prompt: str, n: int, markers: ChatMarkers, record: str) -> str:
        """``prompt`` with exactly ``n`` image placeholders (inserted after the first user
        header when it has none).  Raises :class:`InputError` on any other count."""
        found = prompt.count(self.token)
        if found == n:
            return prompt
        user = markers.instruction_template + "\n"
        at = prompt.find(user)
        if found == 0 and at >= 0:
            at += len(user)
            return prompt[:at] + self.placeholder * n + "\n\n" + prompt[at:]
        raise InputError(
            f"the prompt has {found} image placeholder(s) {self.token!r} for {n} image(s)",
            record=record,
            field=IMAGES_FIELD,
        )

    def expand(self, prompt: str, grids: Sequence[tuple[int, int, int]]) -> str:
        """Each image token repeated to the image's token count, in order."""
        pieces = prompt.split(self.token)
        out = [pieces[0]]
        for grid, piece in zip(grids, pieces[1:], strict=True):
            out += [self.token * self.tokens_per_image(grid), piece]
        return "".join(out)


class ImageTextCollator(CompletionCollator):
    """:class:`CompletionCollator` plus the vision inputs of the rows that have images.

    Rows without images add nothing, so text-only and image rows mix in one batch; a batch
    with no image at all is exactly the text collator's.  ``token_types`` adds
    ``mm_token_type_ids`` (1 on image tokens), which Qwen2.5-VL uses for its 3-D positions.
    """

    def __init__(self, pad_id: int, images: ImageTokens, token_types: bool) -> None:
        super().__init__(pad_id)
        self.images = images
        self.token_types = token_types

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        import torch

        batch = super().__call__(features)
        pixels: list[Any] = []
        grids: list[Any] = []
        for f in features:
            paths = f.get(IMAGE_FILES_COLUMN) or []
            if not paths:
                continue
            record = str(f.get("record", "?"))
            out = self.images.image_processor(
                images=load_images(paths, record), return_tensors="pt"
            )
            pixels.append(out["pixel_values"])
            grids.append(out["image_grid_thw"])
        if not pixels:
            return batch
        batch["pixel_values"] = torch.cat(pixels)
        batch["image_grid_thw"] = torch.cat(grids)
        if self.token_types:
            is_image = batch["input_ids"] == self.images.token_id
            batch["mm_token_type_ids"] = is_image.to(torch.long) * batch["attention_mask"]
        return batch


@dataclass(frozen=True)
class ImageExample:
    """A tokenised row and the image files its image tokens stand for."""

    example: TokenizedExample
    images: list[str]
    record: str


def has_images(rows: Sequence[dict[str, Any]]) -> bool:
    return any(row.get(IMAGES_FIELD) for row in rows)


def tokenize_image_rows(
    rows: Sequence[dict[str, Any]],
    *,
    tokenizer: Any,
    markers: ChatMarkers,
    mode: str,
    block_size: int,
    images: ImageTokens,
    root: Path,
) -> list[ImageExample]:
    """:func:`~flexjudge.train.tokenize_rows` for data where some rows have images.

    Raises :class:`InputError` naming the row for a bad image list, a placeholder count that
    does not match, an image in the completion, or a ``block_size`` that cuts image tokens.
    """
    out: list[ImageExample] = []
    for index, row in enumerate(rows):
        record = str(row.get("id", f"row {index}"))
        prompt, text = row_to_text(row, record, tokenizer)
        paths = row_image_paths(row, record, root)
        if images.token in text:
            raise InputError(
                "the training target holds an image placeholder; images go in the prompt",
                record=record,
                field="text",
            )
        expected = 0
        if paths:
            prompt = images.with_placeholders(prompt, len(paths), markers, record)
            grids = images.grids(load_images(paths, record))
            prompt = images.expand(prompt, grids)
            expected = sum(images.tokens_per_image(g) for g in grids)
        elif images.token in prompt:
            raise InputError(
                "the prompt has image placeholders but the row no 'images'",
                record=record,
                field=IMAGES_FIELD,
            )
        ex = tokenize_example(
            prompt,
            text,
            tokenizer=tokenizer,
            markers=markers,
            mode=mode,
            block_size=block_size,
            record=record,
        )
        if ex.input_ids.count(images.token_id) != expected:
            raise InputError(
                f"block_size {block_size} cuts into the row's {expected} image tokens",
                record=record,
                field="block_size",
            )
        out.append(ImageExample(ex, paths, record))
    return out
