"""The built-in protocols: every benchmark layout of the spec plus general-purpose ones."""

from __future__ import annotations

from flexjudge.media._spec import (
    IMAGE_GENAI_BENCH,
    IMAGE_MJ_BENCH,
    IMAGE_MLLM_JUDGE,
    IMAGE_NATIVE,
    VIDEO_GENAI_BENCH,
    MediaPrep,
)
from flexjudge.protocol._builders import (
    _system,
    _system_rescaled,
    _user_batch,
    _user_constant,
    _user_mol_pair,
    _user_mol_pampa,
    _user_pandalm,
    _user_qa,
)
from flexjudge.protocol._general import general_system, general_user
from flexjudge.protocol._protocol import (
    Protocol,
    SamplingDefaults,
    SystemBuilder,
    UserBuilder,
)
from flexjudge.protocol._registry import register
from flexjudge.protocol._types import Format, Scale

S10 = Scale(1, 10)
S5 = Scale(1, 5)
MOS5 = Scale(1.0, 5.0, decimals=True)
MOL10 = Scale(1.0, 10.0, decimals=True)


def _p(
    name: str,
    description: str,
    fmt: Format,
    system: SystemBuilder,
    user: UserBuilder,
    scale: Scale | None,
    **kw: object,
) -> None:
    register(Protocol(name, description, fmt, system, user, scale, **kw))  # type: ignore[arg-type]


_MLLM = SamplingDefaults(temperature=0.4, top_p=0.8)
_MLLM_PREP = MediaPrep(image=IMAGE_MLLM_JUDGE)
_GENAI_PREP = MediaPrep(image=IMAGE_GENAI_BENCH, video=VIDEO_GENAI_BENCH)
_MJ_PREP = MediaPrep(image=IMAGE_MJ_BENCH)
_NATIVE = MediaPrep(image=IMAGE_NATIVE)
_NO_SEED = SamplingDefaults(seed_from_trial=False)


