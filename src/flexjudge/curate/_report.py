"""What ``curate select`` produced: the chosen samples and the report about them."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexjudge.curate._config import SelectConfig
from flexjudge.curate._scan import ScanStats
from flexjudge.protocol import THINK_PREFIX

_CLI_FLAGS = {
    "agreement": "--agreement",
    "selection": "--selection",
    "n_single": "--n-single",
    "single_min_tokens": "--single-min-tokens",
    "n_pair": "--n-pair",
    "pair_min_answer_tokens": "--pair-min-answer-tokens",
    "rescale_fraction": "--rescale-fraction",
    "seed": "--seed",
    "tokenizer": "--tokenizer",
    "input_format": "--format",
    "limit": "--limit",
    "mode": "--mode",
    "rescale": "--rescale",
    "order": "--order",
}


@dataclass(frozen=True)
class Sample:
    """One training row with its provenance."""

    prompt: str
    text: str
    system: str
    user: str
    format: str  # "single" or "pair"
    scale: int  # 10 or 5
    scores: tuple[float, ...]  # ints, except with ``--rescale linear`` on the 1-5 scale
    line: int
    record_id: str
    seed_file: int
    reasoning_tokens: int
    #: what the assistant turn starts with in the prompt (none for answer-first samples)
    assistant_prefix: str = THINK_PREFIX

    def reference_row(self) -> dict[str, str]:
        return {"prompt": self.prompt, "text": self.text}

    def messages_row(self) -> dict[str, Any]:
        return {
            "messages": [
                {"role": "system", "content": self.system},
                {"role": "user", "content": self.user},
                {"role": "assistant", "content": self.assistant_prefix + self.text},
            ]
        }

    def meta_row(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "scale": self.scale,
            "scores": list(self.scores),
            "line": self.line,
            "record_id": self.record_id,
            "seed_file": self.seed_file,
            "reasoning_tokens": self.reasoning_tokens,
        }


@dataclass
class SelectReport:
    """What ``select`` did: scan counts, the chosen samples and where they were written."""

    stats: ScanStats
    samples: list[Sample]
    requested: dict[str, int]
    shortfall: dict[str, int]
    second_pass: bool
    outputs: dict[str, str] = field(default_factory=dict)
    token_counting: str = ""
    input_path: str = ""
    generation_paths: tuple[str, ...] = ()
    config: SelectConfig = field(default_factory=SelectConfig)

    def equivalent_command(self, out_path: str | Path) -> str:
        """The ``flexjudge curate select`` command line that reproduces this selection."""
        args = ["flexjudge", "curate", "select", "--input", self.input_path]
        for g in self.generation_paths:
            args += ["--generations", g]
        args += ["--out", str(out_path)]
        defaults = SelectConfig()
        for name, flag in _CLI_FLAGS.items():
            value = getattr(self.config, name)
            if value != getattr(defaults, name):
                args += [flag, str(value)]
        if not self.config.rename_assistant:
            args.append("--keep-assistant-name")
        return shlex.join(args)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.samples:
            key = f"{s.format}-{s.scale}"
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items()))

    def summary(self) -> dict[str, Any]:
        st = self.stats
        return {
            "rows": st.rows,
            "generations": st.generations,
            "kept": st.kept,
            "rejected": dict(sorted(st.rejected.items())),
            "prompts_with_a_kept_trace": st.prompts,
            "single_eligible": st.single_eligible,
            "pair_eligible": st.pair_eligible,
            "samples": self.counts(),
            "shortfall": self.shortfall,
            "problems": st.problem_count,
            "extra_generation_lines": st.extra_generation_lines,
            "outputs": self.outputs,
        }
