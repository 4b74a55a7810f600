"""Config dictionaries of the tiny checkpoints (text model, vision tower, M-RoPE)."""

from __future__ import annotations

from typing import Any

from flexjudge.errors import InputError


def mrope_section(head_dim: int) -> list[int]:
    """Split ``head_dim / 2`` rotary channels 1/4 : 3/8 : 3/8 (Qwen uses 16, 24, 24 of 64)."""
    half = head_dim // 2
    t = half // 4
    h = (half - t) // 2
    return [t, h, half - t - h]


def with_mrope(text: dict[str, Any], head_dim: int) -> dict[str, Any]:
    """The text config with Qwen2.5's multimodal rotary embedding (M-RoPE)."""
    rope = {"rope_type": "default", "mrope_section": mrope_section(head_dim), "rope_theta": 1e6}
    return {**text, "rope_parameters": rope}


def text_config(
    tok: Any, vocab_size: int, hidden_size: int, num_layers: int, head_dim: int, tie: bool
) -> dict[str, Any]:
    if hidden_size % head_dim:
        raise InputError(
            f"hidden_size ({hidden_size}) must be a multiple of head_dim ({head_dim})",
            field="head_dim",
        )
    heads = hidden_size // head_dim
    ids = tok.convert_tokens_to_ids
    return {
        "vocab_size": vocab_size,
        "hidden_size": hidden_size,
        "intermediate_size": 2 * hidden_size,
        "num_hidden_layers": num_layers,
        "num_attention_heads": heads,
        "num_key_value_heads": max(1, heads // 2),
        "head_dim": head_dim,
        "max_position_embeddings": 32768,
        "bos_token_id": ids("<|endoftext|>"),
        "eos_token_id": ids("<|im_end|>"),
        "pad_token_id": ids("<|endoftext|>"),
        "tie_word_embeddings": tie,
    }


def vision_config(hidden_size: int) -> dict[str, Any]:
    return {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 2,
        "out_hidden_size": hidden_size,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "window_size": 112,
        "fullatt_block_indexes": [1],
    }
