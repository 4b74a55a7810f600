"""Entry point of one launched rank: ``python -m flexjudge.train._worker CONFIG.json``."""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run one rank of the recipe from a saved :class:`TrainConfig`; returns the exit code."""
    from flexjudge.train._config import TrainConfig
    from flexjudge.train._recipe import run_training

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m flexjudge.train._worker CONFIG.json", file=sys.stderr)
        return 2
    config = TrainConfig.from_json(Path(args[0]).read_text())
    config.launch = 1  # this process is one rank; never re-launch
    run_training(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
