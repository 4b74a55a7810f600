"""flexjudge: Flex-Judge reasoning judges for text, images, video, audio and molecules.

Think once (text-only reasoning traces), judge anywhere.  The public API:

* :class:`Judge` / :class:`JudgeConfig` — score, compare, rank; votes, swap, budget forcing.
* :class:`JudgeItem` / :class:`JudgeResult` / :class:`Sample` — typed inputs and results.
* :mod:`flexjudge.protocol` — prompts (reference + clean), parsing, verdicts.
* :mod:`flexjudge.backends` — transformers, vLLM, OpenAI-compatible, mock.
* :mod:`flexjudge.media` — image, video, audio and molecule inputs.
"""

from flexjudge.backends import (
    Backend,
    Completion,
    GenerationRequest,
    MockBackend,
    SamplingParams,
    load_backend,
)
from flexjudge.errors import (
    BackendError,
    FlexJudgeError,
    InputError,
    MediaError,
    MissingDependencyError,
    ProtocolError,
)
from flexjudge.judge import Judge, JudgeConfig
from flexjudge.judge.bias import PositionBiasReport, position_bias
from flexjudge.judge.types import JudgeItem, JudgeResult, Sample
from flexjudge.protocol import Format, ParseStatus, Scale, Verdict, get_protocol, list_protocols
from flexjudge.store import ResultStore

__version__ = "0.1.0"

__all__ = [
    "Backend",
    "BackendError",
    "Completion",
    "FlexJudgeError",
    "Format",
    "GenerationRequest",
    "InputError",
    "Judge",
    "JudgeConfig",
    "JudgeItem",
    "JudgeResult",
    "MediaError",
    "MissingDependencyError",
    "MockBackend",
    "ParseStatus",
    "PositionBiasReport",
    "ProtocolError",
    "ResultStore",
    "Sample",
    "SamplingParams",
    "Scale",
    "Verdict",
    "__version__",
    "get_protocol",
    "list_protocols",
    "load_backend",
    "position_bias",
]
