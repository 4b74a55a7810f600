"""The one configuration dataclass of :func:`flexjudge.train.train`, its presets and result.

The defaults are the reference scripts' hyper-parameters (``train/vl.sh``, spec §6.4):
1 epoch, global batch 32 (2 per device × 4 accumulation × 4 GPUs; accumulation derived from
the world size), cosine schedule with 5 % linear warm-up, AdamW β=(0.9, 0.95), weight decay
1e-4, gradient clipping 1.0, bf16 on GPUs, activation checkpointing, block size 4096, seed
42.  The paper (Appendix B.2) states a batch size of 2 for 1 epoch at max length 4096: the
``*-paper`` presets follow that, the ``*-scripts`` presets (and the plain names) the scripts.
A preset fills the learning rate (1e-5 Flex-VL-7B and the plain-LM recipe, 7e-6
Flex-Omni-7B) and the global batch, and names the backbone family it expects.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from flexjudge.errors import InputError

TrainMode = Literal["reference", "clean"]
Precision = Literal["auto", "bf16", "fp16", "fp32"]


@dataclass(frozen=True)
class Preset:
    """Paper hyper-parameters of one published judge."""

    name: str
    description: str
    learning_rate: float
    family: str  # "qwen2_5_vl" | "qwen2_5_omni" | "causal_lm"
    #: sequences per optimizer step: 32 = the scripts' 2 × 4 × 4 GPUs, 2 = the paper's
    global_batch_size: int = 32


_SCRIPTS = "global batch 32 = 2 per device x 4 accumulation x 4 GPUs (train/*.sh)"
_PAPER = "global batch 2 (paper, Appendix B.2)"


def _presets() -> dict[str, Preset]:
    """``NAME`` and ``NAME-scripts``: the scripts' batch 32; ``NAME-paper``: batch 2."""
    out: dict[str, Preset] = {}
    for name, what, lr, family in (
        ("flex-vl-7b", "Flex-VL-7B: Qwen2.5-VL-7B-Instruct", 1e-5, "qwen2_5_vl"),
        ("flex-omni-7b", "Flex-Omni-7B: Qwen2.5-Omni-7B thinker", 7e-6, "qwen2_5_omni"),
        ("llama-8b", "Flex-Llama-8B (Flex-Mol-LLaMA judge): Llama-3.1-8B", 1e-5, "causal_lm"),
    ):
        for key, batch, follows in (
            (name, 32, _SCRIPTS),
            (f"{name}-scripts", 32, _SCRIPTS),
            (f"{name}-paper", 2, _PAPER),
        ):
            out[key] = Preset(key, f"{what}, lr {lr:g}, {follows}", lr, family, batch)
    return out


PRESETS: dict[str, Preset] = _presets()
DEFAULT_LEARNING_RATE = 1e-5
DEFAULT_GLOBAL_BATCH_SIZE = 32


