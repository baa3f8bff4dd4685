"""A 200 JSON answer sent without Litestar's response pipeline, for the hottest endpoints.

A handler annotated ``-> ASGIApp`` may return an ASGI application, which Litestar then runs as
it is instead of building a ``Response`` (header containers, cookies, serializer lookup): on
``GET /api/auth/me`` that pipeline cost more than the session lookup. Everything around the
handler still applies (exception handlers, CORS, request id, nosniff, gzip). The handler
documents its body with ``responses={200: ResponseSpec(...)}``, as OpenAPI cannot read it from
the annotation.
"""

from __future__ import annotations

import msgspec
from litestar.types import Receive, Scope, Send


class JsonOk:
    __slots__ = ("_body",)

    def __init__(self, content: msgspec.Struct) -> None:
        self._body = msgspec.json.encode(content)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(self._body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": self._body, "more_body": False})
