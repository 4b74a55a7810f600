"""Think once: build the ~1K text reasoning traces a Flex-Judge is fine-tuned on.

:func:`generate` runs a teacher judge (JudgeLRM-7B in the paper) on JudgeLM-100K or PandaLM
records; :func:`select` keeps the traces whose scores agree with the reference, the longest
per prompt, and applies the documented 500 single-score + 500 pairwise policy;
:func:`write_outputs` writes ``train.jsonl`` (reference format), chat ``messages`` for TRL
and a dataset card.  See ``docs/curation.md``.
"""

from flexjudge.curate._agreement import (
    AGREEMENT_MODES,
    ANSWER_INT,
    AgreementMode,
    Rejection,
    check_agreement,
    direction,
    teacher_scores,
)
from flexjudge.curate._config import SelectConfig, TokenCounter
from flexjudge.curate._generate import (
    GenerateConfig,
    GenerateReport,
    generate,
    output_name,
    teacher_prompt,
)
from flexjudge.curate._policy import (
    ChatPrompt,
    Trace,
    first_answer_reasoning,
    pair_prompt,
    rename_first_assistant,
    rescale_10_to_5,
    rescale_reasoning,
    single_prompt,
    split_trace,
)
from flexjudge.curate._records import (
    CurateRecord,
    Generation,
    InputFormat,
    Problem,
    iter_generations,
    iter_json_objects,
    iter_records,
    majority_label,
)
from flexjudge.curate._report import Sample, SelectReport
from flexjudge.curate._scan import Candidate, ScanStats
from flexjudge.curate._select import (
    find_generation_files,
    select,
    write_outputs,
)
from flexjudge.curate._synthetic import (
    iter_synthetic_rows,
    synthetic_judgelm_row,
    synthetic_responder,
    synthetic_trace,
    write_synthetic_judgelm,
)

__all__ = [
    "AGREEMENT_MODES",
    "ANSWER_INT",
    "AgreementMode",
    "Candidate",
    "ChatPrompt",
    "CurateRecord",
    "GenerateConfig",
    "GenerateReport",
    "Generation",
    "InputFormat",
    "Problem",
    "Rejection",
    "Sample",
    "ScanStats",
    "SelectConfig",
    "SelectReport",
    "TokenCounter",
    "Trace",
    "check_agreement",
    "direction",
    "find_generation_files",
    "first_answer_reasoning",
    "generate",
    "iter_generations",
    "iter_json_objects",
    "iter_records",
    "iter_synthetic_rows",
    "majority_label",
    "output_name",
    "pair_prompt",
    "rename_first_assistant",
    "rescale_10_to_5",
    "rescale_reasoning",
    "select",
    "single_prompt",
    "split_trace",
    "synthetic_judgelm_row",
    "synthetic_responder",
    "synthetic_trace",
    "teacher_prompt",
    "teacher_scores",
    "write_outputs",
    "write_synthetic_judgelm",
]
