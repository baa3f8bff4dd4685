"""JSON endpoints take JSON: a body sent as anything else is a 415, not a guess."""

from __future__ import annotations

from litestar.exceptions import HTTPException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class UnsupportedMediaType(HTTPException):
    status_code = 415


def declares_body(scope: Scope) -> tuple[bool, str]:
    """Whether the request announces a body, and its media type (lower case, no parameters)."""
    content_type = ""
    has_body = False
    for key, value in scope["headers"]:
        if key == b"content-type":
            content_type = value.decode("latin-1").split(";")[0].strip().lower()
        elif key == b"content-length":
            has_body = value.strip() not in (b"0", b"")
        elif key == b"transfer-encoding":
            has_body = True
    return has_body, content_type


class JsonBodyMiddleware(ASGIMiddleware):
    """Every handler takes JSON unless its ``opt`` sets ``accepts_files`` (multipart uploads)."""

    exclude_opt_key = "accepts_files"

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("method") in BODY_METHODS:
            has_body, content_type = declares_body(scope)
            json_like = content_type == "application/json" or content_type.endswith("+json")
            if has_body and content_type and not json_like:
                raise UnsupportedMediaType()
        await next_app(scope, receive, send)
