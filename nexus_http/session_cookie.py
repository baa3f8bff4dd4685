"""The session cookie: how it is read from a request and what flags it is sent with."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import Cookie

from nexus_adapters.bootstrap import Adapters
from nexus_core.errors import Unauthenticated
from nexus_core.use_cases.accounts import CurrentSession, authenticate

COOKIE_NAME = "nexus_session"


def adapters_of(request: Request[Any, Any, Any]) -> Adapters:
    adapters: Adapters = request.app.state.adapters
    return adapters


def token_of(request: Request[Any, Any, Any]) -> str | None:
    return request.cookies.get(COOKIE_NAME) or None


def require_session(request: Request[Any, Any, Any]) -> CurrentSession:
    """The logged-in user of this request, or ``Unauthenticated`` (401)."""
    current = authenticate(adapters_of(request).ports, token_of(request))
    request.scope["state"]["user_id"] = current.user.id  # for the request log line
    return current


def optional_session(request: Request[Any, Any, Any]) -> CurrentSession | None:
    try:
        return require_session(request)
    except Unauthenticated:
        return None


def session_cookie(request: Request[Any, Any, Any], token: str) -> Cookie:
    """The cookie that carries a new session's token; it lives as long as the session can."""
    lifetime = adapters_of(request).ports.sessions.absolute
    return _cookie(request, token, int(lifetime.total_seconds()))


def expired_cookie(request: Request[Any, Any, Any]) -> Cookie:
    """Tells the browser to drop the session cookie (logout, account deletion)."""
    return _cookie(request, "", 0)


def _cookie(request: Request[Any, Any, Any], value: str, max_age: int) -> Cookie:
    settings = adapters_of(request).settings
    return Cookie(
        key=COOKIE_NAME,
        value=value,
        max_age=max_age,
        path="/",
        httponly=True,
        # Browsers refuse SameSite=None without Secure.
        secure=settings.production or settings.cookie_samesite == "none",
        samesite=settings.cookie_samesite,  # type: ignore[arg-type]
    )


def client_address(request: Request[Any, Any, Any]) -> str:
    """The caller's address; behind a trusted proxy, the last ``X-Forwarded-For`` hop."""
    if adapters_of(request).settings.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.client.host if request.client else "unknown"
