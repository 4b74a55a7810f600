"""Per-sequence SDPA for transformers' continuous batching on the CPU.

The engine flattens the sequences of one step into a single row.  Its SDPA path then reads
the KV of every sequence in the batch for every query token, through a
``[query tokens, all cached tokens]`` mask.  The cost of a decode step grows with the square
of the number of sequences, and it cost more than static batching in
``benchmarks/throughput.py``.  This attention function takes the same gathered keys and values
(``PagedAttentionCache.update`` still reads the pages) and the same
``cu_seq_lens_q``/``cu_seq_lens_k`` the engine passes to flash attention.  It attends each
sequence only over its own keys, with one ``scaled_dot_product_attention`` call per
sequence.  It uses torch's own kernel and writes no scheduler and no cache.

It is registered through transformers' public extension points (``AttentionInterface`` and
``AttentionMaskInterface``; the mask function returns None, as flash attention's does, so
the engine builds no dense mask).  The batcher selects it on a model only for one engine
session, after ``init_continuous_batching`` has checked the model's own ``sdpa``, and
restores ``sdpa`` afterwards.  Outside an engine step (no ``cu_seq_lens_q``), it is plain
``sdpa``.
"""

from __future__ import annotations

from typing import Any

#: The attention implementation's registered name.
VARLEN_SDPA = "flexjudge_varlen_sdpa"

_registered = False


def register() -> str:
    """Register the implementation with transformers (idempotent); return its name."""
    global _registered
    if not _registered:
        from transformers import AttentionInterface, AttentionMaskInterface

        AttentionInterface.register(VARLEN_SDPA, varlen_sdpa_attention)
        AttentionMaskInterface.register(VARLEN_SDPA, _no_mask)
        _registered = True
    return VARLEN_SDPA


def supports(model: Any) -> str | None:
    """Why ``model`` cannot use the per-sequence path, or None when it can.

    Every (sub-)config must be on ``sdpa``, so that setting ``"sdpa"`` back after the
    session restores the model exactly.
    """
    implementations = set(_implementations(model.config))
    if implementations != {"sdpa"}:
        return f"the model's attention is {sorted(map(str, implementations))}, not 'sdpa'"
    config = getattr(model.config, "text_config", None) or model.config
    layer_types = getattr(config, "layer_types", None) or ["full_attention"]
    if any(kind != "full_attention" for kind in layer_types):
        return "sliding-window or hybrid attention layers"
    return None


def _implementations(config: Any) -> list[Any]:
    found = [getattr(config, "_attn_implementation", None)]
    for key in getattr(config, "sub_configs", {}) or {}:
        sub = getattr(config, key, None)
        if sub is not None:
            found += _implementations(sub)
    return found


def _no_mask(*args: Any, **kwargs: Any) -> None:
    return None


def varlen_sdpa_attention(
    module: Any,
    query: Any,
    key: Any,
    value: Any,
    attention_mask: Any,
    scaling: float | None = None,
    dropout: float = 0.0,
    cu_seq_lens_q: Any = None,
    cu_seq_lens_k: Any = None,
    **kwargs: Any,
) -> tuple[Any, None]:
    """Attention of each packed sequence over its own keys (causal: bottom-right aligned).

    ``query`` is ``[1, heads, query tokens, dim]`` and ``key``/``value`` are
    ``[1, kv heads, key tokens, dim]``, packed as ``cu_seq_lens_q``/``cu_seq_lens_k`` say.
    The result is ``[1, query tokens, heads, dim]``, as transformers' SDPA function returns.
    """
    import torch
    from torch.nn.functional import scaled_dot_product_attention
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if cu_seq_lens_q is None or cu_seq_lens_k is None:
        return sdpa_attention_forward(  # type: ignore[no-any-return]
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
    causal_model = kwargs.get("is_causal", True) is not False  # a vision tower passes False
    if kwargs.get("sliding_window") is not None or hasattr(module, "sinks"):
        raise NotImplementedError(
            f"{VARLEN_SDPA} supports full attention only (no sliding window, no sinks)"
        )
    if isinstance(cu_seq_lens_k, dict):  # one entry per layer type; full attention only
        cu_seq_lens_k = cu_seq_lens_k["full_attention"]
    gqa = getattr(module, "num_key_value_groups", 1) > 1
    starts_q, starts_k = cu_seq_lens_q.tolist(), cu_seq_lens_k.tolist()
    batch, heads, q_tokens = query.shape[:3]
    out = query.new_zeros(batch, q_tokens, heads, value.shape[-1])
    for q0, q1, k0, k1 in zip(starts_q, starts_q[1:], starts_k, starts_k[1:], strict=False):
        q_len, k_len = q1 - q0, k1 - k0
        if q_len == 0:
            continue  # padding sequences have no tokens
        mask, causal = None, False
        if not causal_model or q_len == 1:
            pass  # a decode token sees every cached key of its sequence
        elif q_len == k_len:
            causal = True
        else:  # a chunk after cached tokens: query i sees keys up to k_len-q_len+i
            mask = torch.ones(q_len, k_len, dtype=torch.bool, device=query.device)
            mask = mask.tril(k_len - q_len)
        attended = scaled_dot_product_attention(
            query[:, :, q0:q1],
            key[:, :, k0:k1],
            value[:, :, k0:k1],
            attn_mask=mask,
            is_causal=causal,
            scale=scaling,
            enable_gqa=gqa,
        )
        out[:, q0:q1] = attended.transpose(1, 2)
    return out, None
