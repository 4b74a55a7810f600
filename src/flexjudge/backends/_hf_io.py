"""Prompts in and tokens out for the transformers backend: encoding (user text tokenized as
data, media through the processor) and turning generated rows into completions.

A mixin of :class:`~flexjudge.backends._transformers.TransformersBackend`, kept apart so the
backend module holds loading and the generate loop only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from flexjudge.backends._base import Completion, GenerationRequest, SamplingParams, TokenLogprobs
from flexjudge.backends._tokenize import (
    PLACEHOLDER_TOKENS,
    encode_pieces,
    media_mismatch,
    pieces,
)
from flexjudge.families import AUDIO_SAMPLE_RATE, ModelFamily

#: Frame rate assumed for a video given without one (qwen-vl-utils' default).
DEFAULT_VIDEO_FPS = 2.0


class HFTokenIO:
    """Encoding and decoding over the attributes the backend sets when it loads."""

    tokenizer: Any
    processor: Any
    family: ModelFamily
    device: Any
    dtype: Any
    pad_token_id: Any
    eos_token_ids: tuple[int, ...]

    def _check_media(self, request: GenerationRequest) -> str | None:
        if request.molecules:
            return "this backend takes no molecule graphs; use the image or text view"
        problem = media_mismatch(request, self.family)
        if problem is not None:
            return problem
        if request.video_fps and len(request.video_fps) != len(request.videos):
            return f"{len(request.video_fps)} video_fps values for {len(request.videos)} videos"
        return None

    def _fps_key(self, request: GenerationRequest) -> tuple[float, ...]:
        # The Omni processor takes a single fps per call: batch only videos that share it.
        if self.family != "qwen2_5_omni" or not request.videos:
            return ()
        return tuple(sorted(set(_video_fps(request))))

    def _encode(self, batch: list[GenerationRequest]) -> Any:
        if any(r.untrusted is not None for r in batch):
            return self._encode_structured(batch)
        texts = [r.prompt for r in batch]
        if self.processor is None:
            enc = self.tokenizer(texts, padding=True, return_tensors="pt", add_special_tokens=False)
            return enc.to(self.device)
        kwargs = {"text": texts, "padding": True, "return_tensors": "pt", **self._media(batch)}
        kwargs["add_special_tokens"] = False  # the prompt is complete, as vLLM sends it
        enc = self.processor(**kwargs).to(self.device)
        for key in ("pixel_values", "pixel_values_videos", "input_features"):
            if key in enc:
                enc[key] = enc[key].to(self.dtype)
        return enc

    def _encode_structured(self, batch: list[GenerationRequest]) -> Any:
        """Ids built piece by piece (see :mod:`flexjudge.backends._tokenize`): user text
        with special tokens off; each frame placeholder expanded by the processor, which is
        given only the placeholders (in order) and the media."""
        import torch

        rows = encode_pieces(
            self.tokenizer, [pieces(self.tokenizer, r.prompt, r.untrusted or ()) for r in batch]
        )
        tokens = [t for t in PLACEHOLDER_TOKENS.get(self.family, ()) if t is not None]
        slot_ids = {int(self.tokenizer.convert_tokens_to_ids(t)): t for t in tokens}
        slots = [slot_ids[t] for row in rows for t in row if t in slot_ids]
        features: dict[str, Any] = {}
        # per-token tensors (e.g. mm_token_type_ids): each slot's values spliced in, text 0
        per_token: dict[str, list[list[int]]] = {}
        if slots:
            enc = self.processor(
                text=slots,
                padding=True,
                return_tensors="pt",
                add_special_tokens=False,
                **self._media(batch),
            )
            shape = enc["input_ids"].shape
            keep = [m.bool() for m in enc["attention_mask"]]
            token_keys = [
                k
                for k, v in enc.items()
                if k not in ("input_ids", "attention_mask")
                and isinstance(v, torch.Tensor)
                and v.shape == shape
            ]
            slot_values = {
                k: [enc[k][i][keep[i]].tolist() for i in range(shape[0])]
                for k in ("input_ids", *token_keys)
            }
            expanded_rows: list[list[int]] = []
            per_token = {k: [] for k in token_keys}
            n = 0
            for row in rows:
                ids: list[int] = []
                extra: dict[str, list[int]] = {k: [] for k in token_keys}
                for t in row:
                    if t in slot_ids:
                        ids.extend(slot_values["input_ids"][n])
                        for k in token_keys:
                            extra[k].extend(slot_values[k][n])
                        n += 1
                    else:
                        ids.append(t)
                        for k in token_keys:
                            extra[k].append(0)
                expanded_rows.append(ids)
                for k in token_keys:
                    per_token[k].append(extra[k])
            rows = expanded_rows
            features = {
                k: v
                for k, v in enc.items()
                if k not in ("input_ids", "attention_mask", *token_keys)
            }
        pad = self.tokenizer.pad_token_id
        pad = self.pad_token_id if pad is None else int(pad)
        width = max(len(row) for row in rows)
        input_ids = torch.tensor([[pad] * (width - len(row)) + row for row in rows])
        mask = torch.tensor([[0] * (width - len(row)) + [1] * len(row) for row in rows])
        out: dict[str, Any] = {"input_ids": input_ids, "attention_mask": mask, **features}
        for k, values in per_token.items():
            out[k] = torch.tensor([[0] * (width - len(v)) + v for v in values])
        for key, value in out.items():
            if isinstance(value, torch.Tensor):
                is_float = key in ("pixel_values", "pixel_values_videos", "input_features")
                out[key] = value.to(self.device, dtype=self.dtype if is_float else None)
        return out

    def _media(self, batch: list[GenerationRequest]) -> dict[str, Any]:
        """The processor's media keyword arguments for ``batch``, in placeholder order."""
        kwargs: dict[str, Any] = {}
        images = [img.convert("RGB") for r in batch for img in r.images]
        if images:
            kwargs["images"] = images
        videos = [np.asarray(v, dtype=np.uint8) for r in batch for v in r.videos]
        if videos:
            kwargs["videos"] = videos
            # flexjudge sizes frames itself (media.VideoPrep); False keeps transformers' current
            # behaviour and its "per-frame pixel cap" deprecation warning off stderr
            kwargs["cap_pixels_per_frame"] = False
            fps = [f for r in batch for f in _video_fps(r)]
            if self.family == "qwen2_5_omni":
                if len(set(fps)) > 1:
                    raise ValueError(f"one Omni prompt mixes video frame rates {sorted(set(fps))}")
                kwargs["fps"] = fps[0]
            else:
                from transformers.video_utils import VideoMetadata

                kwargs["do_sample_frames"] = False
                kwargs["video_metadata"] = [
                    VideoMetadata(
                        total_num_frames=len(v), fps=f, frames_indices=list(range(len(v)))
                    )
                    for v, f in zip(videos, fps, strict=True)
                ]
        audios = [np.asarray(a, dtype=np.float32) for r in batch for a in r.audios]
        if audios:
            kwargs["audio"] = audios
            kwargs["sampling_rate"] = AUDIO_SAMPLE_RATE
        return kwargs

    def _finish(
        self,
        row: list[int],
        sampling: SamplingParams,
        top: list[tuple[list[float], list[int]]] | None = None,
    ) -> Completion:
        """Turn one generated row (maybe padded after its end) into a :class:`Completion`;
        ``top``: the row's top log-probabilities per step, when recorded."""
        row, eos = row[: sampling.max_tokens], set(self.eos_token_ids)  # a batch runs to its max
        ends = set() if sampling.ignore_eos else {*eos, self.pad_token_id}
        # Rows that finished early are padded; the first EOS or pad id ends this row.
        end = next((k for k, t in enumerate(row) if t in ends), len(row))
        ids = row[:end]
        text = self._decode(ids)
        stop_at = _find_stop(text, sampling.stop)
        finish: Literal["stop", "length"] = "stop"
        if stop_at is None and end < len(row) and row[end] in eos:
            ids = row[: end + 1]  # a real EOS: vLLM keeps it in the token ids
        elif stop_at is None and end == len(row):
            finish = "length"  # ran to max_tokens (the batch only ends when every row has)
        if stop_at is not None:
            position, stop = stop_at
            keep = position + len(stop) if sampling.include_stop_str_in_output else position
            text = text[:keep]
        logprobs = None if top is None else self._logprobs(row[:end], top, len(text))
        return Completion(
            text=text.strip(),
            finish_reason=finish,
            num_tokens=len(ids),
            token_ids=tuple(ids),
            logprobs=logprobs,
        )

    def _logprobs(
        self, ids: list[int], top: list[tuple[list[float], list[int]]], chars: int
    ) -> tuple[TokenLogprobs, ...]:
        """Per-token texts and alternatives of a row, up to ``chars`` characters of text."""
        cache: dict[int, str] = {}

        def text_of(token_id: int) -> str:
            if token_id not in cache:
                cache[token_id] = self._decode([token_id])
            return cache[token_id]

        out: list[TokenLogprobs] = []
        length = 0
        for t, token_id in enumerate(ids):
            if length >= chars or t >= len(top):
                break
            values, alternatives = top[t]
            token = text_of(token_id)
            out.append(
                TokenLogprobs(
                    token, tuple((text_of(a), v) for v, a in zip(values, alternatives, strict=True))
                )
            )
            length += len(token)
        return tuple(out)

    def _decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))


def _video_fps(request: GenerationRequest) -> list[float]:
    if request.video_fps:
        return [float(f) for f in request.video_fps]
    return [DEFAULT_VIDEO_FPS] * len(request.videos)


def _find_stop(text: str, stops: Sequence[str]) -> tuple[int, str] | None:
    """The earliest stop string in ``text`` as ``(position, stop)``, or None."""
    best: tuple[int, str] | None = None
    for stop in stops:
        position = text.find(stop)
        if position >= 0 and (best is None or position < best[0]):
            best = (position, stop)
    return best
