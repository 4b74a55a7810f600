"""Multipart ``POST /v1/judge/upload`` (a module of its own: FastAPI resolves the route's
annotations at runtime, so they must not be postponed strings of local imports)."""

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, File, Form, UploadFile

from flexjudge.serve.media import RequestRejected
from flexjudge.serve.models import JudgeRequest, JudgeResponse, MediaInput

RunJudge = Callable[[JudgeRequest], Awaitable[JudgeResponse]]


def add_upload_route(app: FastAPI, run_judge: RunJudge, max_media: int) -> None:
    """Mount the multipart variant of ``/v1/judge`` (needs ``python-multipart``)."""

    @app.post("/v1/judge/upload", response_model=JudgeResponse)
    async def upload_route(
        request: str = Form(description="a /v1/judge JSON body without media"),
        images: list[UploadFile] = File(default=[]),
        videos: list[UploadFile] = File(default=[]),
        audios: list[UploadFile] = File(default=[]),
    ) -> JudgeResponse:
        """Multipart variant of /v1/judge: the body as a ``request`` form field, files as
        ``images``/``videos``/``audios`` parts (appended after any inline media)."""
        try:
            body: Any = json.loads(request)
        except json.JSONDecodeError as exc:
            raise RequestRejected(422, f"request: invalid JSON ({exc.msg})") from None
        if not isinstance(body, dict):
            raise RequestRejected(422, "request: must be a JSON object")
        for key, files in (("images", images), ("videos", videos), ("audios", audios)):
            if len(files) > max_media:
                raise RequestRejected(413, f"{key}: more than {max_media} media")
            inline = body.get(key, [])
            if not isinstance(inline, list):
                raise RequestRejected(422, f"request.{key}: must be a list")
            encoded = [
                MediaInput(base64=base64.b64encode(await f.read()).decode("ascii")) for f in files
            ]
            body[key] = [*inline, *encoded]
        try:
            req = JudgeRequest.model_validate(body)
        except ValueError as exc:
            raise RequestRejected(422, f"request: {exc}") from None
        return await run_judge(req)
