"""The cross-site request forgery rule and CORS for the allowed frontend origins."""

from __future__ import annotations

import pytest

from tests.http.support import (
    ALLOWED_ORIGIN,
    EMAIL,
    EVIL_ORIGIN,
    OTHER_ALLOWED_ORIGIN,
    PASSWORD,
    AppFactory,
    Client,
    assert_problem,
    login,
    profile,
    register,
    registered,
    session_token,
    with_cookie,
    without_origin,
)

# --- CSRF -------------------------------------------------------------------------------


def test_register_from_a_foreign_origin_is_403_and_creates_nothing(client: Client) -> None:
    response = client.post(
        "/api/auth/register",
        json={"email": EMAIL, "password": PASSWORD, "name": "Ana"},
        headers={"Origin": EVIL_ORIGIN},
    )

    body = assert_problem(response, 403)
    assert body["error"] == "Solicitud rechazada: origen no permitido"
    assert "set-cookie" not in response.headers
    assert_problem(login(client), 401)  # no such account
    assert register(client).status_code == 201


def test_403_in_english(client: Client) -> None:
    response = client.post(
        "/api/auth/logout", headers={"Origin": EVIL_ORIGIN, "Accept-Language": "en"}
    )
    assert assert_problem(response, 403)["error"] == "Request refused: origin not allowed"


def test_profile_write_from_a_foreign_origin_is_403_and_changes_nothing(client: Client) -> None:
    registered(client)
    before = profile(client)

    response = client.put(
        "/api/profile", json={"name": "Pwned", "theme": "dark"}, headers={"Origin": EVIL_ORIGIN}
    )

    assert_problem(response, 403)
    assert profile(client) == before


def test_foreign_origin_cannot_change_password_delete_account_or_log_out(client: Client) -> None:
    registered(client)
    evil = {"Origin": EVIL_ORIGIN}

    assert_problem(
        client.post(
            "/api/profile/change-password",
            json={"current_password": PASSWORD, "new_password": "attacker password"},
            headers=evil,
        ),
        403,
    )
    assert_problem(
        client.request(
            "DELETE", "/api/profile/delete-account", json={"password": PASSWORD}, headers=evil
        ),
        403,
    )
    assert_problem(client.post("/api/auth/logout", headers=evil), 403)

    assert client.get("/api/auth/me").status_code == 200
    assert login(client).status_code == 200


def test_referer_origin_is_checked_when_there_is_no_origin(client: Client) -> None:
    registered(client)
    token = session_token(client)
    without_origin(client)

    refused = client.put(
        "/api/profile", json={"theme": "dark"}, headers={"Referer": f"{EVIL_ORIGIN}/page"}
    )
    assert_problem(refused, 403)

    accepted = client.put(
        "/api/profile",
        json={"theme": "dark"},
        headers={"Referer": f"{ALLOWED_ORIGIN}/settings?tab=profile"},
    )
    assert accepted.status_code == 200
    assert with_cookie(client, token).get("/api/profile").json()["user"]["theme"] == "dark"


def test_a_cookie_with_neither_origin_nor_referer_is_403(client: Client) -> None:
    registered(client)
    without_origin(client)

    assert_problem(client.put("/api/profile", json={"name": "Pwned"}), 403)
    assert_problem(client.post("/api/auth/logout"), 403)

    # Nothing changed and the session is still alive (GET is not checked).
    assert client.get("/api/profile").json()["user"]["name"] == "Ana"


def test_no_cookie_and_no_headers_is_served(client: Client) -> None:
    """curl and scripts send neither a cookie nor an Origin."""
    without_origin(client)

    response = register(client)
    assert response.status_code == 201
    client.cookies.clear()
    assert login(client).status_code == 200


@pytest.mark.parametrize(
    "origin",
    ["null", "http://localhost:5174", "https://localhost:5173", "http://evil.localhost:5173"],
)
def test_origins_that_only_look_allowed_are_refused(client: Client, origin: str) -> None:
    response = client.post(
        "/api/auth/register",
        json={"email": EMAIL, "password": PASSWORD, "name": "Ana"},
        headers={"Origin": origin},
    )
    assert_problem(response, 403)


