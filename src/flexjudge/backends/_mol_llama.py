"""Reading Mol-LLaMA checkpoints: the language-model half.

Written from Mol-LLaMA's public architecture description (spec §11.1) and the module layout
of its public model class:
* the model holds ``encoder`` (2-D/3-D encoders, blending module, Q-Former), ``llm`` (a
  ``LlamaForCausalLM`` wrapped by PEFT LoRA: r 8, α 32, on q/k/v/o/gate/up/down) and
  ``llm_proj`` (``Linear(768 → hidden)``);
* Lightning checkpoints prefix every key with ``mol_llama.`` under ``state_dict``, and
  stage-3 checkpoints store only trainable tensors (LoRA, encoder parts, projector).

:func:`read_mol_llama_state` splits such a state dict into the LLM's base weights (HF
``LlamaForCausalLM`` names), its LoRA adapters, ``llm_proj`` and everything under
``encoder``.  :func:`mol_llama_llm` builds the plain LLM with the adapters merged, from the
checkpoint's own base weights or a separate base checkpoint (Mol-LLaMA's hub release takes
them from Llama-3.1-8B-Instruct).  The encoders are *not* converted: their key names and
modules (Uni-Mol, MoleculeSTM GIN, blending module, SciBERT Q-Former) are not reproduced in
flexjudge, so ``encoder`` tensors are only returned as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexjudge.errors import BackendError

LIGHTNING_PREFIX = "mol_llama."
#: Mol-LLaMA's LoRA settings (spec §11.1)
MOL_LLAMA_LORA_R = 8
MOL_LLAMA_LORA_ALPHA = 32
_PEFT_PREFIX = "llm.base_model.model."
_LORA = re.compile(r"^(?P<module>.+)\.lora_(?P<ab>[AB])(?:\.[^.]+)?\.weight$")


@dataclass
class MolLLaMAParts:
    """A Mol-LLaMA state dict, split by module (tensor names relative to each part)."""

    llm: dict[str, Any] = field(default_factory=dict)  #: base weights, HF Llama names
    lora: dict[str, tuple[Any, Any]] = field(default_factory=dict)  #: module → (A, B)
    llm_proj: dict[str, Any] = field(default_factory=dict)
    encoder: dict[str, Any] = field(default_factory=dict)
    other: list[str] = field(default_factory=list)


def read_mol_llama_state(state: Mapping[str, Any]) -> MolLLaMAParts:
    """Split ``state`` (Lightning ``mol_llama.``-prefixed or bare ``MolLLaMA`` names)."""
    parts = MolLLaMAParts()
    pending: dict[str, dict[str, Any]] = {}
    for raw, tensor in state.items():
        name = raw.removeprefix(LIGHTNING_PREFIX)
        if name.startswith("encoder."):
            parts.encoder[name.removeprefix("encoder.")] = tensor
        elif name.startswith("llm_proj."):
            parts.llm_proj[name.removeprefix("llm_proj.")] = tensor
        elif name.startswith(_PEFT_PREFIX):
            inner = name.removeprefix(_PEFT_PREFIX)
            lora = _LORA.match(inner)
            if lora is not None:
                pending.setdefault(lora["module"], {})[lora["ab"]] = tensor
            else:
                parts.llm[inner.replace(".base_layer.", ".")] = tensor
        else:
            parts.other.append(raw)
    for module, ab in pending.items():
        if set(ab) != {"A", "B"}:
            raise BackendError(f"LoRA module {module!r} lacks its lora_{'AB'[len(ab) % 2]}")
        parts.lora[module] = (ab["A"], ab["B"])
    return parts


def load_mol_llama_checkpoint(path: str | Path) -> MolLLaMAParts:
    """Read a Lightning ``.ckpt`` (``{"state_dict": ...}``), a ``.pt``/``.bin`` state dict or
    a ``.safetensors`` file.  Raises :class:`BackendError` naming the file."""
    import torch

    p = Path(path)
    if not p.is_file():
        raise BackendError(f"Mol-LLaMA checkpoint not found: {str(p)!r}")
    try:
        if p.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(p))
        else:
            state = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch/safetensors raise many types for a bad file
        raise BackendError(f"cannot read Mol-LLaMA checkpoint {str(p)!r}: {exc}") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise BackendError(f"{str(p)!r} holds no state dict")
    return read_mol_llama_state(state)


def mol_llama_llm(
    parts: MolLLaMAParts,
    *,
    base: str | Path | None = None,
    lora_alpha: float = MOL_LLAMA_LORA_ALPHA,
    lora_r: int = MOL_LLAMA_LORA_R,
) -> Any:
    """The Mol-LLaMA LLM as a plain ``LlamaForCausalLM`` with its LoRA merged
    (``W + α/r · B·A``).  Base weights come from ``base`` (a Llama folder, resized to the
    checkpoint's vocabulary) overlaid with any the checkpoint holds.  Raises
    :class:`BackendError` when a LoRA module has no base weight or a shape disagrees."""
    import torch
    from transformers import AutoModelForCausalLM

    if base is None:
        raise BackendError("give the base Llama checkpoint the Mol-LLaMA LLM was built on")
    model: Any = AutoModelForCausalLM.from_pretrained(str(base))
    vocab = parts.llm.get("model.embed_tokens.weight")
    rows = int(model.get_input_embeddings().weight.shape[0])
    if vocab is not None and int(vocab.shape[0]) != rows:
        model.resize_token_embeddings(int(vocab.shape[0]))
    state = model.state_dict()
    missing = [k for k in parts.llm if k not in state]
    if missing:
        raise BackendError(f"checkpoint tensors {missing[:3]} are not in the base LLM")
    scale = lora_alpha / lora_r
    with torch.no_grad():
        for name, tensor in parts.llm.items():
            state[name].copy_(tensor.to(state[name].dtype))
        for module, (a, b) in parts.lora.items():
            weight = state.get(f"{module}.weight")
            if weight is None:
                raise BackendError(f"LoRA module {module!r} has no base weight")
            delta = (b.float() @ a.float()) * scale
            if delta.shape != weight.shape:
                raise BackendError(
                    f"LoRA {module!r}: {tuple(delta.shape)} vs {tuple(weight.shape)}"
                )
            weight.add_(delta.to(weight.dtype))
    return model.eval()
