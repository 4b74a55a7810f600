"""Streaming readers for curation inputs: JudgeLM-100K and PandaLM records, teacher generations.

Every reader yields one entry per *position* in the file (JSONL line or JSON-list element),
so files made by the teacher stay aligned with their input by index.  A position that cannot
be read (bad JSON, wrong schema) is yielded as a :class:`Problem` naming ``file:line``; the
caller counts it and goes on, so one bad line never stops a 100K-row run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from flexjudge._util.json import loads as _loads
from flexjudge.errors import InputError

InputFormat = Literal["auto", "judgelm", "pandalm"]
_CHUNK = 1 << 16
_BOM = b"\xef\xbb\xbf"
_READ_BUFFER = 1 << 20  # teacher lines are ~10 KB: the default 8 KB buffer reads 4x slower


@dataclass(frozen=True)
class Problem:
    """A position that could not be used: ``where`` is ``file:line``."""

    index: int
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass(frozen=True)
class CurateRecord:
    """One pairwise item to judge.

    ``reference_scores`` is the GPT-4 pair ``[s1, s2]`` of JudgeLM (``None`` for PandaLM);
    ``reference_label`` is 1 (answer 1 better), 2 (answer 2 better) or 0 (tie): the
    annotators' majority for PandaLM, derived from the scores for JudgeLM.
    """

    index: int
    record_id: str
    question: str
    answer1: str
    answer2: str
    reference_scores: tuple[float, float] | None
    reference_label: int | None


def fast_loads() -> Callable[[bytes], Any]:
    """``orjson.loads`` when orjson is installed (``flexjudge[fast]``, about 3x faster on
    teacher files), else ``json.loads``.  Both raise ``json.JSONDecodeError`` subclasses."""
    from flexjudge._util.json import loads

    return loads


@dataclass(frozen=True)
class Span:
    """The positions ``start <= index < stop`` of a file (``stop=None``: to the end)."""

    start: int = 0
    stop: int | None = None


def iter_json_objects(
    path: str | Path,
    loads: Callable[[bytes], Any] | None = None,
    *,
    span: Span | None = None,
) -> Iterator[tuple[int, int, Any]]:
    """Yield ``(index, line_number, value_or_exception)`` for a JSONL file or a JSON list.

    JSONL lines are read as bytes and decoded with ``loads`` (default :func:`fast_loads`).
    A JSONL line that is not valid JSON (or not UTF-8) yields a ``json.JSONDecodeError`` in
    place of the value; blank lines are skipped but still counted in line numbers (not in
    indices).  With ``span`` only those positions are decoded (earlier lines are skipped
    unparsed, with exact line numbers), so several processes can share a file.  A JSON
    list is decoded element by element without loading the file; a syntax error inside the
    list yields the error once and ends the file (there is no way to resynchronise).
    Raises :class:`InputError` when the file cannot be opened.
    """
    p = Path(path)
    try:
        handle = p.open("rb", buffering=_READ_BUFFER)
    except OSError as exc:
        raise InputError(f"cannot open {p}: {exc.strerror or exc}", field="path") from exc
    with handle:
        if _first_byte(handle) == b"[":
            if span is not None and span != Span():
                raise InputError(f"{p} is a JSON list: it cannot be read in parts", field="path")
            with p.open("r", encoding="utf-8-sig") as text:
                while text.read(1) != "[":  # the list reader starts after the bracket
                    pass
                yield from _iter_json_list(text)
            return
        span = span or Span()
        handle.seek(0)
        decode = loads or fast_loads()
        index = 0
        for line_number, line in enumerate(handle, start=1):
            if line_number == 1:
                line = line.removeprefix(_BOM)
            if line.isspace() or not line:
                continue
            if index < span.start:
                index += 1
                continue
            if span.stop is not None and index >= span.stop:
                break
            try:
                value: Any = decode(line)
            except json.JSONDecodeError as exc:
                value = exc
            except UnicodeDecodeError as exc:  # json.loads on bytes; orjson raises the above
                value = json.JSONDecodeError(f"not UTF-8 ({exc.reason})", "", exc.start)
            yield index, line_number, value
            index += 1


def _first_byte(handle: Any) -> bytes:
    if handle.read(3) != _BOM:
        handle.seek(0)
    while True:
        ch: bytes = handle.read(1)
        if not ch or not ch.isspace():
            return ch


def _iter_json_list(handle: Any) -> Iterator[tuple[int, int, Any]]:
    decoder = json.JSONDecoder()
    buf = ""
    pos = 0
    line = 1  # line number at buf[pos]
    index = 0
    eof = False
    while True:
        # skip whitespace and separators, refilling the buffer as needed
        while True:
            while pos < len(buf) and (buf[pos].isspace() or buf[pos] == ","):
                line += buf[pos] == "\n"
                pos += 1
            if pos < len(buf) or eof:
                break
            buf, pos = handle.read(_CHUNK), 0
            eof = not buf
        if pos >= len(buf) or buf[pos] == "]":
            return
        while True:
            try:
                value, end = decoder.raw_decode(buf, pos)
                break
            except json.JSONDecodeError as exc:
                if eof:
                    yield index, line, exc
                    return
                more = handle.read(_CHUNK)
                eof = not more
                buf, pos = buf[pos:] + more, 0
        if end == len(buf) and not eof:
            # a number or literal may continue in the next chunk: re-decode with more text
            more = handle.read(_CHUNK)
            if more:
                buf, pos = buf[pos:] + more, 0
                continue
            eof = True
        yield index, line, value
        line += buf.count("\n", pos, end)
        pos = end
        index += 1
        if pos > _CHUNK:
            buf, pos = buf[pos:], 0


def _text(obj: dict[str, Any], name: str, where: str, *, scalars: bool = False) -> str:
    """``obj[name]`` as a string; with ``scalars`` a bool or number is formatted as Python's
    ``str`` does (as the reference's ``format`` call would: PandaLM has a few ``true``
    responses); anything else raises :class:`InputError` naming the field."""
    value = obj.get(name)
    if scalars and isinstance(value, bool | int | float):
        return str(value)
    if not isinstance(value, str):
        got = "missing" if value is None else type(value).__name__
        raise InputError(f"expected a string, got {got}", record=where, field=name)
    return value


def _label_from_scores(s1: float, s2: float) -> int:
    return 1 if s1 > s2 else 2 if s2 > s1 else 0


def judgelm_record(obj: Any, index: int, where: str) -> CurateRecord:
    """Adapt one JudgeLM-100K object.  Raises :class:`InputError` naming the field."""
    if type(obj) is dict:  # the common case (strings and two int scores), checked fast
        q, a1, a2 = obj.get("question_body"), obj.get("answer1_body"), obj.get("answer2_body")
        score = obj.get("score")
        if (
            isinstance(q, str)
            and isinstance(a1, str)
            and isinstance(a2, str)
            and type(score) is list
            and len(score) == 2
            and type(score[0]) is int
            and type(score[1]) is int
        ):
            s1, s2 = score
            rid = obj.get("question_id", index)
            return CurateRecord(index, str(rid), q, a1, a2, (s1, s2), _label_from_scores(s1, s2))
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {type(obj).__name__}", record=where)
    question = _text(obj, "question_body", where)
    a1 = _text(obj, "answer1_body", where, scalars=True)
    a2 = _text(obj, "answer2_body", where, scalars=True)
    score = obj.get("score")
    scores: tuple[float, float] | None = None
    if score is not None:
        ok = isinstance(score, list) and len(score) == 2
        ok = ok and all(isinstance(s, int | float) and not isinstance(s, bool) for s in score)
        if not ok:
            raise InputError(
                f"expected [s1, s2] numbers, got {score!r}", record=where, field="score"
            )
        scores = (score[0], score[1])
    rid = obj.get("question_id", index)
    label = _label_from_scores(*scores) if scores is not None else None
    return CurateRecord(index, str(rid), question, a1, a2, scores, label)


def pandalm_record(obj: Any, index: int, where: str) -> CurateRecord:
    """Adapt one PandaLM object: question = instruction, plus a blank line and the input
    when the input is not empty; label = the annotators' majority (no majority → ``None``).
    Raises :class:`InputError` naming the field."""
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {type(obj).__name__}", record=where)
    instruction = _text(obj, "instruction", where)
    extra = obj.get("input") or ""
    if not isinstance(extra, str):
        raise InputError("expected a string", record=where, field="input")
    question = instruction + ("\n\n" + extra if extra else "")
    a1 = _text(obj, "response1", where, scalars=True)
    a2 = _text(obj, "response2", where, scalars=True)
    votes = [obj.get(f"annotator{i}") for i in (1, 2, 3)]
    label = majority_label(votes)
    rid = obj.get("idx", index)
    return CurateRecord(index, str(rid), question, a1, a2, None, label)


def majority_label(votes: list[Any]) -> int | None:
    """The label given by at least two of three annotators (0/1/2), else ``None``."""
    clean = [v for v in votes if isinstance(v, int) and not isinstance(v, bool) and v in (0, 1, 2)]
    for label in (0, 1, 2):
        if clean.count(label) >= 2:
            return label
    return None


def detect_format(obj: Any) -> InputFormat:
    if isinstance(obj, dict) and "response1" in obj:
        return "pandalm"
    return "judgelm"


def iter_records(
    path: str | Path, input_format: InputFormat = "auto", span: Span | None = None
) -> Iterator[CurateRecord | Problem]:
    """Yield one :class:`CurateRecord` or :class:`Problem` per position of ``path``.

    ``input_format="auto"`` decides from the first readable object (``response1`` → PandaLM).
    """
    name = str(path)
    fmt = input_format
    for index, line, value in iter_json_objects(path, span=span):
        where = f"{name}:{line}"
        if isinstance(value, json.JSONDecodeError):
            yield Problem(index, where, f"invalid JSON ({value.msg} at column {value.colno})")
            continue
        if fmt == "auto":
            fmt = detect_format(value)
        adapt = pandalm_record if fmt == "pandalm" else judgelm_record
        try:
            yield adapt(value, index, where)
        except InputError as exc:
            yield Problem(index, where, _reason(exc))


def _reason(exc: InputError) -> str:
    return f"field {exc.field!r}: {exc.message}" if exc.field else exc.message


@dataclass(frozen=True)
class Generation:
    """One teacher generation in the reference layout (spec §4)."""

    index: int
    prompt: str
    text: str
    num_tokens: int


def generation_from(obj: Any, index: int, where: str, line: int | None = None) -> Generation:
    """Read ``prompt``, ``text`` and the token count (``len(tokens)``; else ``num_tokens``;
    else the whitespace word count).  Raises :class:`InputError` naming the field and
    ``where`` (``where:line`` when ``line`` is given)."""
    if type(obj) is dict:  # the common case (reference layout), checked fast
        prompt, text, tokens = obj.get("prompt"), obj.get("text"), obj.get("tokens")
        if (
            isinstance(prompt, str)
            and isinstance(text, str)
            and isinstance(tokens, TokenCount)
            and tokens > 0
        ):
            return Generation(index, prompt, text, int(tokens))
    if line is not None:
        where = f"{where}:{line}"
    if not isinstance(obj, dict):
        raise InputError(f"expected a JSON object, got {type(obj).__name__}", record=where)
    if obj.get("error") is not None and obj.get("text") is None:
        raise InputError(f"generation failed: {obj['error']}", record=where, field="text")
    prompt = _text(obj, "prompt", where)
    text = _text(obj, "text", where)
    tokens = obj.get("tokens")
    if isinstance(tokens, TokenCount) and tokens > 0:
        count = int(tokens)
    elif isinstance(tokens, list) and tokens:
        count = len(tokens)
    elif isinstance(obj.get("num_tokens"), int):
        count = obj["num_tokens"]
    else:
        count = len(text.split())
    return Generation(index, prompt, text, count)


class TokenCount(int):
    """The length of a generation's ``tokens`` list, counted without decoding the list."""


