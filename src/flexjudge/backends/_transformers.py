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
from typing import Any

from flexjudge.backends._base import (
    Backend,
    Completion,
    GenerationRequest,
    SamplingParams,
)
from flexjudge.backends._continuous import ContinuousConfig, make_batcher
from flexjudge.backends._fingerprint import checkpoint_fingerprint
from flexjudge.backends._hf_io import HFTokenIO
from flexjudge.backends._hf_load import resolve_device, resolve_dtype
from flexjudge.backends._sampler import TopLogprobs, row_sampling
from flexjudge.errors import BackendError
from flexjudge.families import (
    LLAMA3_HEADER,
    ModelFamily,
    media_family,
)

#: "auto", "cpu", "cuda", "cuda:1", "mps", ...
DeviceSpec = str
#: "auto", a dtype name ("bfloat16", "torch.float16") or a ``torch.dtype``
DtypeSpec = Any


class TransformersBackend(HFTokenIO, Backend):
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

    Continuous batching (:mod:`._continuous`; ``continuous_batching=None``: on for CUDA, and
    on the CPU for calls with more sequences than the engine decodes together) runs the
    text-only requests it supports, token-identical for greedy decoding.
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


def _errors(sampling: SamplingParams, message: str) -> list[Completion]:
    return [Completion(text=message, finish_reason="error")] * sampling.n
