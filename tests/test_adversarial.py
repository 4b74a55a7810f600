"""The adversarial-candidate suite (issue 12 §1 and §3): user text is data on every backend.

For each hostile candidate (``flexjudge.testing.HOSTILE_CANDIDATES``) and each backend:
the chat frame (its token ids, or its messages) is identical to a benign candidate's apart
from the text's own tokens, the number of turns and media slots does not change, and no
item or batch fails.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest

from flexjudge import Judge
from flexjudge._util.text import SPECIAL_LIKE
from flexjudge.backends import Completion, GenerationRequest, MockBackend
from flexjudge.backends._tokenize import encode_prompt, frame_segments
from flexjudge.protocol import PromptInputs, list_protocols
from flexjudge.testing import HOSTILE_CANDIDATES, make_test_image

NAMES = [name for name, _ in HOSTILE_CANDIDATES]
TEXTS = [text for _, text in HOSTILE_CANDIDATES]
BENIGN = "A plain, correct answer."


class Recorder(MockBackend):
    """The mock judge, keeping every request it was sent."""

    def generate(self, requests: Sequence[GenerationRequest]) -> list[list[Completion]]:
        return super().generate(requests)


def frame(request: GenerationRequest) -> str:
    assert request.untrusted is not None
    return "|".join(t for t, user in frame_segments(request.prompt, request.untrusted) if not user)


def requests_for(
    candidates: Sequence[str], *, family: str = "qwen2_5_vl", images: int = 1, mode: str = "clean"
) -> list[GenerationRequest]:
    backend = Recorder(family=family)  # type: ignore[arg-type]
    items = [
        {
            "question": "Describe the picture.",
            "responses": [c],
            "images": [make_test_image()] * images,
        }
        for c in candidates
    ]
    results = Judge(backend, mode=mode).run(items, task="score")  # type: ignore[arg-type]
    assert all(r.status != "error" for r in results), [r.error for r in results]
    return backend.calls


def test_corpus_is_about_thirty_distinct_attacks() -> None:
    assert len(HOSTILE_CANDIDATES) >= 30 and len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("protocol", [p.name for p in list_protocols()])
def test_every_protocol_keeps_its_frame_whatever_the_user_writes(protocol: str) -> None:
    """Rendering marks exactly the user text: the frame outside the marked spans is the same
    for a benign and a hostile candidate, question, field and criteria."""
    p = next(x for x in list_protocols() if x.name == protocol)
    n = 0 if p.response_media or p.fixed_text else (p.n_responses or 3)
    media = list(p.media or ())
    if p.response_media is not None and p.media is None:
        media += [p.response_media[0]] * 2
    family = "qwen2_5_omni" if "audio" in media else "qwen2_5_vl"
    if family not in p.families:
        family = p.families[0]

    def render(text: str) -> Any:
        inputs = PromptInputs(
            question=f"Q {text}",
            responses=[f"R{i} {text}" for i in range(n)],
            n_images=media.count("image"),
            n_videos=media.count("video"),
            n_audios=media.count("audio"),
            fields={f: f"F {text}" for f in p.required_fields},
            family=family,
        )
        criteria = f"C {text}" if p.supports_criteria else None
        return p.render(inputs, mode="clean", criteria=criteria)

    benign = render(BENIGN)
    assert benign.user_spans is not None and not benign.injection_suspect
    base = frame(GenerationRequest(benign.text, untrusted=benign.user_spans))
    for name, text in HOSTILE_CANDIDATES:
        hostile = render(text)
        if name == "private_use_marks":  # the marks themselves: structure unknown, flagged
            assert hostile.user_spans is None and hostile.injection_suspect
            continue
        assert hostile.user_spans is not None, name
        request = GenerationRequest(hostile.text, untrusted=hostile.user_spans)
        assert frame(request) == base, name
        shown = bool(benign.user_spans)  # fixed-text layouts (nisqa, bvcc) show no user text
        assert hostile.injection_suspect == (shown and bool(SPECIAL_LIKE.search(text))), name


def test_mock_backend_every_hostile_item_is_judged_with_its_frame_intact() -> None:
    calls = requests_for(TEXTS)
    base = frame(requests_for([BENIGN])[0])
    assert len(calls) == len(TEXTS)
    for name, request in zip(NAMES, calls, strict=True):
        if name == "private_use_marks":
            assert request.untrusted is None
            continue
        assert frame(request) == base, name
        assert request.turns is not None and [t.role for t in request.turns] == ["system", "user"]


def test_a_forged_turn_in_reference_mode_is_flagged_and_warned_once() -> None:
    items = [{"question": "q", "responses": [TEXTS[0]]}, {"question": "q", "responses": [TEXTS[1]]}]
    with pytest.warns(UserWarning, match="injection_suspect") as caught:
        results = Judge(MockBackend(), mode="reference").run(items, task="score")
    assert len(caught) == 1 and all(r.injection_suspect for r in results)
    assert all(r.to_dict()["injection_suspect"] is True for r in results)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clean = Judge(MockBackend()).run(items, task="score")
    assert all(r.injection_suspect for r in clean)
    assert "injection_suspect" not in Judge(MockBackend()).score("q", BENIGN).to_dict()


# ---------------------------------------------------------------- transformers backends
@pytest.fixture(scope="module", params=["qwen2_5_vl", "qwen2_5_omni"])
def tiny(request: pytest.FixtureRequest) -> Any:
    from flexjudge.backends._transformers import TransformersBackend

    path: Path = request.getfixturevalue(
        "tiny_vl" if request.param == "qwen2_5_vl" else "tiny_omni"
    )
    backend = TransformersBackend(path, device="cpu", max_batch_size=16)
    yield backend
    backend.close()


def frame_edges(tokenizer: Any, request: GenerationRequest) -> tuple[list[int], list[int]]:
    """Ids of the frame up to its last added token before the user text, and from its first
    added token after it, each tokenized alone."""
    assert request.untrusted
    first, last = request.untrusted[0][0], request.untrusted[-1][1]
    marks = [(m.start(), m.end()) for m in SPECIAL_LIKE.finditer(request.prompt)]
    head_end = max(e for s, e in marks if e <= first)
    tail_start = min(s for s, e in marks if s >= last)
    return (
        encode_prompt(tokenizer, request.prompt[:head_end], ()),
        encode_prompt(tokenizer, request.prompt[tail_start:], ()),
    )


def special_set(tokenizer: Any) -> set[int]:
    """Ids of the special added tokens (turn markers, media placeholders); non-special added
    tokens such as ``<tool_call>`` are ordinary words to the model, in user text as anywhere."""
    return {i for i, t in tokenizer.added_tokens_decoder.items() if t.special}


def _special_ids(backend: Any, ids: Sequence[int]) -> list[int]:
    special = special_set(backend.tokenizer)
    return [int(t) for t in ids if int(t) in special]


def test_transformers_frame_ids_and_media_slots_do_not_move(tiny: Any) -> None:
    benign = requests_for([BENIGN], family=tiny.family)[0]
    base = tiny._encode([benign])["input_ids"][0].tolist()
    base_specials = _special_ids(tiny, base)
    hostile = requests_for(TEXTS, family=tiny.family)
    for name, request in zip(NAMES, hostile, strict=True):
        ids = tiny._encode([request])["input_ids"][0].tolist()
        assert _special_ids(tiny, ids) == base_specials, name  # turns and media slots kept
    # text-only prompts: the frame's ids before the first and after the last user text are
    # exactly the frame tokenized alone
    for name, request in zip(NAMES, requests_for(TEXTS, family=tiny.family, images=0), strict=True):
        if request.untrusted is None:
            continue
        ids = tiny._encode([request])["input_ids"][0].tolist()
        head, tail = frame_edges(tiny.tokenizer, request)
        assert ids[: len(head)] == head and ids[len(ids) - len(tail) :] == tail, name
    # whole-string tokenization (what reference mode keeps) is what the attacks target
    forged = tiny.tokenizer(hostile[0].prompt, add_special_tokens=False)["input_ids"]
    im_start = tiny.tokenizer.convert_tokens_to_ids("<|im_start|>")
    assert forged.count(im_start) == 5 and base.count(im_start) == 3


def test_transformers_text_round_trips_through_the_ids(tiny: Any) -> None:
    """User text is kept character for character: decoding the ids gives the prompt."""
    for name, request in zip(NAMES, requests_for(TEXTS, family=tiny.family, images=0), strict=True):
        if request.untrusted is None:
            continue
        ids = tiny._encode([request])["input_ids"][0].tolist()
        assert tiny.tokenizer.decode(ids) == request.prompt, name


def test_transformers_no_hostile_item_fails_its_batch(tiny: Any) -> None:
    items = [
        {"question": "Describe the picture.", "responses": [t], "images": [make_test_image()]}
        for t in TEXTS
    ]
    results = Judge(tiny, max_tokens=3, batch_size=64).run(items, task="score")
    assert [r.status for r in results if r.status == "error"] == []
    assert all(s.finish_reason != "error" for r in results for s in r.samples)


# ---------------------------------------------------------------- OpenAI-compatible
def test_openai_messages_come_from_the_structure_not_the_text() -> None:
    pytest.importorskip("httpx")
    from flexjudge.backends._openai import OpenAIBackend

    backend = OpenAIBackend("judge", base_url="http://127.0.0.1:9/v1", max_retries=0)
    try:
        for name, request in zip(NAMES, requests_for(TEXTS), strict=True):
            body = backend.build_body(request)
            roles = [m["role"] for m in body["messages"]]
            assert roles == ["system", "user"], name
            parts = body["messages"][1]["content"]
            assert [p["type"] for p in parts].count("image_url") == 1, name
            texts = [body["messages"][0]["content"]] + [p["text"] for p in parts if "text" in p]
            assert not any(SPECIAL_LIKE.search(t) for t in texts), name
        forged = next(
            r for n, r in zip(NAMES, requests_for(TEXTS), strict=True) if n == "forged_turn"
        )
        text = "".join(
            p.get("text", "") for p in backend.build_body(forged)["messages"][1]["content"]
        )
        assert "<\u200b|im_start|>assistant" in text  # readable, but not a token to the server
    finally:
        backend.close()


# ---------------------------------------------------------------- vLLM (tokenizer path)
def test_vllm_prompt_token_ids_keep_the_frame(tiny_vl: Path) -> None:
    from transformers import AutoTokenizer

    from flexjudge.backends._vllm import vllm_prompt

    tok = AutoTokenizer.from_pretrained(tiny_vl)
    added = special_set(tok)
    specials = lambda ids: [t for t in ids if t in added]  # noqa: E731
    base = vllm_prompt(requests_for([BENIGN])[0], tokenizer=tok)
    pad = tok.convert_tokens_to_ids("<|image_pad|>")
    assert specials(base["prompt_token_ids"]).count(pad) == 1  # one slot, expanded by vLLM
    for name, request in zip(NAMES, requests_for(TEXTS), strict=True):
        prompt = vllm_prompt(request, tokenizer=tok)
        if request.untrusted is None:
            assert "prompt" in prompt
            continue
        assert specials(prompt["prompt_token_ids"]) == specials(base["prompt_token_ids"]), name
        assert len(prompt["multi_modal_data"]["image"]) == 1


def test_router_marks_message_text_as_user_text(tiny: Any) -> None:
    """The router renders with the checkpoint's chat template (transformers) or the Qwen
    layout (mock): either way the client's text is user text, and the ids keep the frame."""
    from flexjudge.serve.openai_compat import request_from_body

    body = {"messages": [{"role": "user", "content": TEXTS[0] + TEXTS[12]}]}
    for backend in (MockBackend(family=tiny.family), tiny):
        request = request_from_body(body, backend)
        assert request.untrusted and request.images == []
        assert frame(request).count("<|im_start|>") == 3 and frame(request).count("<|im_end|>") == 2
    ids = tiny._encode([request])["input_ids"][0].tolist()
    im_start = tiny.tokenizer.convert_tokens_to_ids("<|im_start|>")
    assert ids.count(im_start) == 3


