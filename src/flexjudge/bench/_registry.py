"""The benchmark registry: what each benchmark loads, which protocol it uses, how answer
order is set per trial and how its predictions are scored."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flexjudge.bench._core import BenchRecord, BenchScore, Prediction
from flexjudge.bench._io import LoadConfig
from flexjudge.errors import InputError
from flexjudge.protocol import Mode

Loader = Callable[[LoadConfig], list[BenchRecord]]
Orders = Callable[[Sequence[BenchRecord], int, str], list[tuple[int, ...]]]
Evaluator = Callable[[str, Sequence[BenchRecord], Sequence[Prediction], Mode], BenchScore]
#: ``(predictions file, split, LoadConfig) -> (records, predictions)`` for foreign formats
Converter = Callable[[Path, str, LoadConfig], tuple[list[BenchRecord], list[Prediction]]]


def identity_orders(records: Sequence[BenchRecord], trial: int, mode: str) -> list[tuple[int, ...]]:
    return [tuple(range(max(len(r.responses), 2 if not r.responses else 0))) for r in records]


@dataclass(frozen=True)
class Benchmark:
    """One benchmark.  ``protocols`` maps split → protocol name; ``family`` the model family
    it needs (``vl`` or ``omni``); ``default_trials`` the samples per item of the paper's
    Table 6 (``--trials`` overrides); ``settings`` says in words what Table 6 prescribes
    (trials, answer order, tie handling, aggregation), shown by ``bench list``."""

    name: str
    description: str
    splits: tuple[str, ...]
    protocols: dict[str, str]
    load: Loader
    evaluate: Evaluator
    default_trials: int = 1
    orders: Orders = identity_orders
    hf_id: str | None = None
    family: str = "vl"
    formats: dict[str, Converter] = field(default_factory=dict)
    media_slot: str | None = None  # "images"/"videos" when the responses are media
    settings: str = ""

    @property
    def default_split(self) -> str:
        return self.splits[0]

    def check_split(self, split: str | None) -> str:
        """``split`` checked; ``None`` is the only split, and an error when there are several
        (a silent default would judge a split the user did not ask for)."""
        if split is None and len(self.splits) > 1:
            raise InputError(
                f"{self.name} has splits {list(self.splits)}: pass --split", field="split"
            )
        split = split or self.default_split
        if split not in self.splits:
            raise InputError(
                f"{self.name} has splits {list(self.splits)}, not {split!r}", field="split"
            )
        return split


_BENCHMARKS: dict[str, Benchmark] = {}


def register_benchmark(bench: Benchmark) -> Benchmark:
    _BENCHMARKS[bench.name] = bench
    return bench


def get_benchmark(name: str) -> Benchmark:
    """The benchmark called ``name``; :class:`InputError` listing the known ones otherwise."""
    try:
        return _BENCHMARKS[name]
    except KeyError:
        raise InputError(
            f"unknown benchmark {name!r}; known: {sorted(_BENCHMARKS)}", field="benchmark"
        ) from None


def list_benchmarks() -> list[Benchmark]:
    return [_BENCHMARKS[k] for k in sorted(_BENCHMARKS)]
