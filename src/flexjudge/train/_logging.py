"""Progress logging: one console line and one JSONL record per logging step, loss PNG at end."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

_KEEP = (
    "loss",
    "learning_rate",
    "grad_norm",
    "epoch",
    "num_input_tokens_seen",
    "mean_token_accuracy",
)


def make_jsonl_callback(log_file: Path, is_main: bool) -> Any:
    """A ``transformers.TrainerCallback`` writing progress to the console and ``log_file``.

    Only the main process writes.  ``callback.losses`` collects ``(step, loss)`` pairs.
    """
    from transformers import TrainerCallback

    class JsonlProgress(TrainerCallback):  # type: ignore[misc]
        def __init__(self) -> None:
            self.losses: list[tuple[int, float]] = []
            self.started = time.perf_counter()
            if is_main:
                log_file.parent.mkdir(parents=True, exist_ok=True)
                log_file.write_text("")

        def on_log(
            self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any
        ) -> None:
            if not logs or "loss" not in logs:
                return
            step = int(state.global_step)
            record: dict[str, Any] = {
                "step": step,
                "max_steps": int(state.max_steps),
                "seconds": round(time.perf_counter() - self.started, 3),
            }
            record.update({k: logs[k] for k in _KEEP if k in logs})
            self.losses.append((step, float(logs["loss"])))
            if not is_main:
                return
            with log_file.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record) + "\n")
            lr = logs.get("learning_rate", float("nan"))
            print(
                f"[flexjudge train] step {record['step']}/{record['max_steps']} "
                f"loss {float(logs['loss']):.4f} lr {float(lr):.3g}",
                file=sys.stderr,
                flush=True,
            )

    return JsonlProgress()


def plot_losses(losses: list[tuple[int, float]], path: Path) -> Path | None:
    """Write a loss-curve PNG (matplotlib, Agg backend).  Returns ``None`` without matplotlib
    or without any logged loss."""
    if not losses:
        return None
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([s for s, _ in losses], [v for _, v in losses], marker="o", markersize=2)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss (completion tokens)")
    ax.set_title("flexjudge train")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
