"""Multi-process launching: ``torchrun`` (default) or ``accelerate launch`` with a config."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

from flexjudge.errors import FlexJudgeError, InputError
from flexjudge.train._config import TrainConfig, TrainResult

#: Shipped accelerate configs (``src/flexjudge/train/configs/<name>.yaml``).
ACCELERATE_CONFIGS: tuple[str, ...] = (
    "single_gpu",
    "ddp",
    "deepspeed_zero2",
    "deepspeed_zero3_offload",
)
_WORKER = "flexjudge.train._worker"


def accelerate_config_path(name_or_path: str) -> Path:
    """Path of a shipped config by name, or of a user file.  Raises :class:`InputError`."""
    if name_or_path in ACCELERATE_CONFIGS:
        ref = resources.files("flexjudge.train") / "configs" / f"{name_or_path}.yaml"
        return Path(str(ref))
    path = Path(name_or_path)
    if not path.is_file():
        raise InputError(
            f"accelerate config {name_or_path!r} is neither a file nor one of {ACCELERATE_CONFIGS}",
            field="accelerate_config",
        )
    return path


def launch_command(config: TrainConfig, config_file: Path) -> list[str]:
    """The command that runs ``config.launch`` processes of the recipe."""
    n = str(config.launch)
    if config.accelerate_config is not None:
        cmd = [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--config_file",
            str(accelerate_config_path(config.accelerate_config)),
            "--num_processes",
            n,
        ]
        if config.device == "cpu" or config.accelerate_config == "ddp":
            # `--cpu` would silently run ONE process; multi_gpu + use_cpu gives gloo on CPU.
            cmd += ["--multi_gpu"]
        return [*cmd, "-m", _WORKER, str(config_file)]
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        n,
        "-m",
        _WORKER,
        str(config_file),
    ]


def launch(config: TrainConfig) -> TrainResult:
    """Run the recipe in ``config.launch`` processes and return rank 0's result.

    Raises :class:`FlexJudgeError` when the launched job fails (its exit code is named).
    """
    out = Path(config.output)
    out.mkdir(parents=True, exist_ok=True)
    config_file = out / "launch_config.json"
    config_file.write_text(config.to_json())
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    for key in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(key, None)
    result_file = out / "train_result.json"
    result_file.unlink(missing_ok=True)
    code = subprocess.call(launch_command(config, config_file), env=env)
    if code != 0 or not result_file.is_file():
        raise FlexJudgeError(
            f"the {config.launch}-process training job failed (exit {code}); see its output above"
        )
    return TrainResult.from_file(result_file)
