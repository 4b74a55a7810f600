"""Our hand-built ChatML (P-14) equals what the real Qwen2.5-VL tokenizer/template renders."""

from __future__ import annotations

import json

import pytest

from conftest import shared_path
from flexjudge.protocol import PromptInputs, get_protocol


@pytest.fixture(scope="module")
def qwen_vl_tokenizer():  # type: ignore[no-untyped-def]
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    d = shared_path("data", "hf-configs", "Qwen2.5-VL-7B-Instruct")
    config = json.loads((d / "tokenizer_config.json").read_text())
    tok = Qwen2Tokenizer(
        vocab_file=str(d / "vocab.json"),
        merges_file=str(d / "merges.txt"),
        unk_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    added = sorted(config["added_tokens_decoder"].items(), key=lambda kv: int(kv[0]))
    tok.add_tokens(
        [AddedToken(v["content"], special=v["special"], normalized=False) for _, v in added],
        special_tokens=True,
    )
    tok.chat_template = json.loads((d / "chat_template.json").read_text())["chat_template"]
    return tok


def _mllm_pair_item() -> dict[str, object]:
    line = shared_path("data", "mllm-judge", "pair_sample.jsonl").read_text().splitlines()[0]
    return json.loads(line)  # type: ignore[no-any-return]


def test_mllm_pair_prompt_matches_qwen_template(qwen_vl_tokenizer) -> None:  # type: ignore[no-untyped-def]
    item = _mllm_pair_item()
    protocol = get_protocol("mllm-judge/pair")
    rendered = protocol.render(
        PromptInputs(
            item["instruction"],
            [item["answer1"]["answer"], item["answer2"]["answer"]],  # type: ignore[index]
            n_images=1,
        ),
        mode="reference",
    )
    messages = [
        {"role": "system", "content": rendered.system},
        {"role": "user", "content": [{"type": "text", "text": rendered.user}]},
    ]
    via_template = qwen_vl_tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=True
    )
    assert via_template == rendered.text
    expected = (
        "<|im_start|>system\n" + protocol.system("reference", None) + "<|im_end|>\n"
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>\n\n[Question]\n"
        + item["instruction"]
        + "\n\n[Assistant 1's Answer]\n"
        + item["answer1"]["answer"]  # type: ignore[index, operator]
        + "\n\n[Assistant 2's Answer]\n"
        + item["answer2"]["answer"]  # type: ignore[index]
        + "<|im_end|>\n<|im_start|>assistant\n"
    )
    assert rendered.text == expected
    # the real vocabulary keeps every protocol token atomic
    ids = qwen_vl_tokenizer(rendered.text, add_special_tokens=False)["input_ids"]
    assert ids[0] == qwen_vl_tokenizer.convert_tokens_to_ids("<|im_start|>")
    assert ids.count(qwen_vl_tokenizer.convert_tokens_to_ids("<|image_pad|>")) == 1
