"""Offline vLLM backend (``vllm.LLM``): tensor/pipeline parallel, prefix caching, ``n``-sampling.

Prompts arrive fully rendered (ChatML with media placeholders typed in), so they go to
``LLM.generate`` as ``{"prompt": text, "multi_modal_data": {"image": [...], "video": [...],
"audio": [(wave, 16000), ...]}}``; vLLM's processor expands each placeholder with the media in
order, exactly as the reference scripts do.  Sampling follows :class:`SamplingParams` with no
top-k (``-1``) and no penalties, whatever the checkpoint's ``generation_config`` says
(``generation_config="vllm"`` is passed where the engine accepts it).

The request building is pure (:func:`vllm_prompt`, :func:`vllm_sampling_kwargs`,
:func:`vllm_engine_kwargs`) and tested without vLLM.  API drift handled here:

* structured outputs: ``SamplingParams(structured_outputs=StructuredOutputsParams(...))`` since
  vLLM 0.12 (``guided_decoding=GuidedDecodingParams(...)`` before);
* ``top_k`` disabled is ``-1`` (accepted by old and new versions; new ones also take ``0``);
* engine keyword arguments the installed ``LLM`` does not accept are dropped with a warning
  rather than failing (``generation_config``, ``limit_mm_per_prompt`` on old versions).
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from typing import Any

from flexjudge._util.optional import require
from flexjudge.backends._base import (
    Backend,
    Completion,
    GenerationRequest,
    SamplingParams,
    TokenLogprobs,
)
from flexjudge.backends._tokenize import encode_prompt, media_mismatch
from flexjudge.errors import BackendError
from flexjudge.families import AUDIO_SAMPLE_RATE, DEFAULT_FAMILY, ModelFamily, media_family

AUDIO_SAMPLING_RATE = AUDIO_SAMPLE_RATE
_FINISH = {"stop": "stop", "length": "length", "abort": "error"}


def vllm_prompt(
    request: GenerationRequest, *, pass_video_fps: bool = True, tokenizer: Any = None
) -> dict[str, Any]:
    """The ``LLM.generate`` prompt dict of ``request`` (media keyed by modality, in order).

    A request with user-text spans (clean mode) goes as ``prompt_token_ids`` built with
    ``tokenizer`` (the engine's), user text tokenized with special tokens off and each frame
    placeholder a single token that vLLM's processor expands; otherwise as the ``prompt``
    string, which vLLM tokenizes whole.  Videos go as ``(T, H, W, 3)`` uint8 arrays; their
    frame rates, when given, as ``mm_processor_kwargs={"fps": [...]}``.  Audio goes as
    ``(wave, 16000)`` tuples.
    """
    prompt: dict[str, Any]
    if request.untrusted is not None and tokenizer is not None:
        prompt = {"prompt_token_ids": encode_prompt(tokenizer, request.prompt, request.untrusted)}
    else:
        prompt = {"prompt": request.prompt}
    media: dict[str, Any] = {}
    if request.images:
        media["image"] = list(request.images)
    if request.videos:
        media["video"] = list(request.videos)
        if pass_video_fps and request.video_fps:
            prompt["mm_processor_kwargs"] = {"fps": list(request.video_fps)}
    if request.audios:
        media["audio"] = [(a, AUDIO_SAMPLING_RATE) for a in request.audios]
    if media:
        prompt["multi_modal_data"] = media
    return prompt


def vllm_sampling_kwargs(sampling: SamplingParams, *, regex: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``vllm.SamplingParams`` (vLLM semantics, no top-k, no penalties).

    ``regex`` asks for structured output; it is returned under the neutral key
    ``"structured_regex"`` and turned into the installed vLLM's field by
    :func:`make_sampling_params`.
    """
    kwargs: dict[str, Any] = {
        "n": sampling.n,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "top_k": -1,
        "max_tokens": sampling.max_tokens,
        "seed": sampling.seed,
        "stop": list(sampling.stop) or None,
        "include_stop_str_in_output": sampling.include_stop_str_in_output,
        "ignore_eos": sampling.ignore_eos,
        "repetition_penalty": 1.0,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "skip_special_tokens": True,
    }
    if sampling.logprobs is not None:
        kwargs["logprobs"] = sampling.logprobs
    if regex is not None:
        kwargs["structured_regex"] = regex
    return kwargs


def make_sampling_params(vllm: Any, kwargs: dict[str, Any]) -> Any:
    """Build ``vllm.SamplingParams`` from :func:`vllm_sampling_kwargs`, across API versions."""
    kwargs = dict(kwargs)
    regex = kwargs.pop("structured_regex", None)
    if regex is not None:
        sp_module = require("vllm.sampling_params", "vllm")
        if hasattr(sp_module, "StructuredOutputsParams"):
            kwargs["structured_outputs"] = sp_module.StructuredOutputsParams(regex=regex)
        elif hasattr(sp_module, "GuidedDecodingParams"):
            kwargs["guided_decoding"] = sp_module.GuidedDecodingParams(regex=regex)
        else:
            raise BackendError("this vLLM has neither structured_outputs nor guided_decoding")
    return vllm.SamplingParams(**kwargs)


def vllm_engine_kwargs(
    model: str,
    *,
    tensor_parallel_size: int = 1,
    pipeline_parallel_size: int = 1,
    enable_prefix_caching: bool = True,
    dtype: str = "auto",
    max_model_len: int | None = None,
    limit_mm_per_prompt: dict[str, int] | None = None,
    gpu_memory_utilization: float | None = None,
    seed: int = 0,
    trust_remote_code: bool = False,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``vllm.LLM`` (``extra`` is merged last, for anything else)."""
    kwargs: dict[str, Any] = {
        "model": model,
        "tensor_parallel_size": tensor_parallel_size,
        "pipeline_parallel_size": pipeline_parallel_size,
        "enable_prefix_caching": enable_prefix_caching,
        "dtype": dtype,
        "seed": seed,
        "trust_remote_code": trust_remote_code,
        "generation_config": "vllm",  # ignore the checkpoint's sampling defaults
    }
    if max_model_len is not None:
        kwargs["max_model_len"] = max_model_len
    if limit_mm_per_prompt:
        kwargs["limit_mm_per_prompt"] = dict(limit_mm_per_prompt)
    if gpu_memory_utilization is not None:
        kwargs["gpu_memory_utilization"] = gpu_memory_utilization
    kwargs.update(extra or {})
    return kwargs


def completions_from_output(output: Any) -> list[Completion]:
    """Our completions from one ``vllm.RequestOutput`` (text stripped, token counts kept)."""
    out = []
    for c in output.outputs:
        ids = tuple(int(t) for t in (c.token_ids or ()))
        finish = _FINISH.get(str(c.finish_reason), "stop")
        out.append(
            Completion(
                text=c.text.strip(),
                finish_reason=finish,  # type: ignore[arg-type]
                num_tokens=len(ids),
                token_ids=ids,
                logprobs=_logprobs(ids, getattr(c, "logprobs", None)),
            )
        )
    return out


def _logprobs(ids: tuple[int, ...], steps: Any) -> tuple[TokenLogprobs, ...] | None:
    """vLLM's per-position ``{token_id: Logprob(logprob, rank, decoded_token)}`` as ours."""
    if not steps:
        return None
    out = []
    for token_id, step in zip(ids, steps, strict=False):
        ranked = sorted(step.items(), key=lambda kv: -kv[1].logprob)
        chosen = step.get(token_id)
        out.append(
            TokenLogprobs(
                str(getattr(chosen, "decoded_token", "") or ""),
                tuple((str(lp.decoded_token or ""), float(lp.logprob)) for _, lp in ranked),
            )
        )
    return tuple(out)


class VLLMBackend(Backend):
    """A checkpoint served in-process by ``vllm.LLM``.

    ``family`` defaults from the checkpoint's ``config.json`` model type (``qwen2_5_vl``,
    ``qwen2_5_omni``, else ``text``).  Options: ``tensor_parallel_size``,
    ``pipeline_parallel_size``, ``enable_prefix_caching`` (default on: votes and swapped
    orders share prompt prefixes), ``dtype``, ``max_model_len``, ``limit_mm_per_prompt``,
    ``regex`` (structured output), ``engine_kwargs`` (anything else for ``LLM``).

    Failures: importing without vLLM raises :class:`~flexjudge.errors.MissingDependencyError`
    naming the ``[vllm]`` extra; an engine that fails to start raises
    :class:`~flexjudge.errors.BackendError` naming the model; a failed ``generate`` call
    raises ``BackendError`` (the judge then marks that batch's items as errors).
    """

    name = "vllm"
    supports_continuation = True

    def __init__(
        self,
        model: str,
        *,
        family: ModelFamily | None = None,
        tensor_parallel_size: int = 1,
        pipeline_parallel_size: int = 1,
        enable_prefix_caching: bool = True,
        dtype: str = "auto",
        max_model_len: int | None = None,
        limit_mm_per_prompt: dict[str, int] | None = None,
        gpu_memory_utilization: float | None = None,
        regex: str | None = None,
        engine_kwargs: dict[str, Any] | None = None,
        use_tqdm: bool = False,
    ) -> None:
        self._vllm = require("vllm", "vllm")
        super().__init__(model, family or _detect_family(model))
        self.regex = regex
        self.use_tqdm = use_tqdm
        kwargs = vllm_engine_kwargs(
            model,
            tensor_parallel_size=tensor_parallel_size,
            pipeline_parallel_size=pipeline_parallel_size,
            enable_prefix_caching=enable_prefix_caching,
            dtype=dtype,
            max_model_len=max_model_len,
            limit_mm_per_prompt=limit_mm_per_prompt,
            gpu_memory_utilization=gpu_memory_utilization,
            extra=engine_kwargs,
        )
        self.engine_kwargs = _accepted(self._vllm.LLM, kwargs)
        try:
            self.llm = self._vllm.LLM(**self.engine_kwargs)
        except Exception as exc:  # vLLM raises many types at start-up
            raise BackendError(f"vLLM could not load {model!r}: {exc}") from exc

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Completion]]:
        """One ``LLM.generate`` call for all requests (vLLM schedules and batches them)."""
        if not requests:
            return []
        results: list[list[Completion] | None] = [None] * len(requests)
        todo = []
        for i, r in enumerate(requests):  # one bad request fails alone, not the whole batch
            problem = media_mismatch(r, self.family)
            if problem is None:
                todo.append(i)
            else:
                results[i] = [Completion(problem, "error")] * r.sampling.n
        tokenizer = (
            self.llm.get_tokenizer()
            if any(requests[i].untrusted is not None for i in todo)
            else None
        )
        prompts = [vllm_prompt(requests[i], tokenizer=tokenizer) for i in todo]
        params = [
            make_sampling_params(
                self._vllm, vllm_sampling_kwargs(requests[i].sampling, regex=self.regex)
            )
            for i in todo
        ]
        if todo:
            try:
                outputs = self.llm.generate(prompts, params, use_tqdm=self.use_tqdm)
            except Exception as exc:
                raise BackendError(f"vLLM generate failed for {self.model_id!r}: {exc}") from exc
            for i, o in zip(todo, outputs, strict=True):
                results[i] = completions_from_output(o)
        return [r if r is not None else [] for r in results]

    def close(self) -> None:
        self.llm = None


def _accepted(llm_class: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Drop keyword arguments this ``LLM`` version rejects (only ones we add by default)."""
    try:
        params = inspect.signature(llm_class.__init__).parameters
    except (TypeError, ValueError):
        return kwargs
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return kwargs
    dropped = [k for k in kwargs if k not in params]
    if dropped:
        warnings.warn(f"this vLLM's LLM() does not take {dropped}; ignoring them", stacklevel=3)
    return {k: v for k, v in kwargs.items() if k in params}


def _detect_family(model: str) -> ModelFamily:
    import json
    from pathlib import Path

    config = Path(model) / "config.json"
    try:
        model_type = json.loads(config.read_text()).get("model_type", "")
    except (OSError, ValueError):
        return DEFAULT_FAMILY  # a hub id: the Flex-VL default
    return media_family(model_type) or "text"
