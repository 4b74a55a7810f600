"""The Mol-LLaMA checkpoint reader, on a tiny random model with Mol-LLaMA's module tree
(``encoder`` / PEFT-wrapped ``llm`` / ``llm_proj``) saved as a Lightning checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")

from flexjudge.backends._mol_llama import (  # noqa: E402
    load_mol_llama_checkpoint,
    mol_llama_llm,
    read_mol_llama_state,
)
from flexjudge.errors import BackendError  # noqa: E402

TARGETS = ["k_proj", "v_proj", "q_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


class _TinyMolLLaMA(torch.nn.Module):
    def __init__(self, llm: object, hidden: int) -> None:
        super().__init__()
        self.encoder = torch.nn.ModuleDict({"graph_proj_2d": torch.nn.Linear(4, 4)})
        self.llm = llm
        self.llm_proj = torch.nn.Linear(768, hidden)


def _build(tmp_path: Path) -> tuple[Path, object, _TinyMolLLaMA]:
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
    )  # fmt: skip
    torch.manual_seed(0)
    base = LlamaForCausalLM(cfg)
    base_dir = tmp_path / "llama"
    base.save_pretrained(base_dir)
    llm = LlamaForCausalLM.from_pretrained(base_dir)
    llm.resize_token_embeddings(98)  # + [PAD] and <mol>
    lora = peft.LoraConfig(r=8, lora_alpha=32, lora_dropout=0.1, target_modules=TARGETS)
    wrapped = peft.get_peft_model(llm, lora)
    with torch.no_grad():
        for name, p in wrapped.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.05)
    model = _TinyMolLLaMA(wrapped, 32).eval()
    return base_dir, wrapped, model


def _logits(model: object, ids: object) -> object:
    with torch.no_grad():
        return model(input_ids=ids).logits  # type: ignore[operator]


def test_full_and_trainable_only_checkpoints_give_the_merged_llm(tmp_path: Path) -> None:
    base_dir, wrapped, model = _build(tmp_path)
    state = {f"mol_llama.{k}": v for k, v in model.state_dict().items()}
    assert (
        "mol_llama.llm.base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight"
        in state
    )
    ckpt = tmp_path / "stage3.ckpt"
    torch.save({"state_dict": state, "epoch": 2}, ckpt)
    parts = load_mol_llama_checkpoint(ckpt)
    assert len(parts.lora) == 2 * len(TARGETS)
    assert set(parts.llm_proj) == {"weight", "bias"} and "graph_proj_2d.weight" in parts.encoder
    assert "model.layers.1.mlp.down_proj.weight" in parts.llm and not parts.other
    ids = torch.tensor([[1, 5, 97, 97, 9]])
    wrapped.eval()  # type: ignore[attr-defined]
    expected = _logits(wrapped, ids)
    merged = mol_llama_llm(parts, base=base_dir)
    assert torch.allclose(_logits(merged, ids), expected, atol=1e-5)

    # stage-3 checkpoints keep trainable tensors only: base weights come from the base LLM,
    # whose two added rows the checkpoint must then carry
    trainable = {k: v for k, v in state.items() if "lora_" in k or "llm_proj" in k}
    trainable["mol_llama.llm.base_model.model.model.embed_tokens.weight"] = state[
        "mol_llama.llm.base_model.model.model.embed_tokens.weight"
    ]
    trainable["mol_llama.llm.base_model.model.lm_head.weight"] = state[
        "mol_llama.llm.base_model.model.lm_head.weight"
    ]
    merged = mol_llama_llm(read_mol_llama_state(trainable), base=base_dir)
    assert torch.allclose(_logits(merged, ids), expected, atol=1e-5)


def test_bad_checkpoints_are_named(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="not found"):
        load_mol_llama_checkpoint(tmp_path / "none.ckpt")
    key = "mol_llama.llm.base_model.model.model.layers.0.mlp.up_proj.lora_A.default.weight"
    half = {key: torch.zeros(8, 4)}
    with pytest.raises(BackendError, match="lacks its lora_B"):
        read_mol_llama_state(half)