def _build_catalog() -> None:
    _p(
        "mllm-judge/pair",
        "MLLM-as-a-Judge pair comparison (P-01 + P-05)",
        Format.PAIR,
        _system("P-01"),
        _user_qa("P-05"),
        S10,
        n_responses=2,
        media=("image",),
        sampling=SamplingDefaults(0.4, 0.8, stop=("<|im_end|>",)),
        prep=_MLLM_PREP,
        reference_fallback="C",
        spec_ids=("P-01", "P-05"),
    )
    _p(
        "mllm-judge/score",
        "MLLM-as-a-Judge single grading 1-5 (P-03 + P-06)",
        Format.SCORE,
        _system("P-03"),
        _user_qa("P-06"),
        S5,
        media=("image",),
        sampling=SamplingDefaults(0.4, 0.8, stop=("</answer>", "<|im_end|>")),
        prep=_MLLM_PREP,
        first_only=True,
        reference_fallback=-1,
        spec_ids=("P-03", "P-06"),
    )
    _p(
        "mllm-judge/batch",
        "MLLM-as-a-Judge batch ranking (P-04 + P-07 + blocks)",
        Format.RANK,
        _system("P-04"),
        _user_batch,
        S10,
        n_responses=None,
        media=("image",),
        sampling=SamplingDefaults(0.4, 0.8, stop=("<|im_end|>",)),
        prep=_MLLM_PREP,
        spec_ids=("P-04", "P-07"),
    )
    _p(
        "vl-rewardbench",
        "VL-RewardBench pairwise (P-08 + P-05), native image",
        Format.PAIR,
        _system("P-08"),
        _user_qa("P-05"),
        S10,
        n_responses=2,
        media=("image",),
        prep=_NATIVE,
        reference_fallback=[0, 0],
        spec_ids=("P-08", "P-05"),
    )
    for split, pid in (("alignment", "P-09"), ("safety", "P-10"), ("quality", "P-11")):
        _p(
            f"mj-bench/{split}",
            f"MJ-Bench {split}: two images, 1-10 each ({pid} + P-12)",
            Format.PAIR,
            _system(pid),
            _user_qa("P-12"),
            S10,
            n_responses=2,
            media=("image", "image"),
            prep=_MJ_PREP,
            sampling=_NO_SEED,
            reference_fallback=2,
            spec_ids=(pid, "P-12"),
            response_media=("image", 0),
        )
        _p(
            f"mj-bench/{split}-omni",
            f"MJ-Bench {split} for Qwen2.5-Omni ({pid} + P-13, Q14)",
            Format.PAIR,
            _system(pid),
            _user_qa("P-13"),
            S10,
            n_responses=2,
            media=("image", "image"),
            prep=_MJ_PREP,
            sampling=_NO_SEED,
            reference_fallback=2,
            spec_ids=(pid, "P-13"),
            families=("qwen2_5_omni",),
            response_media=("image", 0),
        )
    genai = (
        ("image", "P-17", "P-18", ("image", "image"), (), 0),
        (
            "editing",
            "P-16",
            "P-20",
            ("image", "image", "image"),
            ("source_prompt", "target_prompt", "instruct_prompt"),
            1,
        ),
        ("video", "P-15", "P-19", ("video", "video"), (), 0),
    )
    for split, sys_id, user_id, media, fields, offset in genai:
        _p(
            f"genai-bench/{split}",
            f"GenAI-Bench {split} option verdict ({sys_id} + {user_id})",
            Format.OPTION,
            _system(sys_id),
            _user_qa(user_id),
            None,
            n_responses=2,
            media=media,
            prep=_GENAI_PREP,
            reference_fallback="none",
            spec_ids=(sys_id, user_id),
            required_fields=fields,
            response_media=(media[-1], offset),
        )
    _p(
        "nisqa",
        "NISQA speech quality MOS 1.0-5.0 (P-21 + P-22)",
        Format.SCORE,
        _system("P-21"),
        _user_constant("P-22"),
        MOS5,
        fixed_text=True,
        media=("audio",),
        number="decimal",
        first_only=True,
        sampling=_NO_SEED,
        reference_fallback=3.0,
        spec_ids=("P-21", "P-22"),
        families=("qwen2_5_omni",),
    )
    _p(
        "somos",
        "SOMOS TTS naturalness MOS (P-21 + P-22)",
        Format.SCORE,
        _system("P-21"),
        _user_constant("P-22"),
        MOS5,
        fixed_text=True,
        media=("audio",),
        number="decimal",
        first_only=True,
        sampling=SamplingDefaults(0.5, 0.95, seed_from_trial=False),
        reference_fallback=3.0,
        spec_ids=("P-21", "P-22"),
        families=("qwen2_5_omni",),
    )
    _p(
        "bvcc",
        "BVCC MOS with the reference parse cascade (P-23 + P-24)",
        Format.SCORE,
        _system("P-23"),
        _user_constant("P-24"),
        MOS5,
        fixed_text=True,
        media=("audio",),
        number="decimal",
        first_only=True,
        cascade=True,
        sampling=SamplingDefaults(0.5, 0.95, seed_from_trial=False),
        reference_fallback=0.0,
        spec_ids=("P-23", "P-24"),
        families=("qwen2_5_omni",),
    )
    _p(
        "voxsim",
        "VoxSim speaker similarity 1.0-5.0 (P-25 + P-26)",
        Format.SCORE,
        _system("P-25"),
        _user_constant("P-26"),
        MOS5,
        fixed_text=True,
        media=("audio", "audio"),
        number="decimal",
        first_only=True,
        sampling=_NO_SEED,
        reference_fallback=3.5,
        spec_ids=("P-25", "P-26"),
        families=("qwen2_5_omni",),
    )
    _p(  # the paper's scale (1.0-6.0); the script, hence "voxsim", asks for 1.0-5.0
        "voxsim/paper-scale",
        "VoxSim on the paper's 1.0-6.0 scale (P-25 rescaled + P-26)",
        Format.SCORE,
        _system_rescaled("P-25", "from 1.0 to 5.0", "from 1.0 to 6.0"),
        _user_constant("P-26"),
        Scale(1.0, 6.0, decimals=True),
        fixed_text=True,
        media=("audio", "audio"),
        number="decimal",
        first_only=True,
        sampling=_NO_SEED,
        reference_fallback=3.5,
        spec_ids=("P-25", "P-26"),
        families=("qwen2_5_omni",),
    )
    _p(
        "judgelm",
        "JudgeLM text pair (P-27 + P-02)",
        Format.PAIR,
        _system("P-27"),
        _user_qa("P-02"),
        S10,
        n_responses=2,
        media=(),
        spec_ids=("P-27", "P-02"),
    )
    _p(
        "pandalm",
        "PandaLM text pair (P-27 + P-28)",
        Format.PAIR,
        _system("P-27"),
        _user_pandalm,
        S10,
        n_responses=2,
        media=(),
        spec_ids=("P-27", "P-28"),
    )
    _p(
        "text/pair",
        "Text pair as in training (P-01 + P-02)",
        Format.PAIR,
        _system("P-01"),
        _user_qa("P-02"),
        S10,
        n_responses=2,
        spec_ids=("P-01", "P-02"),
    )
    _p(
        "curate/teacher",
        "JudgeLRM teacher prompt: P-01 + P-02, ends in '<think>\\n'",
        Format.PAIR,
        _system("P-01"),
        _user_qa("P-02"),
        S10,
        n_responses=2,
        media=(),
        think_prefix="<think>\n",
        sampling=SamplingDefaults(0.1, 0.95),
        spec_ids=("P-01", "P-02"),
    )
    _p(
        "mol/pampa",
        "Flex-Mol-LLaMA PAMPA best-of-N judge (P-31 + P-32), Llama-3 format",
        Format.SCORE,
        _system("P-31"),
        _user_mol_pampa,
        MOL10,
        media=(),
        chat_format="llama3",
        number="molecule",
        first_only=True,
        sampling=SamplingDefaults(0.0, 1.0, 1024),
        spec_ids=("P-31", "P-32"),
        families=("llama3", "text"),
        molecule_slots=True,
        max_molecules=1,
        fixed_question=True,
    )
    _p(
        "mol/pair",
        "Flex-Mol-LLaMA DPO pair judge (P-29 + P-30), Llama-3 format, <think>",
        Format.PAIR,
        _system("P-29"),
        _user_mol_pair,
        MOL10,
        n_responses=2,
        media=(),
        chat_format="llama3",
        think_prefix="<think>",
        number="molecule",
        exact_count=True,
        sampling=SamplingDefaults(0.0, 1.0, 1024),
        spec_ids=("P-29", "P-30"),
        families=("llama3", "text"),
        molecule_slots=True,
    )
    general: list[tuple[str, str, Scale | None, int | None, Format]] = [
        ("score-5", "score", S5, 1, Format.SCORE),
        ("score-10", "score", S10, 1, Format.SCORE),
        ("mos-5", "score", MOS5, 1, Format.SCORE),
        ("pair-10", "pair", S10, 2, Format.PAIR),
        ("rank-10", "rank", S10, None, Format.RANK),
        ("option", "option", None, 2, Format.OPTION),
    ]
    for name, kind, scale, n, fmt in general:
        label = f"scale {scale.label()}" if scale else "[[A>B]]-style options"
        _p(
            name,
            f"General {kind} protocol, {label} (criteria overridable)",
            fmt,
            general_system(kind, scale or S10),
            general_user(kind),
            scale,
            n_responses=n,
            number="decimal" if scale and scale.decimals else "int",
            supports_criteria=True,
        )
    _p(
        "similarity-5",
        "General similarity of two media, 1.0-5.0 (criteria overridable)",
        Format.SCORE,
        general_system("score", MOS5),
        general_user("score"),
        MOS5,
        number="decimal",
        supports_criteria=True,
    )


_build_catalog()
