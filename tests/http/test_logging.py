"""The request log: one line per request, and never a password, session token or API key."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.http.support import (
    EMAIL,
    SECRET_KEY,
    AppFactory,
    Client,
    login,
    register,
    session_token,
    set_cookie,
    with_cookie,
)

PASSWORD = "Tr0ub4dor-and-3-more"
NEW_PASSWORD = "n3w-Passphrase-nobody-knows"
WRONG_PASSWORD = "wr0ng-guess-of-a-password"
OVERLONG_PASSWORD = "L" * 73
WHATSAPP_KEY = "EAAG-whatsapp-secret-77aa"
GMAIL_KEY = "gmail-app-password-88bb"
GEMINI_KEY = "AIza-gemini-secret-99cc"

_PAIR = re.compile(r"(\w+)=(\S+)")


def request_lines(output: str) -> list[dict[str, Any]]:
    """The access-log entries in ``output``: JSON lines (production) or key=value (console)."""
    entries: list[dict[str, Any]] = []
    for line in output.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("event") == "request":
                entries.append({k: str(v) for k, v in entry.items()})
        elif " request " in f" {line} " and "path=" in line:
            entries.append(dict(_PAIR.findall(line)))
    return entries


def exercise(client: Client) -> list[str]:
    """Register, log in, set API keys, change the password; the secrets that went by."""
    tokens: list[str] = []
    assert register(client, email=EMAIL, password=PASSWORD).status_code == 201
    tokens.append(session_token(client))
    assert register(client, email="bea@example.com", password=OVERLONG_PASSWORD).status_code == 400
    assert login(client, password=WRONG_PASSWORD).status_code == 401
    response = login(client, password=PASSWORD)
    assert response.status_code == 200
    tokens.append(set_cookie(response)["value"])
    keys = {
        "whatsapp_api_key": WHATSAPP_KEY,
        "gmail_api_key": GMAIL_KEY,
        "gemini_api_key": GEMINI_KEY,
    }
    assert client.put("/api/profile", json=keys).status_code == 200
    assert client.put("/api/profile", json={**keys, "theme": "neon"}).status_code == 400
    assert client.get("/api/profile/api-keys").status_code == 200
    response = client.post(
        "/api/profile/change-password",
        json={"current_password": WRONG_PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 400
    response = client.post(
        "/api/profile/change-password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 200
    # A revoked token replayed, then a logout.
    assert with_cookie(client, tokens[0]).get("/api/auth/me").status_code == 401
    assert with_cookie(client, tokens[1]).post("/api/auth/logout").status_code == 200
    return tokens


@pytest.mark.parametrize("env", ["development", "production"])
def test_secrets_never_reach_the_logs(
    make_client: AppFactory, capsys: pytest.CaptureFixture[str], env: str
) -> None:
    # The app is built inside the test so that its log output goes to the captured stdout.
    client = make_client(env=env, base_url="https://testserver.local")
    tokens = exercise(client)

    captured = capsys.readouterr()
    output = captured.out + captured.err

    secrets = [
        PASSWORD,
        NEW_PASSWORD,
        WRONG_PASSWORD,
        OVERLONG_PASSWORD,
        WHATSAPP_KEY,
        GMAIL_KEY,
        GEMINI_KEY,
        SECRET_KEY,
        *tokens,
    ]
    for secret in secrets:
        assert secret not in output, f"a secret reached the log: {secret[:6]}…"
    # Nor the parts of a secret a careless formatter might keep.
    for key in (WHATSAPP_KEY, GMAIL_KEY, GEMINI_KEY):
        assert key[:-4] not in output

    entries = request_lines(captured.out)
    seen = {(e.get("method"), e.get("path"), e.get("status")) for e in entries}
    for expected in [
        ("POST", "/api/auth/register", "201"),
        ("POST", "/api/auth/register", "400"),
        ("POST", "/api/auth/login", "401"),
        ("POST", "/api/auth/login", "200"),
        ("PUT", "/api/profile", "200"),
        ("PUT", "/api/profile", "400"),
        ("GET", "/api/profile/api-keys", "200"),
        ("POST", "/api/profile/change-password", "400"),
        ("POST", "/api/profile/change-password", "200"),
        ("GET", "/api/auth/me", "401"),
        ("POST", "/api/auth/logout", "200"),
    ]:
        assert expected in seen, (expected, sorted(seen))
    for entry in entries:
        assert entry.get("request_id"), entry
        assert "duration_ms" in entry, entry


def test_unmatched_requests_are_logged_too(
    make_client: AppFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client()
    client.get("/no/such/path", headers={"X-Request-ID": "trace-me-404"})
    client.delete("/health")

    entries = request_lines(capsys.readouterr().out)
    by_path = {e["path"]: e for e in entries}
    assert by_path["/no/such/path"]["status"] == "404"
    assert by_path["/no/such/path"]["request_id"] == "trace-me-404"
    assert by_path["/health"]["status"] == "405"


def test_the_log_line_names_the_user_not_their_email(
    make_client: AppFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client()
    user_id = register(client, email="carla@example.com").json()["user"]["id"]
    client.get("/api/auth/me")

    output = capsys.readouterr().out
    entries = [e for e in request_lines(output) if e.get("path") == "/api/auth/me"]
    assert entries
    assert entries[0]["user_id"] == str(user_id)
    assert "carla@example.com" not in output


def test_an_unsubscribe_token_is_masked_in_the_log(
    make_client: AppFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    client = make_client()
    token = "AQAAAAEAAAAH" + "x" * 22  # the shape of a token; any token is masked
    client.get(f"/api/unsubscribe/{token}")
    client.post(f"/api/unsubscribe/{token}")

    output = capsys.readouterr().out
    assert token not in output
    paths = {(e["method"], e["path"]) for e in request_lines(output)}
    assert {("GET", "/api/unsubscribe/***"), ("POST", "/api/unsubscribe/***")} <= paths


def test_the_dispatchers_records_join_the_servers_log(
    make_client: AppFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging

    make_client()  # configures logging as the server does
    logging.getLogger("nexus.worker").info("dispatch: claimed=%d", 7)
    logging.getLogger("nexus.worker").debug("not at INFO")

    output = capsys.readouterr().out
    assert "dispatch: claimed=7" in output
    assert "not at INFO" not in output
