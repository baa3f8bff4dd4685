"""One log line per request — id, method, path, status, duration, user — never a body,
cookie, token, password or key. Wraps the whole application, so 404s and 405s are logged too."""

from __future__ import annotations

import itertools
import os
import re
import secrets
import time
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from nexus_adapters.bootstrap import UNSUBSCRIBE_PATH

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._-]{1,64}$")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp, log: Any) -> None:
        """``log``: a bound structlog logger (see ``logging_setup.access_logger``)."""
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        http_scope: HTTPScope = scope
        started = time.perf_counter()
        request_id = _incoming_request_id(scope) or _new_request_id()
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", ()),
                    (REQUEST_ID_HEADER, request_id.encode("ascii")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.log.info(
                "request",
                request_id=request_id,
                method=http_scope["method"],
                path=logged_path(scope["path"]),
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                user_id=state.get("user_id"),
            )


# Paths whose last segment is a credential (an unsubscribe link's signed token): logged masked.
_CREDENTIAL_PATHS = (f"{UNSUBSCRIBE_PATH}/",)
MASK = "***"


def logged_path(path: str) -> str:
    """``path`` as the log shows it: a credential in the path is masked."""
    for prefix in _CREDENTIAL_PATHS:
        if path.startswith(prefix):
            return prefix + MASK
    return path


class _RequestIds:
    """Ids unique across processes (a random prefix per process, taken again after a fork)
    followed by a counter: no system call per request."""

    def __init__(self) -> None:
        self._pid = -1
        self._prefix = ""
        self._sequence = itertools.count(1)

    def next(self) -> str:
        if self._pid != os.getpid():
            self._pid, self._prefix = os.getpid(), secrets.token_hex(4)
            self._sequence = itertools.count(1)
        return f"{self._prefix}{next(self._sequence):08x}"


_request_ids = _RequestIds()


def _new_request_id() -> str:
    return _request_ids.next()


def _incoming_request_id(scope: Scope) -> str | None:
    for key, value in scope["headers"]:
        if key == REQUEST_ID_HEADER and _SAFE_REQUEST_ID.match(value):
            return str(value.decode("ascii"))
    return None
