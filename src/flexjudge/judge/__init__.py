"""The judging engine: config, planning, generation, reducers, keys, position bias, and the
public :class:`Judge`."""

from __future__ import annotations

from flexjudge.judge.config import BudgetFinal, JudgeConfig, Order
from flexjudge.judge.judge import Judge
from flexjudge.judge.keys import ResultCache
from flexjudge.judge.types import JudgeItem, JudgeResult, Sample, Task

__all__ = [
    "BudgetFinal",
    "Judge",
    "JudgeConfig",
    "JudgeItem",
    "JudgeResult",
    "Order",
    "ResultCache",
    "Sample",
    "Task",
]
