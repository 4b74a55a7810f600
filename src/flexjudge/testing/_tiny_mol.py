"""A tiny molecular-encoder judge (``--kind mol_llm``): a toy Qwen2 causal LM whose tokenizer
knows the Llama-3 chat tokens the ``mol/*`` protocols render and a ``<mol>`` token, plus a
random :class:`~flexjudge.backends._mol_encoder.MoleculeEncoder` in ``mol_encoder/``.

The ``<|start_header_id|>`` token makes the transformers backend detect the ``llama3``
family, so ``mol/pampa`` and ``mol/pair`` run on it end to end.
"""

from __future__ import annotations

from pathlib import Path

from flexjudge.families import MOLECULE_PLACEHOLDER, MOLECULE_PLACEHOLDER_COUNT

#: Llama-3's chat tokens and Mol-LLaMA's two added tokens (spec §11.1, §11.3)
MOL_LLM_SPECIAL_TOKENS: tuple[str, ...] = (
    "<|begin_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "[PAD]",
    MOLECULE_PLACEHOLDER,
)


def build_tiny_mol_llm(
    out_dir: str | Path,
    *,
    seed: int = 0,
    hidden_size: int = 64,
    num_layers: int = 2,
    head_dim: int = 16,
    num_query_tokens: int = MOLECULE_PLACEHOLDER_COUNT,
) -> Path:
    """Write the tiny molecular-encoder checkpoint to ``out_dir`` and return its path.
    The same ``seed`` always gives identical weights; the global torch RNG is untouched."""
    import torch
    from tokenizers import AddedToken
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    from flexjudge.backends._mol_encoder import MoleculeEncoder, MolEncoderConfig, save_encoder
    from flexjudge.testing._configs import text_config
    from flexjudge.testing._tokenizer import build_tokenizer

    tok = build_tokenizer("qwen2")
    tok.add_tokens(
        [AddedToken(t, special=True, normalized=False) for t in MOL_LLM_SPECIAL_TOKENS],
        special_tokens=True,
    )
    tok.eos_token = "<|eot_id|>"
    tok.pad_token = "[PAD]"
    ids = tok.convert_tokens_to_ids
    text = text_config(tok, len(tok), hidden_size, num_layers, head_dim, False)
    text.update(
        bos_token_id=ids("<|begin_of_text|>"),
        eos_token_id=ids("<|eot_id|>"),
        pad_token_id=ids("[PAD]"),
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(
            Qwen2Config(**text, rope_parameters={"rope_type": "default", "rope_theta": 1e6})
        )
        encoder = MoleculeEncoder(
            MolEncoderConfig(llm_hidden_size=hidden_size, num_query_tokens=num_query_tokens)
        )
        # a random encoder's outputs are small next to token embeddings: scale them up so a
        # molecule visibly moves the toy LM's logits
        with torch.no_grad():
            encoder.projector.weight.mul_(20.0)
    model.generation_config = GenerationConfig(
        bos_token_id=ids("<|begin_of_text|>"),
        eos_token_id=[ids("<|eot_id|>")],
        pad_token_id=ids("[PAD]"),
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    save_encoder(encoder, out)
    return out
