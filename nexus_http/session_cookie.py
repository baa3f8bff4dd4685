"""The session cookie: its name, how it is read, and the flags it is sent with."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import Cookie

from nexus_adapters.config import Settings

COOKIE_NAME = "nexus_session"
AnyRequest = Request[Any, Any, Any]


def token_of(request: AnyRequest) -> str | None:
    return request.cookies.get(COOKIE_NAME) or None


def session_cookie(settings: Settings, token: str, lifetime_seconds: int) -> Cookie:
    """The cookie that carries a new session's token; it lives as long as the session can."""
    return _cookie(settings, token, lifetime_seconds)


def expired_cookie(settings: Settings) -> Cookie:
    """Tells the browser to drop the session cookie (logout, account deletion)."""
    return _cookie(settings, "", 0)


def _cookie(settings: Settings, value: str, max_age: int) -> Cookie:
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