@dataclass
class TrainConfig:
    """Everything one training run needs.

    ``data`` is a JSONL file of curated rows: either the reference format (``prompt`` ending
    with the assistant header and ``<think>\\n``, ``text`` the teacher continuation) or chat
    ``messages`` whose last turn is the assistant's.  ``mode="clean"`` also trains the
    end-of-turn token (fixes Q4); ``mode="reference"`` reproduces the reference collator
    exactly (no end token, ``<|fim_pad|>`` padding, whole example masked when the response
    template is missing).  ``learning_rate=None`` and ``global_batch_size=None`` take the
    preset's (else 1e-5 and 32).  ``freeze_towers=None`` freezes the vision/audio towers in
    clean mode and trains every parameter in reference mode, as ``train/sft.py`` does.

    ``launch > 1`` re-runs the recipe under ``torchrun`` (or ``accelerate launch`` with
    ``accelerate_config``, a file or one of :data:`ACCELERATE_CONFIGS`) with that many
    processes.  ``omni_full_base`` is the full Qwen2.5-Omni checkpoint the trained thinker is
    grafted into (defaults to ``base`` when ``base`` is a full Omni checkpoint).
    ``mol_host`` is a molecular host (a ``mol-llm`` folder with ``mol_encoder/`` and LoRA
    ``adapter/``): the trained LM's weights are re-attached to it and the result written to
    ``{output}/flex_mol``, its adapters and encoder unchanged (the Flex-Mol recipe, paper B.4).
    """

    base: str
    data: str
    output: str
    preset: str | None = None
    mode: TrainMode = "clean"
    lora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    freeze_towers: bool | None = None
    learning_rate: float | None = None
    epochs: float = 1.0
    max_steps: int = -1
    global_batch_size: int | None = None
    per_device_batch_size: int = 2
    lr_scheduler: str = "cosine"
    warmup_ratio: float = 0.05
    adam_beta1: float = 0.9
    adam_beta2: float = 0.95
    weight_decay: float = 1e-4
    max_grad_norm: float = 1.0
    precision: Precision = "auto"
    activation_checkpointing: bool = True
    block_size: int = 4096
    seed: int = 42
    logging_steps: int = 1
    device: Literal["auto", "cpu", "cuda"] = "auto"
    launch: int = 1
    accelerate_config: str | None = None
    omni_full_base: str | None = None
    mol_host: str | None = None
    plot: bool = True
    dataloader_workers: int = 0
    extra_args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.mode not in ("reference", "clean"):
            raise InputError(
                f"mode must be 'reference' or 'clean', got {self.mode!r}", field="mode"
            )
        if self.preset is not None and self.preset not in PRESETS:
            raise InputError(
                f"unknown preset {self.preset!r}; choose one of {sorted(PRESETS)}", field="preset"
            )
        if self.precision not in ("auto", "bf16", "fp16", "fp32"):
            raise InputError(f"unknown precision {self.precision!r}", field="precision")
        for name in ("global_batch_size", "per_device_batch_size", "block_size", "launch"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InputError(f"{name} must be >= 1", field=name)
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise InputError("warmup_ratio must be in [0, 1)", field="warmup_ratio")

    @property
    def resolved_learning_rate(self) -> float:
        """The explicit learning rate, else the preset's, else 1e-5."""
        if self.learning_rate is not None:
            return self.learning_rate
        if self.preset is not None:
            return PRESETS[self.preset].learning_rate
        return DEFAULT_LEARNING_RATE

    @property
    def resolved_global_batch_size(self) -> int:
        """The explicit global batch, else the preset's, else 32 (the scripts')."""
        if self.global_batch_size is not None:
            return self.global_batch_size
        if self.preset is not None:
            return PRESETS[self.preset].global_batch_size
        return DEFAULT_GLOBAL_BATCH_SIZE

    @property
    def resolved_freeze_towers(self) -> bool:
        """Explicit, else True in clean mode and False in reference mode (sft.py trains all)."""
        return self.freeze_towers if self.freeze_towers is not None else self.mode == "clean"

    def grad_accumulation(self, world_size: int) -> int:
        """Accumulation steps so that ``per_device × accumulation × world ≈ global batch``."""
        per_step = self.per_device_batch_size * world_size
        return max(1, math.ceil(self.resolved_global_batch_size / per_step))

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        """Inverse of :meth:`to_json`.  Raises :class:`InputError` on unknown fields."""
        data = json.loads(text)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown TrainConfig fields {unknown}", field=unknown[0])
        return cls(**data)


@dataclass
class TrainResult:
    """What a run produced.  ``losses`` are ``(step, loss)`` pairs as logged."""

    output_dir: str
    family: str
    mode: str
    world_size: int
    steps: int
    examples: int
    fully_masked_examples: int
    trained_tokens: int
    losses: list[tuple[int, float]]
    train_seconds: float
    tokens_per_second: float
    log_file: str
    plot_file: str | None
    frozen_modules: list[str]
    lora_merged: bool
    grafted_into: str | None

    @property
    def first_loss(self) -> float | None:
        return self.losses[0][1] if self.losses else None

    @property
    def final_loss(self) -> float | None:
        return self.losses[-1][1] if self.losses else None

    def to_json(self) -> str:
        """The result as JSON, with ``initial_loss``: the first logged loss, computed on the
        first batches before any update (with ``logging_steps=1``), which is what the paper's
        Fig. 2c compares across curated sets."""
        return json.dumps({**dataclasses.asdict(self), "initial_loss": self.first_loss}, indent=2)

    @classmethod
    def from_file(cls, path: str | Path) -> TrainResult:
        """Read a ``train_result.json``; raises :class:`InputError` when absent or invalid."""
        p = Path(path)
        try:
            data = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InputError(f"cannot read training result {p}: {exc}", field="output") from exc
        data["losses"] = [(int(s), float(v)) for s, v in data["losses"]]
        data.pop("initial_loss", None)  # derived from losses
        return cls(**data)
