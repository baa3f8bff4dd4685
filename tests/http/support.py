"""Constants and helpers shared by the HTTP tests (fixtures live in ``conftest.py``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import TestClient

from nexus_adapters.bootstrap import Adapters, build_adapters, migrate
from nexus_adapters.config import Settings
from nexus_adapters.security.passwords import BcryptHasher
from nexus_http.app import create_app
from nexus_http.session_cookie import COOKIE_NAME

SECRET_KEY = "x" * 64
ALLOWED_ORIGIN = "http://localhost:5173"
OTHER_ALLOWED_ORIGIN = "http://localhost:3000"
EVIL_ORIGIN = "https://evil.example"
PASSWORD = "correct horse battery"
EMAIL = "ana@example.com"
NAME = "Ana"
PROBLEM_TYPE = "application/problem+json"
MASK = "••••••••"
RFC3339_UTC = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"

Client = TestClient[Litestar]
AppFactory = Callable[..., Client]

# The user as the contract shows it: exactly these fields.
USER_FIELDS = frozenset(
    {
        "id",
        "email",
        "name",
        "phone",
        "company",
        "whatsapp_api_key",
        "whatsapp_phone_number_id",
        "gmail_api_key",
        "gmail_address",
        "gemini_api_key",
        "gemini_auto_reply_enabled",
        "gemini_knowledge_base",
        "email_notifications",
        "push_notifications",
        "sms_notifications",
        "profile_visible",
        "data_sharing",
        "analytics",
        "language",
        "timezone",
        "theme",
        "default_country",
        "send_rate_per_minute",
        "created_at",
        "updated_at",
        "last_login",
    }
)


def fast_adapters(settings: Settings, **port_overrides: Any) -> Adapters:
    """The real adapters, with bcrypt cost 4 instead of 12 (and any other ``Ports`` field
    replaced, e.g. ``clock``)."""
    adapters = build_adapters(settings)
    ports = dataclasses.replace(
        adapters.ports, **{"hasher": BcryptHasher(cost=4), **port_overrides}
    )
    return dataclasses.replace(adapters, ports=ports)


def build_app(
    settings: Settings, *, run_migrations: bool = True, **port_overrides: Any
) -> Litestar:
    if run_migrations:
        migrate(settings)
    return create_app(settings, adapters=fast_adapters(settings, **port_overrides))


class FakeClock:
    """A clock the test moves by hand; starts at the real current time."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def register(
    client: httpx.Client,
    email: str = EMAIL,
    password: str = PASSWORD,
    name: str = NAME,
    **extra: Any,
) -> httpx.Response:
    return client.post(
        "/api/auth/register", json={"email": email, "password": password, "name": name, **extra}
    )


def login(client: httpx.Client, email: str = EMAIL, password: str = PASSWORD) -> httpx.Response:
    return client.post("/api/auth/login", json={"email": email, "password": password})


def registered(client: httpx.Client, **kwargs: Any) -> dict[str, Any]:
    """Register (and so log in) a user; the user JSON."""
    response = register(client, **kwargs)
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()["user"]
    return user


def session_token(client: httpx.Client) -> str:
    """The session cookie the client currently holds."""
    token = client.cookies.get(COOKIE_NAME)
    assert token, "the client holds no session cookie"
    return token


def set_cookie(response: httpx.Response) -> dict[str, str]:
    """The session cookie a response sets: ``value`` plus its attributes, lower-cased names."""
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name.strip() != COOKIE_NAME:
            continue
        value, *attributes = rest.split(";")
        parsed = {"value": value.strip()}
        for attribute in attributes:
            key, _, attr_value = attribute.strip().partition("=")
            parsed[key.lower()] = attr_value
        return parsed
    raise AssertionError(f"no {COOKIE_NAME} cookie set: {response.headers}")


def with_cookie(client: httpx.Client, token: str) -> httpx.Client:
    """Make ``token`` the only session cookie the client sends."""
    client.cookies.clear()
    client.cookies.set(COOKIE_NAME, token)
    return client


def without_origin(client: httpx.Client) -> httpx.Client:
    """Stop sending the default ``Origin`` header."""
    client.headers.pop("Origin", None)
    return client


def assert_problem(
    response: httpx.Response, status: int, *, fields: set[str] | None = None
) -> dict[str, Any]:
    """An RFC 9457 problem with the contract's members; ``fields`` the names in ``errors``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_TYPE)
    body: dict[str, Any] = response.json()
    assert {"error", "type", "title", "status", "detail"} <= body.keys()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert body["title"] == HTTPStatus(status).phrase
    assert isinstance(body["error"], str)
    assert body["error"]
    assert body["detail"] == body["error"]
    if fields is not None:
        assert "errors" in body, body
        named = {item["field"] for item in body["errors"]}
        assert fields <= named, (fields, body["errors"])
        for item in body["errors"]:
            assert set(item) == {"field", "message"}
            assert item["message"]
    return body


def profile(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/api/profile")
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()["user"]
    return user
