"""``flexjudge dpo``: train a policy on ``flexjudge pairs`` output with TRL's ``DPOTrainer``.

The paper's molecule loop (spec §11.10) ends here: judge-built, flip-consistent pairs train
the policy with DPO, β = 0.1.  Rows are ``{"prompt", "chosen", "rejected"}`` (plain strings,
or TRL's conversational lists), optionally with ``images`` (a vision-language policy) and
``molecules`` (written into the prompt as text cards, so any text policy can learn from
molecule pairs).  A policy with a chat template gets conversational rows, so TRL renders
them with the policy's own template.

``mode="reference"`` follows the authors' stage-3 settings where TRL can express them
(β 0.1, AdamW lr 1e-5 with weight decay 0.05, 3 epochs, cosine decay with warm-up, the
sigmoid loss).  Their sequence log-probability sums over *every* position of the padded
sequence, prompt and padding included [Q16]; TRL scores completion tokens only, and that
quirk is not reproduced.  ``mode="clean"`` is TRL's recipe with β 0.1 and lr 5e-6, 1 epoch.
``launch > 1`` runs that many data-parallel processes with ``torchrun`` (gloo on CPU).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from flexjudge._util.jsonl import read_items
from flexjudge._util.optional import require
from flexjudge.errors import FlexJudgeError, InputError

DPO_RESULT = "dpo_result.json"


@dataclass(frozen=True)
class DPOSettings:
    """Settings of ``flexjudge dpo`` (``None`` learning rate / epochs: the mode's)."""

    policy: str
    pairs: str
    output: str
    mode: Literal["reference", "clean"] = "clean"
    beta: float = 0.1
    lora: bool = False
    lora_r: int = 8
    learning_rate: float | None = None
    epochs: float | None = None
    max_steps: int = -1
    per_device_batch_size: int = 2
    gradient_accumulation_steps: int = 1
    max_length: int = 1024
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    launch: int = 1

    def __post_init__(self) -> None:
        if self.mode not in ("reference", "clean"):
            raise InputError("mode must be 'reference' or 'clean'", field="mode")
        if self.beta <= 0:
            raise InputError("beta must be > 0", field="beta")
        if self.launch < 1:
            raise InputError("launch must be >= 1", field="launch")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


def read_pairs(path: str | Path, *, conversational: bool) -> dict[str, list[Any]]:
    """Columns ``prompt``/``chosen``/``rejected`` (+ ``images``) of a pairs JSONL.  A bad row
    raises :class:`InputError` naming the file, row and field."""
    columns: dict[str, list[Any]] = {"prompt": [], "chosen": [], "rejected": [], "images": []}
    rows = read_items(Path(path))
    if not rows:
        raise InputError(f"{path}: no preference pairs")
    for row in rows:
        if isinstance(row, Exception):
            raise row
        rid = f"{path}:{row.get('id')}"
        for key in ("prompt", "chosen", "rejected"):
            if key not in row:
                raise InputError("missing", record=rid, field=key)
        prompt, chosen, rejected = row["prompt"], row["chosen"], row["rejected"]
        molecules = row.get("molecules") or []
        images = row.get("images") or []
        if isinstance(prompt, str):
            if molecules:
                prompt = _with_molecule_cards(prompt, molecules, rid)
            if conversational:
                content: Any = prompt
                if images:
                    content = [{"type": "image"}] * len(images) + [{"type": "text", "text": prompt}]
                prompt = [{"role": "user", "content": content}]
                chosen = [{"role": "assistant", "content": chosen}]
                rejected = [{"role": "assistant", "content": rejected}]
        for key, value in (("chosen", chosen), ("rejected", rejected)):
            if not isinstance(value, str | list):
                raise InputError("must be a string or a message list", record=rid, field=key)
        columns["prompt"].append(prompt)
        columns["chosen"].append(chosen)
        columns["rejected"].append(rejected)
        columns["images"].append(list(images))
    if not any(columns["images"]):
        del columns["images"]
    return columns


def _with_molecule_cards(prompt: str, molecules: list[Any], record: str) -> str:
    from flexjudge.media import as_molecule
    from flexjudge.protocol import fill_molecule_slots

    cards = []
    for i, value in enumerate(molecules):
        try:
            cards.append(as_molecule(value).describe())
        except InputError as exc:
            raise exc.with_context(record=record, field=f"molecules[{i}]") from exc
    return fill_molecule_slots(prompt, cards)


def _processing_class(policy: str) -> Any:
    from transformers import AutoProcessor, AutoTokenizer, ProcessorMixin

    try:
        processor = AutoProcessor.from_pretrained(policy)
        if isinstance(processor, ProcessorMixin) and hasattr(processor, "image_processor"):
            return processor
    except (OSError, ValueError, KeyError, ImportError):
        pass
    tokenizer = AutoTokenizer.from_pretrained(policy)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def _load_policy(policy: str, multimodal: bool) -> Any:
    from transformers import AutoModelForCausalLM, AutoModelForImageTextToText

    cls = AutoModelForImageTextToText if multimodal else AutoModelForCausalLM
    try:
        return cls.from_pretrained(policy)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot load policy {policy!r}: {exc}", field="policy") from exc


def run_dpo(settings: DPOSettings) -> dict[str, Any]:
    """Train in this process (one rank when ``WORLD_SIZE`` is set); save the policy (LoRA
    merged) with its tokenizer/processor to ``settings.output``.  Returns the result dict."""
    trl = require("trl", "train")
    datasets = require("datasets", "train")
    from transformers.trainer_callback import PrinterCallback

    processing = _processing_class(settings.policy)
    multimodal = hasattr(processing, "image_processor")
    conversational = getattr(processing, "chat_template", None) is not None
    columns = read_pairs(settings.pairs, conversational=conversational)
    model = _load_policy(settings.policy, multimodal)
    reference = settings.mode == "reference"
    lr = settings.learning_rate or (1e-5 if reference else 5e-6)
    epochs = settings.epochs or (3.0 if reference else 1.0)
    use_cpu = settings.device == "cpu" or (
        settings.device == "auto" and not require("torch", "train").cuda.is_available()
    )
    args = trl.DPOConfig(
        output_dir=settings.output,
        beta=settings.beta,
        learning_rate=lr,
        num_train_epochs=epochs,
        max_steps=settings.max_steps,
        weight_decay=0.05 if reference else 0.0,
        lr_scheduler_type="cosine" if reference else "linear",
        warmup_steps=0.1 if reference else 0.0,  # a ratio of the total steps
        per_device_train_batch_size=settings.per_device_batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        max_length=settings.max_length,
        seed=settings.seed,
        use_cpu=use_cpu,
        report_to=[],
        save_strategy="no",
        logging_steps=1,
        disable_tqdm=True,
    )
    peft_config = None
    if settings.lora:
        peft = require("peft", "train")
        peft_config = peft.LoraConfig(
            r=settings.lora_r, lora_alpha=4 * settings.lora_r, lora_dropout=0.0,
            target_modules="all-linear", task_type="CAUSAL_LM",
        )  # fmt: skip
    trainer = trl.DPOTrainer(
        model=model,
        args=args,
        train_dataset=datasets.Dataset.from_dict(columns),
        processing_class=processing,
        peft_config=peft_config,
    )
    trainer.remove_callback(PrinterCallback)
    trainer.train()
    losses = [(int(h["step"]), float(h["loss"])) for h in trainer.state.log_history if "loss" in h]
    trained = trainer.model
    if settings.lora:
        trained = trained.merge_and_unload()
    out = Path(settings.output)
    is_main = int(os.environ.get("RANK", "0")) == 0
    result = {
        "output_dir": str(out),
        "mode": settings.mode,
        "beta": settings.beta,
        "pairs": len(columns["prompt"]),
        "steps": int(trainer.state.global_step),
        "losses": losses,
        "lora_merged": settings.lora,
        "world_size": int(os.environ.get("WORLD_SIZE", "1")),
    }
    if is_main:
        trained.save_pretrained(out)
        processing.save_pretrained(out)
        (out / DPO_RESULT).write_text(json.dumps(result, indent=2))
    trainer.accelerator.wait_for_everyone()
    return result


def dpo(settings: DPOSettings) -> dict[str, Any]:
    """Run :func:`run_dpo` here, or in ``settings.launch`` torchrun processes."""
    if settings.launch == 1:
        return run_dpo(settings)
    out = Path(settings.output)
    out.mkdir(parents=True, exist_ok=True)
    config_file = out / "dpo_config.json"
    config_file.write_text(settings.to_json())
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.setdefault("OMP_NUM_THREADS", "1")
    (out / DPO_RESULT).unlink(missing_ok=True)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node"]
    code = subprocess.call([*cmd, str(settings.launch), "-m", __name__, str(config_file)], env=env)
    if code != 0 or not (out / DPO_RESULT).is_file():
        raise FlexJudgeError(f"the {settings.launch}-process DPO job failed (exit {code})")
    loaded: dict[str, Any] = json.loads((out / DPO_RESULT).read_text())
    return loaded


if __name__ == "__main__":  # a torchrun worker
    run_dpo(DPOSettings(**json.loads(Path(sys.argv[1]).read_text())))