_CUT_TEXT = "\x00flexjudge: token ids counted, not decoded"
_CUT = json.dumps(_CUT_TEXT).encode()  # a string no teacher output contains
_NOT_SCALAR = (b'"', b"[")  # a string or list inside; objects have string keys


def loads_generation(line: bytes) -> Any:
    """Decode a generation line, replacing a flat ``tokens`` list of scalars by its
    :class:`TokenCount`: the ids are a third of a teacher file and only their number is
    used.  Anything else (no such key, strings or nested items, a ``tokens`` key in a
    nested object) is decoded in full, so the count is always ``len(tokens)``.  The ids
    themselves are not parsed: a malformed id list such as ``[1,,2]`` is counted, not
    reported as invalid JSON."""
    key = line.rfind(b'"tokens"')
    if key < 0:
        return _loads(line)
    colon = _skip_blanks(line, key + 8)
    start = _skip_blanks(line, colon + 1) if line[colon : colon + 1] == b":" else -1
    end = line.find(b"]", start) if line[start : start + 1] == b"[" else -1
    # no string, list or object inside: every comma separates two scalars
    if end < 0 or any(line.find(c, start + 1, end) >= 0 for c in _NOT_SCALAR):
        return _loads(line)
    whole = memoryview(line)
    obj = _loads(b"".join((whole[:start], _CUT, whole[end + 1 :])))
    if not isinstance(obj, dict) or obj.get("tokens") != _CUT_TEXT:
        return _loads(line)
    commas = line.count(b",", start + 1, end)
    obj["tokens"] = TokenCount(commas + 1 if commas or line[start + 1 : end].strip() else 0)
    return obj


def _skip_blanks(line: bytes, pos: int) -> int:
    while line[pos : pos + 1] in (b" ", b"\t"):
        pos += 1
    return pos


def iter_generations(path: str | Path, span: Span | None = None) -> Iterator[Generation | Problem]:
    """Yield one :class:`Generation` or :class:`Problem` per position of a generation file
    (of ``span`` of it)."""
    name = str(path)
    for index, line, value in iter_json_objects(path, loads_generation, span=span):
        if isinstance(value, json.JSONDecodeError):
            where = f"{name}:{line}"
            yield Problem(index, where, f"invalid JSON ({value.msg} at column {value.colno})")
            continue
        try:
            yield generation_from(value, index, name, line)
        except InputError as exc:
            yield Problem(index, f"{name}:{line}", _reason(exc))
