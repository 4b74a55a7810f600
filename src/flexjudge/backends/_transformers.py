"""The embedded backend: Hugging Face ``transformers`` ``generate`` with vLLM sampling semantics.

Prompts arrive fully rendered (ChatML with media placeholders typed in); this backend never
applies a chat template.  The checkpoint's ``generation_config.json`` sampling values
(Qwen ships near-greedy ``top_k=1``, ``top_p=0.001``, ``repetition_penalty=1.05``) are
discarded at load time: only its EOS/pad/BOS ids are kept, as vLLM does (reference protocol
§2), and every call sets the sampling parameters from :class:`SamplingParams`.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from flexjudge.backends._base import (
    Backend,
    Completion,
    GenerationRequest,
    SamplingParams,
    TokenLogprobs,
)
from flexjudge.backends._continuous import ContinuousConfig, make_batcher
from flexjudge.backends._fingerprint import checkpoint_fingerprint
from flexjudge.backends._hf_load import resolve_device, resolve_dtype
from flexjudge.backends._sampler import TopLogprobs, row_sampling
from flexjudge.backends._tokenize import (
    PLACEHOLDER_TOKENS,
    encode_pieces,
    media_mismatch,
    pieces,
)
from flexjudge.errors import BackendError
from flexjudge.families import (
    AUDIO_SAMPLE_RATE,
    LLAMA3_HEADER,
    ModelFamily,
    media_family,
)

#: "auto", "cpu", "cuda", "cuda:1", "mps", ...
DeviceSpec = str
#: "auto", a dtype name ("bfloat16", "torch.float16") or a ``torch.dtype``
DtypeSpec = Any

#: Frame rate assumed for a video given without one (qwen-vl-utils' default).
DEFAULT_VIDEO_FPS = 2.0


class TransformersBackend(Backend):
    """Run a local (or cached) Hugging Face checkpoint in this process.

    ``model`` is a checkpoint folder or hub id: Qwen2.5-VL, a Qwen2.5-Omni thinker or a full
    Qwen2.5-Omni checkpoint (only its thinker is loaded), or any causal text LM.
    ``device="auto"`` picks CUDA when available; ``dtype="auto"`` is bfloat16 on CUDA and
    float32 on the CPU (a ``torch.dtype`` or its name also works); ``device_map`` (e.g.
    ``"auto"`` to spread a model over GPUs), ``revision``, ``trust_remote_code`` and
    ``attn_implementation`` go to ``from_pretrained`` as in transformers.  Requests that
    share identical :class:`SamplingParams` are batched
    (left padding, sorted by length, up to ``max_batch_size`` prompts per ``generate``
    call); ``n > 1`` samples share one prefill (``num_return_sequences``), and greedy
    ``n > 1`` runs once and repeats the completion, as vLLM's results would be identical.

    Failures: any load problem (missing folder, unreadable config, missing optional
    dependency such as torchvision for a video processor) raises
    :class:`~flexjudge.errors.BackendError` naming the model.  In :meth:`generate`, a
    request whose media do not match its placeholders, or that fails on its own (e.g. an
    image the processor rejects), gets ``n`` completions with ``finish_reason="error"`` and
    the message as ``text``; if every request that reached the model fails,
    ``BackendError`` is raised.  A failed batch is retried one request at a time to find
    the culprit.

    Media: images, videos (``(T, H, W, 3)`` uint8, frames used as given; ``video_fps``
    defaults to 2.0) and 16 kHz audio are handed to the processor in placeholder order.
    The Omni processor takes one frame rate per call, so Omni prompts are batched by frame
    rate and one prompt mixing frame rates is an error.

    Reproducibility: with ``seed`` set, every sampled row draws from its own generator,
    seeded from the seed, the prompt and the sample index (:mod:`._sampler`), so a request
    gets the same tokens alone or batched, at any batch size and position.

    Continuous batching (:mod:`._continuous`; ``continuous_batching=None``: on for CUDA, off
    on the CPU) runs the text-only requests it supports, token-identical for greedy decoding.
    """

    name = "transformers"
    supports_continuation = True

    def __init__(
        self,
        model: str | Path,
        *,
        device: DeviceSpec = "auto",
        dtype: DtypeSpec = "auto",
        max_batch_size: int = 8,
        attn_implementation: str | None = None,
        trust_remote_code: bool = False,
        revision: str | None = None,
        device_map: str | dict[str, Any] | None = None,
        continuous_batching: bool | None = None,
        continuous_config: ContinuousConfig | None = None,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        model_id = str(model)
        self.max_batch_size = max_batch_size
        self.device: str = resolve_device(device, model_id)
        self.dtype: Any = resolve_dtype(dtype, self.device)
        self._fingerprint: str | None = None
        super().__init__(model_id, "text")
        try:
            self._load(model_id, attn_implementation, trust_remote_code, revision, device_map)
        except BackendError:
            raise
        except Exception as exc:  # anything from transformers/torch while loading
            raise BackendError(f"failed to load model {model_id!r}: {exc}") from exc
        self.family = self._detect_family()
        own_inputs = type(self)._model_inputs is not TransformersBackend._model_inputs
        self.continuous = make_batcher(self, continuous_batching, continuous_config, own_inputs)

    def _load(
        self,
        model_id: str,
        attn: str | None,
        trust_remote_code: bool,
        revision: str | None,
        device_map: str | dict[str, Any] | None,
    ) -> None:
        from transformers import (
            AutoConfig,
            AutoModelForCausalLM,
            AutoModelForImageTextToText,
            AutoProcessor,
            AutoTokenizer,
            GenerationConfig,
            ProcessorMixin,
            Qwen2_5OmniThinkerForConditionalGeneration,
        )

        remote: dict[str, Any] = {"trust_remote_code": trust_remote_code}
        if revision is not None:
            remote["revision"] = revision
        config = AutoConfig.from_pretrained(model_id, **remote)
        model_type = str(getattr(config, "model_type", ""))
        multimodal = media_family(model_type) is not None
        self.processor: Any = None
        try:
            loaded = AutoProcessor.from_pretrained(model_id, **remote)
            if isinstance(loaded, ProcessorMixin):
                self.processor = loaded
        except ImportError as exc:
            if multimodal:
                raise BackendError(
                    f"cannot build the processor of {model_id!r} ({exc}); "
                    "install the video extra: pip install 'flexjudge[video]'"
                ) from exc
        except (OSError, ValueError, KeyError):
            if multimodal:
                raise
        if multimodal and self.processor is None:
            raise BackendError(f"{model_id!r} is multimodal but has no processor files")
        self.tokenizer: Any = (
            self.processor.tokenizer
            if self.processor is not None
            else AutoTokenizer.from_pretrained(model_id, **remote)
        )
        self.tokenizer.padding_side = "left"

        placement = self.device if device_map is None else device_map
        kwargs: dict[str, Any] = {"dtype": self.dtype, "device_map": placement, **remote}
        if attn is not None:
            kwargs["attn_implementation"] = attn
        if model_type == "qwen2_5_omni":  # full Omni checkpoint: load the thinker only
            cls: Any = Qwen2_5OmniThinkerForConditionalGeneration
            kwargs["config"] = config.thinker_config
        elif multimodal:
            cls = AutoModelForImageTextToText
        else:
            cls = AutoModelForCausalLM
        self.model: Any = cls.from_pretrained(model_id, **kwargs)
        self.model.eval()
        if device_map is not None:  # inputs go where the model's first weights went
            self.device = str(self.model.device)
        self.model_type = model_type
        self.config: Any = config

        # vLLM semantics: of the checkpoint's generation config keep only the special ids.
        original = self.model.generation_config
        self.eos_token_ids: tuple[int, ...] = self._collect_eos(original)
        pads = (original.pad_token_id, self.tokenizer.pad_token_id, self.eos_token_ids[0])
        self.pad_token_id: int = int(next(p for p in pads if p is not None))
        self.model.generation_config = GenerationConfig(
            bos_token_id=original.bos_token_id,
            eos_token_id=list(self.eos_token_ids),
            pad_token_id=self.pad_token_id,
        )

    def _collect_eos(self, generation_config: Any) -> tuple[int, ...]:
        """EOS ids as vLLM stops on them: generation config's, the model's, the tokenizer's."""
        found: list[int] = []
        for value in (
            generation_config.eos_token_id,
            self.model.config.get_text_config().eos_token_id,
            self.tokenizer.eos_token_id,
        ):
            for token_id in value if isinstance(value, list | tuple) else [value]:
                if token_id is not None and int(token_id) not in found:
                    found.append(int(token_id))
        if not found:
            raise BackendError(f"{self.model_id!r} defines no EOS token")
        return tuple(found)

    def _detect_family(self) -> ModelFamily:
        family = media_family(self.model_type)
        if family is not None:
            return family
        if LLAMA3_HEADER in self.tokenizer.get_vocab():
            return "llama3"
        return "text"

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Completion]]:
        """Complete every request; see the class docstring for batching and failures."""
        results: list[list[Completion] | None] = [None] * len(requests)
        groups: dict[tuple[SamplingParams, tuple[float, ...]], list[int]] = {}
        for i, request in enumerate(requests):
            problem = self._check_media(request)
            if problem is not None:
                results[i] = _errors(request.sampling, problem)
                continue
            key = (request.sampling.replace(max_tokens=1), self._fps_key(request))  # as vLLM
            groups.setdefault(key, []).append(i)

        failures: list[BaseException] = []
        submitted = sum(len(indices) for indices in groups.values())
        if self.continuous is not None:
            groups = self.continuous.run(requests, groups, results, failures)
        for (sampling, _), indices in groups.items():
            # Similar lengths side by side waste less compute on padding.
            indices.sort(key=lambda i: len(requests[i].prompt))
            for start in range(0, len(indices), self.max_batch_size):
                chunk = indices[start : start + self.max_batch_size]
                self._run_chunk(requests, chunk, sampling, results, failures)

        if failures and len(failures) == submitted:
            raise BackendError(
                f"generation failed for every request on {self.model_id!r}: {failures[0]}"
            ) from failures[0]
        return [r if r is not None else [] for r in results]

    def _run_chunk(
        self,
        requests: Sequence[GenerationRequest],
        chunk: list[int],
        sampling: SamplingParams,
        results: list[list[Completion] | None],
        failures: list[BaseException],
    ) -> None:
        try:
            outputs = self._generate_batch([requests[i] for i in chunk], sampling)
        except Exception as exc:
            if len(chunk) > 1:  # find the request at fault: retry one by one
                for i in chunk:
                    self._run_chunk(requests, [i], sampling, results, failures)
                return
            failures.append(exc)
            results[chunk[0]] = _errors(sampling, f"{type(exc).__name__}: {exc}")
            return
        for i, completions in zip(chunk, outputs, strict=True):
            results[i] = completions

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

    def _generate_batch(
        self, batch: list[GenerationRequest], sampling: SamplingParams
    ) -> list[list[Completion]]:
        import torch

        enc = self._encode(batch)
        sample = sampling.temperature > 0
        per_prompt = sampling.n if sample else 1  # greedy: one sequence, copied n times
        kwargs: dict[str, Any] = {
            "max_new_tokens": max(r.sampling.max_tokens for r in batch),
            "do_sample": sample,
            "num_return_sequences": per_prompt,
            "eos_token_id": [-1] if sampling.ignore_eos else list(self.eos_token_ids),
            "pad_token_id": self.pad_token_id,
            "repetition_penalty": 1.0,
        }
        if sample and sampling.seed is not None:
            kwargs.update(row_sampling(batch, sampling, per_prompt))
        elif sample:
            kwargs.update(temperature=sampling.temperature, top_p=sampling.top_p, top_k=0)
        if sampling.stop:
            kwargs.update(stop_strings=list(sampling.stop), tokenizer=self.tokenizer)
        recorder = None
        if sampling.logprobs is not None:  # first, so it sees the model's own logits
            from transformers import LogitsProcessorList

            recorder = TopLogprobs(sampling.logprobs)
            kwargs["logits_processor"] = LogitsProcessorList(
                [recorder, *kwargs.get("logits_processor", [])]
            )
        with torch.inference_mode():
            inputs, prompt_length = self._model_inputs(enc, batch)
            out = self.model.generate(**inputs, **kwargs)
        new_tokens = out[:, prompt_length:].tolist()
        results = []
        for b, request in enumerate(batch):
            rows = new_tokens[b * per_prompt : (b + 1) * per_prompt]
            completions = [
                self._finish(row, request.sampling, None if recorder is None else recorder.row(r))
                for r, row in enumerate(rows, start=b * per_prompt)
            ]
            results.append(completions * sampling.n if not sample else completions)
        return results

    def _model_inputs(self, enc: Any, batch: list[GenerationRequest]) -> tuple[Any, int]:
        """What ``generate`` is given, and how many leading output columns are the prompt
        (subclasses that feed ``inputs_embeds`` get only new tokens back)."""
        return enc, int(enc["input_ids"].shape[1])

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

    def fingerprint(self) -> str:
        """Hash of backend, model path, family, dtype, config and file contents.

        Files up to 4 MiB (configs, tokenizer, processor, tiny weights) are hashed whole.
        A larger weights file contributes its size, its modification time and 64 evenly
        spread 64 KiB blocks (cheap even for multi-GB shards): a copy of a big checkpoint
        gets a new fingerprint; two different checkpoints would need the same size, time and
        sampled bytes to share one.  For a hub id that is not a local folder, the id, the
        config and the hub commit hash (when known) are used.
        """
        if self._fingerprint is None:
            head = {
                "backend": self.name,
                "model": self.model_id,
                "family": self.family,
                "dtype": str(self.dtype),
                "config": self.config.to_dict(),
                "commit": getattr(self.config, "_commit_hash", None),
            }
            self._fingerprint = checkpoint_fingerprint(head, Path(self.model_id))
        return self._fingerprint

    def count_prompt_tokens(self, request: GenerationRequest) -> int | None:
        """Prompt length after the processor expanded the media placeholders."""
        return int(self._encode([request])["input_ids"].shape[1])

    def close(self) -> None:
        """Drop the model and free accelerator memory; the backend is unusable afterwards."""
        import torch

        self.model = None
        self.processor = None
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


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


def _errors(sampling: SamplingParams, message: str) -> list[Completion]:
    return [Completion(text=message, finish_reason="error")] * sampling.n
