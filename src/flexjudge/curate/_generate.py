"""Teacher generation (spec §4): one sample per input row and seed, in the reference layout.

Output per seed: ``{out}/judgelrm_7b_{seed}_{temperature}.jsonl`` (the names
``utils/lrm_process.py`` reads; ``judgelrm_{seed}_{temperature}.jsonl`` in clean mode), one
object per input position, same order: ``prompt`` (the teacher prompt, ending in
``<think>\\n``), ``text`` (stripped completion, no ``<|im_end|>``), ``tokens`` (generated
token ids) and ``num_tokens``.  A position whose input could not be read, or whose
generation failed, gets ``{"prompt": null, "text": null, "tokens": [], "error": "..."}`` so
later positions stay aligned; :func:`select` counts it as malformed.  Reference mode writes
JSON with ``ensure_ascii=True`` (non-ASCII escaped, as the authors' ``json.dumps``); clean
mode writes UTF-8 text.

Resuming: lines already present in an output file are kept and generation continues after
them (a torn last line is dropped and regenerated).  With a result store, every completion
is also stored under a key of (backend fingerprint, prompt, sampling) and reused.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexjudge.backends import Backend, Completion, GenerationRequest, SamplingParams
from flexjudge.curate._records import CurateRecord, InputFormat, Problem, iter_records
from flexjudge.errors import InputError
from flexjudge.judge.generate import request_structure
from flexjudge.judge.keys import ResultCache
from flexjudge.protocol import PromptInputs, RenderedPrompt, get_protocol

TEACHER_PROTOCOL = "curate/teacher"
#: the generation file names ``utils/lrm_process.py`` reads: judgelrm_7b_{seed}_{t}.jsonl
REFERENCE_PREFIX = "judgelrm_7b"
#: id range for the deterministic stand-in token ids of backends that report none (mock)
_PSEUDO_VOCAB = 151643


@dataclass(frozen=True)
class GenerateConfig:
    """Settings of ``flexjudge curate generate`` (defaults: spec §4 with the README's 0.1)."""

    seeds: tuple[int, ...] = field(
        default=(13, 79), metadata={"help": "Teacher seeds, one output file each.", "cli": False}
    )
    temperature: float = field(default=0.1, metadata={"help": "Teacher sampling temperature."})
    top_p: float = field(default=0.95, metadata={"help": "Teacher nucleus sampling top-p."})
    max_tokens: int = field(default=4096, metadata={"help": "Maximum new tokens per trace."})
    limit: int | None = field(default=None, metadata={"help": "Only the first N input rows."})
    batch_size: int = field(default=32, metadata={"help": "Prompts per backend call."})
    input_format: InputFormat = field(
        default="auto", metadata={"help": "Input rows: auto | judgelm | pandalm.", "cli": False}
    )
    mode: str = field(default="reference", metadata={"help": "Teacher prompt mode.", "cli": False})
    #: ``None``: ``judgelrm_7b`` in reference mode (lrm_process.py's names), else ``judgelrm``
    file_prefix: str | None = field(
        default=None, metadata={"help": "Output file name prefix.", "cli": False}
    )

    def __post_init__(self) -> None:
        if not self.seeds:
            raise InputError("give at least one seed", field="seeds")
        if self.batch_size < 1:
            raise InputError("batch_size must be >= 1", field="batch_size")
        if self.limit is not None and self.limit < 0:
            raise InputError("limit must be >= 0", field="limit")

    @property
    def prefix(self) -> str:
        if self.file_prefix is not None:
            return self.file_prefix
        return REFERENCE_PREFIX if self.mode == "reference" else "judgelrm"

    @property
    def ensure_ascii(self) -> bool:
        """Reference files escape non-ASCII as the authors' ``json.dumps`` does."""
        return self.mode == "reference"


@dataclass
class GenerateReport:
    """What a run did, per output file."""

    files: list[Path] = field(default_factory=list)
    generated: dict[str, int] = field(default_factory=dict)
    resumed: dict[str, int] = field(default_factory=dict)
    from_store: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    tokens: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": [str(f) for f in self.files],
            "generated": self.generated,
            "resumed": self.resumed,
            "from_store": self.from_store,
            "failed": self.failed,
            "generated_tokens": self.tokens,
            "problems": len(self.problems),
            "first_problems": self.problems[:20],
        }


def output_name(seed: int, temperature: float, prefix: str = REFERENCE_PREFIX) -> str:
    """``{prefix}_{seed}_{temperature}.jsonl`` with the temperature as Python ``str``
    (``judgelrm_7b_13_0.1.jsonl``)."""
    return f"{prefix}_{seed}_{temperature}.jsonl"


def teacher_prompt(record: CurateRecord, mode: str = "reference") -> str:
    """The teacher prompt: P-01 + P-02 in ChatML (P-14) followed by ``<think>\\n``."""
    return _teacher_rendered(record, mode).text


def _teacher_rendered(record: CurateRecord, mode: str) -> RenderedPrompt:
    inputs = PromptInputs(record.question, [record.answer1, record.answer2], family="text")
    return get_protocol(TEACHER_PROTOCOL).render(
        inputs,
        mode=mode,  # type: ignore[arg-type]
        record=record.record_id,
    )


def _count_complete_lines(path: Path) -> int:
    """Number of complete, valid JSON lines; a torn tail is cut off the file."""
    if not path.exists():
        return 0
    good_bytes = 0
    count = 0
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                break
            try:
                json.loads(raw)
            except ValueError:
                break
            good_bytes += len(raw)
            count += 1
    if good_bytes != path.stat().st_size:
        with path.open("r+b") as handle:
            handle.truncate(good_bytes)
    return count