def test_every_allowed_origin_is_accepted(client: Client) -> None:
    response = client.post(
        "/api/auth/register",
        json={"email": EMAIL, "password": PASSWORD, "name": "Ana"},
        headers={"Origin": OTHER_ALLOWED_ORIGIN},
    )
    assert response.status_code == 201


def test_configured_origins_replace_the_defaults(make_client: AppFactory) -> None:
    client = make_client(cors_origins=("https://app.example.com",), origin=None)

    refused = client.post(
        "/api/auth/register",
        json={"email": EMAIL, "password": PASSWORD, "name": "Ana"},
        headers={"Origin": ALLOWED_ORIGIN},
    )
    assert_problem(refused, 403)
    accepted = client.post(
        "/api/auth/register",
        json={"email": EMAIL, "password": PASSWORD, "name": "Ana"},
        headers={"Origin": "https://app.example.com"},
    )
    assert accepted.status_code == 201


def test_safe_methods_are_not_refused_for_a_foreign_origin(client: Client) -> None:
    registered(client)
    response = client.get("/api/auth/me", headers={"Origin": EVIL_ORIGIN})
    assert response.status_code == 200
    # …but the browser gets no CORS permission to read it.
    assert "access-control-allow-origin" not in response.headers


# --- CORS -------------------------------------------------------------------------------


def test_preflight_from_an_allowed_origin_allows_credentials_and_content_type(
    client: Client,
) -> None:
    response = client.options(
        "/api/auth/login",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )

    assert 200 <= response.status_code < 300
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "content-type" in allowed_headers
    assert "POST" in response.headers["access-control-allow-methods"]


@pytest.mark.parametrize("method", ["PUT", "DELETE"])
def test_preflight_allows_the_methods_the_frontend_uses(client: Client, method: str) -> None:
    response = client.options(
        "/api/profile",
        headers={"Origin": OTHER_ALLOWED_ORIGIN, "Access-Control-Request-Method": method},
    )
    assert 200 <= response.status_code < 300
    assert response.headers["access-control-allow-origin"] == OTHER_ALLOWED_ORIGIN
    assert method in response.headers["access-control-allow-methods"]


def test_preflight_from_a_disallowed_origin_gets_no_allow_origin(client: Client) -> None:
    response = client.options(
        "/api/auth/login",
        headers={
            "Origin": EVIL_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert "access-control-allow-origin" not in response.headers


def test_refused_preflights_answer_a_problem_body(client: Client) -> None:
    for origin, header in ((EVIL_ORIGIN, "content-type"), (ALLOWED_ORIGIN, "x-evil")):
        response = client.options(
            "/api/auth/login",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": header,
            },
        )
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["error"]
        assert "access-control-allow-origin" not in response.headers


def test_successful_preflights_answer_json(client: Client) -> None:
    response = client.options(
        "/api/auth/login",
        headers={"Origin": ALLOWED_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 200
    assert response.json() == {"message": "ok"}


def test_a_disallowed_origin_gets_no_allow_origin_on_any_response(client: Client) -> None:
    evil = {"Origin": EVIL_ORIGIN}
    for response in (
        client.get("/health", headers=evil),
        client.get("/api/auth/me", headers=evil),
        client.get("/api/auth/check-session", headers=evil),
        client.post("/api/auth/login", json={"email": EMAIL, "password": PASSWORD}, headers=evil),
    ):
        assert "access-control-allow-origin" not in response.headers, response.request.url


def test_cors_headers_are_present_on_success_for_an_allowed_origin(client: Client) -> None:
    response = register(client)
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "origin" in response.headers.get("vary", "").lower()


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/auth/me", 401),
        ("GET", "/api/nope", 404),
        ("DELETE", "/api/auth/me", 405),
    ],
)
def test_cors_headers_are_present_on_errors_for_an_allowed_origin(
    client: Client, method: str, path: str, status: int
) -> None:
    response = client.request(method, path)
    assert_problem(response, status)
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"


def test_cors_headers_on_a_rate_limited_answer_expose_retry_after(
    make_client: AppFactory,
) -> None:
    client = make_client(auth_rate_per_minute=1)
    login(client)
    limited = login(client)

    assert_problem(limited, 429)
    assert limited.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    exposed = limited.headers["access-control-expose-headers"].lower()
    assert "retry-after" in exposed
    assert "x-request-id" in exposed
