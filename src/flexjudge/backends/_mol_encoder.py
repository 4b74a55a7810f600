"""A small molecular encoder: a GIN over the ``graph`` view, then learned queries that
cross-attend to the atoms and a projector into the language model's embedding space.

It plays the part of Mol-LLaMA's encoders + Q-Former + ``llm_proj`` (spec §11.1) at toy size:
every molecule becomes exactly ``num_query_tokens`` embeddings, which replace the input
embeddings of that molecule's ``<mol>`` placeholder tokens before the LM runs.  Saved as
``mol_encoder/config.json`` + ``mol_encoder/model.safetensors`` next to the LM's files.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from flexjudge.errors import BackendError
from flexjudge.families import MOLECULE_PLACEHOLDER_COUNT
from flexjudge.media import ATOM_FEATURE_SIZES, BOND_FEATURE_SIZES, MoleculeGraph

ENCODER_DIR = "mol_encoder"
_CONFIG = "config.json"
_WEIGHTS = "model.safetensors"


@dataclass(frozen=True)
class MolEncoderConfig:
    """Sizes of a :class:`MoleculeEncoder`; ``llm_hidden_size`` is the LM's embedding width."""

    llm_hidden_size: int
    hidden_size: int = 64
    num_layers: int = 2
    num_query_tokens: int = MOLECULE_PLACEHOLDER_COUNT
    num_heads: int = 4
    use_positions: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MolEncoderConfig:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


class _CategoricalEmbedding(nn.Module):
    """Sum of one embedding per categorical feature column (OGB's AtomEncoder style)."""

    def __init__(self, sizes: Sequence[int], dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.tables = nn.ModuleList(nn.Embedding(n, dim) for n in sizes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(features.shape[0], self.dim, device=features.device)
        for i, table in enumerate(self.tables):
            out = out + table(features[:, i])
        return out


class _GINLayer(nn.Module):
    """``h_i ← MLP(h_i + Σ_j (h_j + e_ij))`` over directed edges ``j → i``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.bonds = _CategoricalEmbedding(BOND_FEATURE_SIZES, dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.ReLU(), nn.Linear(2 * dim, dim))
        self.norm = nn.LayerNorm(dim)

    def forward(self, h: torch.Tensor, edges: torch.Tensor, bonds: torch.Tensor) -> torch.Tensor:
        messages = h[edges[0]] + self.bonds(bonds)
        aggregated = torch.zeros_like(h).index_add_(0, edges[1], messages)
        out: torch.Tensor = self.norm(h + self.mlp(h + aggregated))
        return out


class MoleculeEncoder(nn.Module):
    """Graph view → ``(num_molecules, num_query_tokens, llm_hidden_size)`` embeddings."""

    def __init__(self, config: MolEncoderConfig) -> None:
        super().__init__()
        self.config = config
        d = config.hidden_size
        self.atoms = _CategoricalEmbedding(ATOM_FEATURE_SIZES, d)
        self.positions = nn.Linear(3, d) if config.use_positions else None
        self.layers = nn.ModuleList(_GINLayer(d) for _ in range(config.num_layers))
        self.queries = nn.Parameter(torch.randn(config.num_query_tokens, d) * 0.02)
        self.cross_attention = nn.MultiheadAttention(d, config.num_heads, batch_first=True)
        self.projector = nn.Linear(d, config.llm_hidden_size)

    def forward(self, graphs: Sequence[MoleculeGraph]) -> torch.Tensor:
        device = self.queries.device
        nodes = []
        for graph in graphs:
            h = self.atoms(torch.as_tensor(graph.atom_features, device=device))
            if self.positions is not None:
                if graph.positions is None:
                    raise BackendError("this molecular encoder needs 3-D conformers")
                coords = torch.as_tensor(graph.positions, device=device, dtype=h.dtype)
                h = h + self.positions(coords - coords.mean(dim=0))
            edges = torch.as_tensor(graph.edge_index, device=device)
            bonds = torch.as_tensor(graph.edge_features, device=device)
            for layer in self.layers:
                h = layer(h, edges, bonds)
            nodes.append(h)
        longest = max(len(h) for h in nodes)
        padded = torch.zeros(len(nodes), longest, self.config.hidden_size, device=device)
        pad_mask = torch.ones(len(nodes), longest, dtype=torch.bool, device=device)
        for i, h in enumerate(nodes):
            padded[i, : len(h)] = h
            pad_mask[i, : len(h)] = False
        queries = self.queries.unsqueeze(0).expand(len(nodes), -1, -1)
        attended, _ = self.cross_attention(queries, padded, padded, key_padding_mask=pad_mask)
        projected: torch.Tensor = self.projector(attended + queries)
        return projected


def save_encoder(encoder: MoleculeEncoder, folder: str | Path) -> Path:
    """Write ``folder/mol_encoder/{config.json, model.safetensors}``; returns that folder."""
    from safetensors.torch import save_file

    out = Path(folder) / ENCODER_DIR
    out.mkdir(parents=True, exist_ok=True)
    (out / _CONFIG).write_text(json.dumps(asdict(encoder.config), indent=2) + "\n")
    state = {k: v.detach().contiguous() for k, v in encoder.state_dict().items()}
    save_file(state, str(out / _WEIGHTS))
    return out


def load_encoder(folder: str | Path, *, device: str = "cpu", dtype: Any = None) -> MoleculeEncoder:
    """The encoder saved under ``folder/mol_encoder`` (or ``folder`` itself).  A missing or
    mismatched file raises :class:`BackendError` naming it."""
    from safetensors.torch import load_file

    root = Path(folder)
    enc_dir = root / ENCODER_DIR if (root / ENCODER_DIR).is_dir() else root
    config_file, weights = enc_dir / _CONFIG, enc_dir / _WEIGHTS
    for needed in (config_file, weights):
        if not needed.is_file():
            raise BackendError(f"no molecular encoder: {str(needed)!r} is missing")
    try:
        config = MolEncoderConfig.from_dict(json.loads(config_file.read_text()))
        encoder = MoleculeEncoder(config)
        encoder.load_state_dict(load_file(str(weights)), strict=True)
    except (OSError, ValueError, TypeError, RuntimeError) as exc:
        raise BackendError(f"cannot load the molecular encoder in {str(enc_dir)!r}: {exc}") from exc
    encoder.to(device=device, dtype=dtype) if dtype is not None else encoder.to(device)
    return encoder.eval()
