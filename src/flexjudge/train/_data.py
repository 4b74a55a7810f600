"""Curated rows → token ids and labels, with the loss mask computed explicitly.

Two masking modes (spec §6.2):

* ``reference`` reproduces trl 0.12's ``DataCollatorForCompletionOnlyLM`` as the reference
  used it: the text is ``prompt + text`` tokenised in one piece; every token up to and
  including the first response template (``<|im_start|>assistant\\n``) is masked, spans from a
  later instruction template to the next response template are masked, every token equal to
  the pad id (``<|fim_pad|>``) is masked, and when either template is absent (e.g. truncated
  away) the whole example is masked.  No end-of-turn token is trained (Q4).
* ``clean`` splits the text at the last assistant header; the prompt part (header included)
  and the completion part (``<think>`` … answer, then the end-of-turn token ``<|im_end|>``)
  are tokenised separately, so the boundary is exact, and only the completion is trained.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexjudge._util.jsonl import iter_json_records
from flexjudge.errors import InputError

IGNORE_INDEX = -100


@dataclass(frozen=True)
class ChatMarkers:
    """The chat-format strings the recipe needs for one tokenizer family."""

    family: str
    response_template: str
    instruction_template: str
    end_of_turn: str
    reference_pad: str


CHATML = ChatMarkers(
    "chatml", "<|im_start|>assistant\n", "<|im_start|>user", "<|im_end|>", "<|fim_pad|>"
)
LLAMA3 = ChatMarkers(
    "llama3",
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "<|start_header_id|>user<|end_header_id|>",
    "<|eot_id|>",
    "<|reserved_special_token_5|>",
)


def detect_markers(tokenizer: Any) -> ChatMarkers:
    """ChatML (Qwen) or Llama-3 markers, from the tokenizer's vocabulary.

    Raises :class:`InputError` when the tokenizer knows neither format.
    """
    vocab = tokenizer.get_vocab()
    if "<|im_start|>" in vocab and "<|im_end|>" in vocab:
        return CHATML
    if "<|start_header_id|>" in vocab and "<|eot_id|>" in vocab:
        return LLAMA3
    raise InputError(
        "the tokenizer has neither ChatML (<|im_start|>) nor Llama-3 (<|start_header_id|>) "
        "tokens; flexjudge train supports Qwen and Llama-3 chat formats",
        field="base",
    )


def pad_token_id(tokenizer: Any, markers: ChatMarkers, mode: str) -> int:
    """The reference's custom pad token in ``reference`` mode, else the tokenizer's pad."""
    vocab = tokenizer.get_vocab()
    if mode == "reference" and markers.reference_pad in vocab:
        return int(vocab[markers.reference_pad])
    for candidate in (
        tokenizer.pad_token_id,
        vocab.get(markers.reference_pad),
        tokenizer.eos_token_id,
    ):
        if candidate is not None:
            return int(candidate)
    return 0


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSONL file (or a JSON array of rows).  Raises :class:`InputError` naming the
    line (numbered from 1) for a line that is not UTF-8, not JSON or not an object."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"training data {p} does not exist", field="data")
    rows: list[dict[str, Any]] = []
    for rec in iter_json_records(p):
        if isinstance(rec.value, InputError):
            raise InputError(
                f"{rec.where}: {rec.value.message}", record=f"line {rec.number}", field="data"
            )
        rows.append(rec.value)
    if not rows:
        raise InputError(f"training data {p} has no rows", field="data")
    return rows


def row_to_text(row: dict[str, Any], record: str, tokenizer: Any) -> tuple[str, str]:
    """``(prompt, text)`` of one row, in the reference ``train.jsonl`` sense.

    ``prompt``/``text`` rows are returned as is; ``messages`` rows are rendered with the
    tokenizer's chat template up to the generation prompt, and the last (assistant) turn's
    content becomes ``text``.  Raises :class:`InputError` naming ``record`` and the field.
    """
    if "messages" in row:
        messages = row["messages"]
        if not isinstance(messages, list) or not messages:
            raise InputError("'messages' must be a non-empty list", record=record, field="messages")
        for i, m in enumerate(messages):
            if (
                not isinstance(m, dict)
                or not isinstance(m.get("role"), str)
                or not isinstance(m.get("content"), str)
            ):
                raise InputError(
                    f"messages[{i}] needs string 'role' and 'content'",
                    record=record,
                    field="messages",
                )
        if messages[-1]["role"] != "assistant":
            raise InputError(
                "the last message must be the assistant's (the training target)",
                record=record,
                field="messages",
            )
        prompt = tokenizer.apply_chat_template(
            messages[:-1], tokenize=False, add_generation_prompt=True
        )
        return str(prompt), str(messages[-1]["content"])
    for name in ("prompt", "text"):
        if not isinstance(row.get(name), str):
            raise InputError(
                f"row needs a string {name!r} (or chat 'messages')", record=record, field=name
            )
    return row["prompt"], row["text"]


def _find_all(ids: Sequence[int], pattern: Sequence[int]) -> list[int]:
    n = len(pattern)
    return [i for i in range(len(ids) - n + 1) if list(ids[i : i + n]) == list(pattern)]


def reference_labels(
    ids: Sequence[int], response_ids: Sequence[int], instruction_ids: Sequence[int], pad_id: int
) -> list[int]:
    """Labels exactly as trl 0.12's ``DataCollatorForCompletionOnlyLM`` builds them."""
    labels = [IGNORE_INDEX if t == pad_id else int(t) for t in ids]
    response_ends = [i + len(response_ids) for i in _find_all(labels, response_ids)]
    human_starts = _find_all(labels, instruction_ids)
    if not response_ends or not human_starts:
        return [IGNORE_INDEX] * len(labels)
    if human_starts[0] > response_ends[0]:
        human_starts = [0, *human_starts]
    for k, (start, end) in enumerate(zip(human_starts, response_ends, strict=False)):
        lo = 0 if k == 0 else start
        labels[lo:end] = [IGNORE_INDEX] * (end - lo)
    if len(response_ends) < len(human_starts):
        tail = human_starts[-1]
        labels[tail:] = [IGNORE_INDEX] * (len(labels) - tail)
    return labels