def _token_ids(completion: Completion, backend: Backend) -> list[int]:
    if completion.token_ids is not None:
        return list(completion.token_ids)
    # backends without ids (mock; some servers): a deterministic stand-in, one id per word,
    # so len(tokens) is the backend's token count when it reports one
    words = completion.text.split()
    ids = [zlib.crc32(w.encode()) % _PSEUDO_VOCAB for w in words]
    n = completion.num_tokens or len(ids)
    return (ids + [0] * n)[:n] if backend.name == "mock" else ids


def _store_key(backend: Backend, prompt: str, sampling: SamplingParams) -> str:
    payload = json.dumps(
        {"backend": backend.fingerprint(), "prompt": prompt, "sampling": sampling.to_dict()},
        sort_keys=True,
    )
    return "curate:" + hashlib.sha256(payload.encode()).hexdigest()


def _batched(items: Iterator[CurateRecord | Problem], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def generate(
    backend: Backend,
    input_path: str | Path,
    out_dir: str | Path,
    config: GenerateConfig | None = None,
    *,
    store: ResultCache | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> GenerateReport:
    """Run the teacher on every input row for every seed; see the module docstring.

    Failures: an unreadable input file raises :class:`InputError`; a bad input line, a
    prompt that cannot be rendered or a failed completion is written as an error line (and
    listed in the report) and the run goes on.  A :class:`~flexjudge.errors.BackendError`
    raised for a whole batch propagates after the lines written so far are flushed, so a
    rerun resumes there.
    """
    cfg = config or GenerateConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report = GenerateReport()
    for seed in cfg.seeds:
        path = out / output_name(seed, cfg.temperature, cfg.prefix)
        report.files.append(path)
        key = path.name
        done = _count_complete_lines(path)
        report.resumed[key] = done
        counts = {"generated": 0, "store": 0, "failed": 0, "tokens": 0}
        sampling = SamplingParams(
            temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens, seed=seed
        )
        records = _limited(iter_records(input_path, cfg.input_format), cfg.limit)
        with path.open("a", encoding="utf-8") as handle:
            position = 0
            for batch in _batched(records, cfg.batch_size):
                todo = [item for item in batch if item.index >= done]
                position += len(batch)
                if not todo:
                    continue
                lines = _run_batch(backend, todo, sampling, cfg, store, report, counts)
                handle.write("".join(lines))
                handle.flush()
                if progress is not None:
                    progress(key, position)
        report.generated[key] = counts["generated"]
        report.from_store[key] = counts["store"]
        report.failed[key] = counts["failed"]
        report.tokens[key] = counts["tokens"]
    return report


def _limited(
    items: Iterator[CurateRecord | Problem], limit: int | None
) -> Iterator[CurateRecord | Problem]:
    for item in items:
        if limit is not None and item.index >= limit:
            return
        yield item


def _error_line(message: str) -> str:
    return json.dumps({"prompt": None, "text": None, "tokens": [], "error": message}) + "\n"


def _run_batch(
    backend: Backend,
    items: Sequence[CurateRecord | Problem],
    sampling: SamplingParams,
    cfg: GenerateConfig,
    store: ResultCache | None,
    report: GenerateReport,
    counts: dict[str, int],
) -> list[str]:
    lines: list[str | None] = [None] * len(items)
    pending: list[tuple[int, RenderedPrompt, str]] = []  # (slot, prompt, store key)
    for slot, item in enumerate(items):
        if isinstance(item, Problem):
            report.problems.append(str(item))
            counts["failed"] += 1
            lines[slot] = _error_line(item.reason)
            continue
        try:
            rendered = _teacher_rendered(item, cfg.mode)
            prompt = rendered.text
        except InputError as exc:
            report.problems.append(f"record {item.record_id}: {exc}")
            counts["failed"] += 1
            lines[slot] = _error_line(str(exc))
            continue
        skey = _store_key(backend, prompt, sampling) if store is not None else ""
        cached = store.get(skey) if store is not None else None
        if isinstance(cached, dict) and isinstance(cached.get("text"), str):
            counts["store"] += 1
            counts["tokens"] += len(cached.get("tokens") or [])
            lines[slot] = (
                json.dumps({"prompt": prompt, **cached}, ensure_ascii=cfg.ensure_ascii) + "\n"
            )
            continue
        pending.append((slot, rendered, skey))
    if pending:
        requests = []
        for _, r, _ in pending:  # clean mode: the question and answers are data
            untrusted, turns = request_structure(r, cfg.mode)
            requests.append(
                GenerationRequest(r.text, sampling=sampling, untrusted=untrusted, turns=turns)
            )
        results = backend.generate(requests)
        for (slot, rendered, skey), completions in zip(pending, results, strict=True):
            prompt = rendered.text
            completion = completions[0]
            if completion.finish_reason == "error":
                report.problems.append(f"position {items[slot].index}: {completion.text}")
                counts["failed"] += 1
                lines[slot] = _error_line(completion.text)
                continue
            tokens = _token_ids(completion, backend)
            value = {
                "text": completion.text.strip().removesuffix("<|im_end|>").rstrip(),
                "tokens": tokens,
                "num_tokens": len(tokens),
                "finish_reason": completion.finish_reason,
            }
            if store is not None:
                store.put(skey, value)
            counts["generated"] += 1
            counts["tokens"] += len(tokens)
            lines[slot] = (
                json.dumps({"prompt": prompt, **value}, ensure_ascii=cfg.ensure_ascii) + "\n"
            )
    return [line for line in lines if line is not None]