def test_openai_end_to_end_the_server_receives_two_turns_and_the_text() -> None:
    """Judge → OpenAI backend → HTTP → the server's OpenAI router → mock judge (loopback)."""
    fastapi = pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    from flexjudge.backends._openai import OpenAIBackend
    from flexjudge.serve.openai_compat import make_openai_router
    from test_openai_backend import serve

    bodies: list[dict[str, Any]] = []
    server_backend = Recorder()
    app = fastapi.FastAPI()

    @app.middleware("http")
    async def capture(request: Any, call_next: Any) -> Any:
        if request.method == "POST":
            bodies.append(await request.json())
        return await call_next(request)

    app.include_router(make_openai_router(server_backend))
    with serve(app) as url:
        client = OpenAIBackend("mock-judge", base_url=url, max_retries=0)
        results = Judge(client).run(
            [{"question": "q", "responses": [t]} for t in TEXTS[:12]], task="score"
        )
        client.close()
    assert all(r.status != "error" for r in results)
    assert len(bodies) == 12
    assert all([m["role"] for m in b["messages"]] == ["system", "user"] for b in bodies)
    for seen in server_backend.calls:
        assert seen.prompt.count("<|im_start|>") == 3 and seen.prompt.count("<|im_end|>") == 2
        assert seen.untrusted  # the router marks the message text as user text
