"""The judge server: ``/v1/judge``, ``/get_reward`` and an OpenAI-compatible router.

Loaded on first use (FastAPI and pydantic cost ~0.2 s at import)."""

from __future__ import annotations

from flexjudge.serve.app import ServerConfig, create_app

__all__ = ["ServerConfig", "create_app"]
