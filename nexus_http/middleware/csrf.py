"""The contract's cross-site request forgery rule, for unsafe methods under ``/api``.

Refused (403): an ``Origin`` (else the ``Referer``'s origin) that is present and not allowed, or
a request carrying the session cookie with neither header. Requests with no cookie and neither
header (curl, scripts, webhooks) are served.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from litestar.exceptions import PermissionDeniedException
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from nexus_http.session_cookie import COOKIE_NAME

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


class CsrfOriginMiddleware(ASGIMiddleware):
    def __init__(self, allowed_origins: tuple[str, ...]) -> None:
        self.allowed = frozenset(origin.lower() for origin in allowed_origins)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        if scope.get("method") in UNSAFE_METHODS and scope["path"].startswith("/api/"):
            self.check(scope)
        await next_app(scope, receive, send)

    def check(self, scope: Scope) -> None:
        origin = _header(scope, b"origin")
        if origin is None and (referer := _header(scope, b"referer")) is not None:
            origin = origin_of(referer) or "null"
        if origin is not None:
            if origin.rstrip("/").lower() not in self.allowed:
                raise PermissionDeniedException()
            return
        cookies = _header(scope, b"cookie") or ""
        if f"{COOKIE_NAME}=" in cookies:
            raise PermissionDeniedException()
