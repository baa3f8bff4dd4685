"""CORS for the configured frontend origins, with credentials.

A lean ASGI layer of our own (it wraps the whole application, errors included): it adds four
headers to answers for allowed origins, answers preflights itself, and answers a refused
preflight with a problem body like every other error.
"""

from __future__ import annotations

import msgspec
from litestar.enums import ScopeType
from litestar.types import (
    ASGIApp,
    HTTPResponseStartEvent,
    HTTPScope,
    Message,
    Receive,
    Scope,
    Send,
)

from nexus_http.errors import problem_body
from nexus_http.language import preferred_language

ALLOWED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ALLOWED_HEADERS = ("content-type", "accept-language", "x-request-id")
EXPOSED_HEADERS = ("Retry-After", "X-Request-ID", "Content-Disposition")
PREFLIGHT_MAX_AGE = 600


def _headers_of(scope: Scope) -> dict[bytes, bytes]:
    return {key: value for key, value in scope["headers"] if key in _WANTED}


_WANTED = frozenset(
    {
        b"origin",
        b"access-control-request-method",
        b"access-control-request-headers",
        b"accept-language",
    }
)


class CorsMiddleware:
    def __init__(self, app: ASGIApp, allowed_origins: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = frozenset(origin.lower().encode("latin-1") for origin in allowed_origins)
        self._preflight_headers = [
            (b"access-control-allow-methods", ", ".join(ALLOWED_METHODS).encode()),
            (b"access-control-allow-headers", ", ".join(ALLOWED_HEADERS).encode()),
            (b"access-control-max-age", str(PREFLIGHT_MAX_AGE).encode()),
        ]
        self._exposed = (b"access-control-expose-headers", ", ".join(EXPOSED_HEADERS).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        http_scope: HTTPScope = scope
        headers = _headers_of(scope)
        origin = headers.get(b"origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        allowed = origin.lower() in self.allowed
        if http_scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await self._preflight(origin, allowed, headers, send)
            return
        extra = [(b"vary", b"Origin")]
        if allowed:
            extra += [
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-credentials", b"true"),
                self._exposed,
            ]

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if any(name.lower() == b"vary" for name, _ in headers):
                    message["headers"] = _merge_vary([*headers, *extra])
                else:
                    message["headers"] = [*headers, *extra]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(
        self, origin: bytes, allowed: bool, headers: dict[bytes, bytes], send: Send
    ) -> None:
        method = headers[b"access-control-request-method"].decode("latin-1").strip().upper()
        asked = headers.get(b"access-control-request-headers", b"").decode("latin-1")
        asked_headers = {h.strip().lower() for h in asked.split(",") if h.strip()}
        if allowed and method in ALLOWED_METHODS and asked_headers <= set(ALLOWED_HEADERS):
            body = b'{"message":"ok"}'
            status = 200
            response_headers = [
                (b"content-type", b"application/json"),
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-credentials", b"true"),
                *self._preflight_headers,
            ]
        else:
            language = preferred_language(
                headers.get(b"accept-language", b"").decode("latin-1") or None
            )
            body = msgspec.json.encode(problem_body(403, "http.cors_refused", language))
            status = 403
            response_headers = [(b"content-type", b"application/problem+json")]
        response_headers += [
            (b"vary", b"Origin"),
            (b"content-length", str(len(body)).encode()),
        ]
        start: HTTPResponseStartEvent = {
            "type": "http.response.start",
            "status": status,
            "headers": response_headers,
        }
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})


def _merge_vary(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """One ``Vary`` header listing every value once (compression adds Accept-Encoding)."""
    values: list[bytes] = []
    others: list[tuple[bytes, bytes]] = []
    for name, value in headers:
        if name.lower() == b"vary":
            for part in value.split(b","):
                token = part.strip()
                if token and token.lower() not in (v.lower() for v in values):
                    values.append(token)
        else:
            others.append((name, value))
    others.append((b"vary", b", ".join(values)))
    return others
