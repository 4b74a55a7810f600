"""Backbone loading for training: family detection, tower freezing, LoRA.

Families (from ``config.model_type``):

* ``qwen2_5_vl``: ``Qwen2_5_VLForConditionalGeneration``; tower ``model.visual`` (ViT + merger).
* ``qwen2_5_omni``: the Omni *thinker*; a full Omni checkpoint is loaded without its talker
  and only ``.thinker`` is kept.  Towers ``model.visual`` and ``model.audio_tower``.
* ``causal_lm``: any ``AutoModelForCausalLM`` (Llama-3.1, Qwen2 …): the whole LM trains; the
  modality modules of a host model are re-attached afterwards (:func:`graft_judge_weights`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flexjudge.errors import InputError
from flexjudge.families import media_family

#: Sub-module names that are modality encoders/projectors, never the language model.
TOWER_NAMES: tuple[str, ...] = (
    "visual",
    "audio_tower",
    "vision_tower",
    "vision_model",
    "multi_modal_projector",
    "mm_projector",
)
_LORA_TARGETS = r"(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"


@dataclass
class LoadedBackbone:
    """The model being trained and what was learned about it at load time."""

    model: Any
    family: str  # qwen2_5_vl | qwen2_5_omni | causal_lm
    model_type: str
    full_omni_base: str | None  # a full Omni checkpoint the thinker came from


def detect_family(model_type: str) -> str:
    """Map ``config.model_type`` to a recipe family."""
    return media_family(model_type) or "causal_lm"


def load_backbone(base: str, dtype: Any) -> LoadedBackbone:
    """Load ``base`` for training in ``dtype``.

    Raises :class:`InputError` when ``base`` is not a loadable checkpoint.
    """
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(base)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot load a model config from {base!r}: {exc}", field="base") from exc
    model_type = str(config.model_type)
    family = detect_family(model_type)
    full_omni: str | None = None
    if model_type == "qwen2_5_omni":
        from transformers import Qwen2_5OmniForConditionalGeneration

        config.enable_audio_output = False  # skip the talker/token2wav: only the thinker trains
        full = Qwen2_5OmniForConditionalGeneration.from_pretrained(base, config=config, dtype=dtype)
        model = full.thinker
        del full
        full_omni = base
    elif family in ("qwen2_5_vl", "qwen2_5_omni"):
        from transformers import AutoModelForImageTextToText

        model = AutoModelForImageTextToText.from_pretrained(base, dtype=dtype)
    else:
        from transformers import AutoModelForCausalLM

        try:
            model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
        except ValueError as exc:
            raise InputError(
                f"{base!r} ({model_type}) is not a causal LM nor a supported "
                f"Qwen2.5-VL/Omni checkpoint: {exc}",
                field="base",
            ) from exc
    return LoadedBackbone(model, family, model_type, full_omni)


def tower_modules(model: Any) -> dict[str, Any]:
    """Top-most sub-modules whose last name component is in :data:`TOWER_NAMES`."""
    found: dict[str, Any] = {}
    for name, module in model.named_modules():
        if not name or name.rsplit(".", 1)[-1] not in TOWER_NAMES:
            continue
        if any(name.startswith(prefix + ".") for prefix in found):
            continue
        found[name] = module
    return found


def freeze_towers(model: Any) -> list[str]:
    """Set ``requires_grad=False`` on every tower parameter; returns the tower names."""
    towers = tower_modules(model)
    for module in towers.values():
        for p in module.parameters():
            p.requires_grad_(False)
    return sorted(towers)


def lora_target_regex(model: Any) -> str:
    """A PEFT ``target_modules`` regex: the LM's attention/MLP projections, never a tower."""
    towers = "|".join(TOWER_NAMES)
    return rf"^(?!.*\b({towers})\b).*\.{_LORA_TARGETS}$"


def apply_lora(model: Any, r: int, alpha: int, dropout: float) -> Any:
    """Wrap ``model`` in a PEFT LoRA adapter on the language model only."""
    from flexjudge._util.optional import require

    peft = require("peft", "train")
    config = peft.LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=lora_target_regex(model),
        task_type="CAUSAL_LM",
    )
    return peft.get_peft_model(model, config)


def merge_lora(model: Any) -> Any:
    """Fold LoRA weights into the base weights and drop the adapter (``merge_and_unload``)."""
    return model.merge_and_unload()