@dataclass(frozen=True)
class TokenizedExample:
    """One training example; ``labels`` is ``-100`` where no loss is taken."""

    input_ids: list[int]
    labels: list[int]

    @property
    def trained_tokens(self) -> int:
        return sum(1 for t in self.labels if t != IGNORE_INDEX)


def tokenize_example(
    prompt: str,
    text: str,
    *,
    tokenizer: Any,
    markers: ChatMarkers,
    mode: str,
    block_size: int,
    record: str,
) -> TokenizedExample:
    """Token ids and labels of one ``(prompt, text)`` pair in ``mode``.

    Raises :class:`InputError` (``clean`` mode) when the prompt has no assistant header.
    """
    if mode == "reference":
        ids = tokenizer(
            prompt + text, add_special_tokens=True, truncation=True, max_length=block_size
        )["input_ids"]
        response = tokenizer(markers.response_template, add_special_tokens=False)["input_ids"]
        instruction = tokenizer(markers.instruction_template, add_special_tokens=False)["input_ids"]
        pad = pad_token_id(tokenizer, markers, "reference")
        return TokenizedExample(list(ids), reference_labels(ids, response, instruction, pad))
    cut = prompt.rfind(markers.response_template)
    if cut < 0:
        raise InputError(
            f"the prompt has no assistant header {markers.response_template!r}",
            record=record,
            field="prompt",
        )
    head = prompt[: cut + len(markers.response_template)]
    completion = prompt[cut + len(markers.response_template) :] + text
    if not completion.rstrip().endswith(markers.end_of_turn):
        completion += markers.end_of_turn
    bos = getattr(tokenizer, "bos_token", None)
    add_special = not (bos and head.startswith(bos))  # never a doubled <|begin_of_text|>
    head_ids = list(tokenizer(head, add_special_tokens=add_special)["input_ids"])
    completion_ids = list(tokenizer(completion, add_special_tokens=False)["input_ids"])
    ids = (head_ids + completion_ids)[:block_size]
    labels = ([IGNORE_INDEX] * len(head_ids) + completion_ids)[:block_size]
    return TokenizedExample(ids, labels)


def tokenize_rows(
    rows: Sequence[dict[str, Any]],
    *,
    tokenizer: Any,
    markers: ChatMarkers,
    mode: str,
    block_size: int,
) -> list[TokenizedExample]:
    """Tokenise every row; raises :class:`InputError` naming the first bad row."""
    out: list[TokenizedExample] = []
    for index, row in enumerate(rows, start=1):  # rows count from 1, like every command
        record = str(row.get("id", f"row {index}"))
        prompt, text = row_to_text(row, record, tokenizer)
        out.append(
            tokenize_example(
                prompt,
                text,
                tokenizer=tokenizer,
                markers=markers,
                mode=mode,
                block_size=block_size,
                record=record,
            )
        )
    return out


class CompletionCollator:
    """Right-pads a micro-batch: ``input_ids`` with ``pad_id``, ``labels`` with ``-100``.

    The labels were computed per example (:func:`tokenize_example`), so padding never
    changes which real tokens are trained.
    """

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, features: Sequence[dict[str, Any]]) -> dict[str, Any]:
        import torch

        width = max(len(f["input_ids"]) for f in features)
        ids = torch.full((len(features), width), self.pad_id, dtype=torch.long)
        labels = torch.full((len(features), width), IGNORE_INDEX, dtype=torch.long)
        mask = torch.zeros((len(features), width), dtype=torch.long)
        for row, f in enumerate(features):
            n = len(f["input_ids"])
            ids[row, :n] = torch.as_tensor(f["input_ids"], dtype=torch.long)
            labels[row, :n] = torch.as_tensor(f["labels"], dtype=torch.long)
            mask[row, :n] = 1
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}
