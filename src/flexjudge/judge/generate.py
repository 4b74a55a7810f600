"""Generation: plain sampling, and budget forcing ("Wait", s1 / paper Fig. 6b) done on the
client side; both are given a backend, never the :class:`~flexjudge.judge.Judge` itself.

For each sample: generate; if the judge closed its reasoning (``</think>``) and rounds remain,
cut the generation just before ``</think>``, append the wait token and continue from
``prompt + reasoning so far + "Wait"``.  Every round's continuation is parsed, so each
round's verdict is recorded (``Sample.rounds``); the sample's verdict is the last round's
(``budget_final="last"``), or every round votes (``budget_final="vote"``, see
:func:`round_votes`).  ``budget_tokens`` caps the tokens a sample generates over all its
rounds: each continuation's ``max_tokens`` is cut to what is left, and forcing stops once
the budget is spent.  Votes use seeds ``seed, seed+1, …`` (one request per vote, since each
thread continues its own text).  Works on any backend whose prompts may end inside the
assistant turn; others raise :class:`~flexjudge.errors.BackendError` for the batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from flexjudge.backends import Backend, ChatTurn, Completion, GenerationRequest, SamplingParams
from flexjudge.errors import BackendError
from flexjudge.judge.config import JudgeConfig
from flexjudge.judge.plan import Plan, parse_count
from flexjudge.judge.types import Sample
from flexjudge.protocol import Format, RenderedPrompt, Verdict, answer_distributions


def build_request(
    plan: Plan,
    prompt: str,
    sampling: SamplingParams,
    order_index: int = 0,
    *,
    mode: str = "clean",
    continuation: str = "",
) -> GenerationRequest:
    """The backend request for one presentation order of ``plan`` (its media permuted).

    ``prompt`` is that order's rendered prompt, to which ``continuation`` (generated text a
    budget-forcing round continues) is appended.  In clean mode the request carries the
    spans of user text, and the continuation counts as such (generated text may quote a
    candidate); reference mode sends the string whole, as the authors' scripts did.
    """
    m = plan.media[order_index]
    untrusted, turns = _structure(plan, order_index, prompt, continuation, mode)
    return GenerationRequest(
        prompt=prompt + continuation,
        sampling=sampling,
        images=m.images,
        videos=m.videos,
        audios=m.audios,
        video_fps=m.video_fps,
        molecules=m.molecules,
        untrusted=untrusted,
        turns=turns,
    )


def request_structure(
    rendered: RenderedPrompt, mode: str
) -> tuple[tuple[tuple[int, int], ...] | None, tuple[ChatTurn, ...]]:
    """A rendered prompt's ``(untrusted, turns)`` for its :class:`GenerationRequest`: the
    user spans in clean mode; reference mode sends the string whole (no spans)."""
    clean = mode == "clean"
    turns = tuple(
        ChatTurn(role, text, spans if clean else ()) for role, text, spans in rendered.turns
    )
    return (rendered.user_spans if clean else None), turns


def _structure(
    plan: Plan, order_index: int, prompt: str, continuation: str, mode: str
) -> tuple[tuple[tuple[int, int], ...] | None, tuple[ChatTurn, ...] | None]:
    if not plan.rendered:
        return None, None
    rendered = plan.rendered[order_index]
    clean = mode == "clean"
    spans, base = request_structure(rendered, mode)
    turns = list(base)
    if continuation:
        tail = ((0, len(continuation)),) if clean else ()
        if turns and turns[-1].role == "assistant":
            head = turns.pop()
            moved = tuple((a + len(head.content), b + len(head.content)) for a, b in tail)
            turns.append(ChatTurn("assistant", head.content + continuation, head.untrusted + moved))
        else:
            turns.append(ChatTurn("assistant", continuation, tail))
    if spans is None:
        return None, tuple(turns)
    if continuation:
        spans = (*spans, (len(prompt), len(prompt) + len(continuation)))
    return spans, tuple(turns)


def generate_samples(backend: Backend, chunk: list[Plan], cfg: JudgeConfig) -> None:
    """Generate and parse every sample of ``chunk`` into ``plan.samples``.  Raises
    :class:`BackendError` when the backend fails the batch."""
    if cfg.budget_forcing > 0:
        run_budget_forcing(backend, chunk, cfg)
        return
    requests, owners = [], []
    for plan in chunk:
        for k, (prompt, order) in enumerate(zip(plan.prompts, plan.orders, strict=True)):
            requests.append(build_request(plan, prompt, plan.sampling, k, mode=cfg.mode))
            owners.append((plan, order))
    outputs = _checked(backend, requests)
    for (plan, order), completions in zip(owners, outputs, strict=True):
        for c in completions:
            verdict = with_distribution(
                plan, parse_completion(plan, c.text, c.finish_reason, cfg), c
            )
            text = "" if c.finish_reason == "error" else c.text
            plan.samples.append(
                Sample(text, verdict, order, c.finish_reason, c.num_tokens, plan.sampling.seed)
            )


def parse_completion(plan: Plan, text: str, finish_reason: str, cfg: JudgeConfig) -> Verdict:
    """The verdict of one generation; a backend failure is an ``error`` verdict, unparsed."""
    return plan.protocol.parse(
        text,
        mode=cfg.mode,
        count=parse_count(plan),
        finish_reason=finish_reason,
        answer_order=cfg.answer_order,
        salvage_truncated=cfg.salvage_truncated,
    )


def with_distribution(plan: Plan, verdict: Verdict, c: Completion, prefix: str = "") -> Verdict:
    """``verdict`` with ``extra["distribution"]`` (one ``[[value, p], …]`` per presented
    answer) when the completion has log-probabilities and the answer positions hold valid
    values; unchanged otherwise (a failed parse never gets an expectation)."""
    if not verdict.ok or c.logprobs is None or plan.protocol.format is Format.OPTION:
        return verdict
    dists = answer_distributions(
        c.logprobs, count=parse_count(plan), scale=plan.protocol.scale, prefix=prefix
    )
    if dists is None:
        return verdict
    rows = [[[v, p] for v, p in d.items()] for d in dists]
    return replace(verdict, extra={**verdict.extra, "distribution": rows})


def has_backend_error(plan: Plan) -> bool:
    """Whether a sample of ``plan`` failed in the backend (its result must not be stored)."""
    return any(s.finish_reason == "error" for s in plan.samples)


def _checked(backend: Backend, requests: list[GenerationRequest]) -> list[list[Completion]]:
    outputs = backend.generate(requests)
    if len(outputs) != len(requests):
        raise BackendError(f"backend returned {len(outputs)} results for {len(requests)}")
    return outputs


@dataclass
class _Thread:
    plan: Plan
    order: tuple[int, ...]
    prompt: str
    seed: int | None
    prefix: str = ""
    tokens: int = 0
    text: str = ""
    finish: str = "stop"
    rounds: list[Verdict] = field(default_factory=list)


def run_budget_forcing(backend: Backend, chunk: list[Plan], cfg: JudgeConfig) -> None:
    """Generate every sample of ``chunk`` with up to ``cfg.budget_forcing`` forced rounds."""
    if not backend.supports_continuation:
        raise BackendError(
            f"backend {backend.name!r} cannot continue a prefix; budget forcing needs one that can"
        )
    threads = [
        _Thread(
            plan, order, prompt, None if plan.sampling.seed is None else plan.sampling.seed + vote
        )
        for plan in chunk
        for prompt, order in zip(plan.prompts, plan.orders, strict=True)
        for vote in range(cfg.votes)
    ]
    active = threads
    for round_no in range(cfg.budget_forcing + 1):
        if not active:
            break
        requests = [
            build_request(
                t.plan,
                t.prompt,
                t.plan.sampling.replace(n=1, seed=t.seed, max_tokens=_round_budget(t, cfg)),
                t.plan.orders.index(t.order),
                mode=cfg.mode,
                continuation=t.prefix,
            )
            for t in active
        ]
        outputs = _checked(backend, requests)
        still: list[_Thread] = []
        for t, completions in zip(active, outputs, strict=True):
            c = completions[0]
            failed = c.finish_reason == "error"
            t.text = t.prefix + ("" if failed else c.text)
            t.finish = c.finish_reason
            t.tokens += c.num_tokens
            verdict = parse_completion(t.plan, c.text if failed else t.text, c.finish_reason, cfg)
            t.rounds.append(with_distribution(t.plan, verdict, c, t.prefix))
            cut = c.text.find("</think>")
            within = cfg.budget_tokens is None or t.tokens < cfg.budget_tokens
            if c.finish_reason == "error":
                within = False
            if round_no < cfg.budget_forcing and cut >= 0 and within:
                t.prefix += c.text[:cut].rstrip() + "\n" + cfg.wait_token
                still.append(t)
        active = still
    for t in threads:
        t.plan.samples.append(
            Sample(t.text, t.rounds[-1], t.order, t.finish, t.tokens, t.seed, t.rounds)
        )


def _round_budget(t: _Thread, cfg: JudgeConfig) -> int:
    limit = t.plan.sampling.max_tokens
    if cfg.budget_tokens is None:
        return limit
    return max(1, min(limit, cfg.budget_tokens - t.tokens))


def round_votes(samples: list[Sample]) -> list[Sample]:
    """One pseudo-sample per budget-forcing round, so every round's verdict votes."""
    out = []
    for s in samples:
        for v in s.rounds or [s.verdict]:
            out.append(Sample(s.text, v, s.order, s.finish_reason, s.num_tokens, s.seed))
    return out
