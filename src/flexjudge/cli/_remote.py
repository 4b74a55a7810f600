"""Options of the OpenAI-compatible backend shared by the judge commands and ``serve``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

ServerOpt = Annotated[
    str,
    typer.Option(
        help="Kind of OpenAI-compatible server behind --base-url: auto (ask GET /models), "
        "vllm | sglang (their sampling extensions are sent), openai | generic (standard "
        "fields only, e.g. transformers serve)."
    ),
]
ApiKeyEnvOpt = Annotated[
    str,
    typer.Option(
        help="Environment variable holding the API key of --base-url (the key itself never "
        "goes on the command line)."
    ),
]
FamilyOpt = Annotated[
    str | None,
    typer.Option(
        help="Model family behind --base-url: qwen2_5_vl (images, video; default) | "
        "qwen2_5_omni (also audio) | llama3 | text."
    ),
]


def remote_kwargs(
    backend: str, base_url: str | None, server: str, api_key_env: str, family: str | None
) -> dict[str, Any]:
    """Backend keyword arguments for ``--backend openai`` (empty for other backends)."""
    if backend != "openai":
        return {}
    kwargs: dict[str, Any] = {"server": server, "api_key_env": api_key_env}
    if base_url is not None:
        kwargs["base_url"] = base_url
    if family is not None:
        kwargs["family"] = family
    return kwargs
