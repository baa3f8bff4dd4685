"""Odd input is a clear 4xx and changes nothing: control characters, bodies of the wrong kind,
overlong identifiers, and password checks that count towards the account's lockout."""

from __future__ import annotations

import pytest

from tests.http.support import (
    EMAIL,
    PASSWORD,
    AppFactory,
    Client,
    assert_problem,
    login,
    register,
    registered,
)


@pytest.mark.parametrize("field", ["name", "company", "email"])
def test_control_characters_in_text_are_refused_at_registration(client: Client, field: str) -> None:
    body = {"email": EMAIL, "password": PASSWORD, "name": "Ana"}
    body[field] = "An\x00a@example.com" if field == "email" else "An\x00a"
    response = client.post("/api/auth/register", json=body)
    assert_problem(response, 400, fields={field})
    assert login(client).status_code == 401  # nothing was created


def test_control_characters_in_profile_text_change_nothing(client: Client) -> None:
    registered(client)
    response = client.put("/api/profile", json={"name": "Ana\x07", "company": "ACME"})
    assert_problem(response, 400, fields={"name"})
    assert client.get("/api/profile").json()["user"]["company"] is None


def test_line_breaks_and_tabs_are_fine_in_long_texts(client: Client) -> None:
    registered(client)
    response = client.put("/api/profile", json={"gemini_knowledge_base": "Horario:\n\tL-V 9-18"})
    assert response.status_code == 200
    assert response.json()["user"]["gemini_knowledge_base"] == "Horario:\n\tL-V 9-18"


def test_an_overlong_unparseable_email_at_login_is_a_plain_401(client: Client) -> None:
    response = login(client, email="x" * 5000)
    assert_problem(response, 401)
    response = login(client, email="ana\x00@example.com")
    assert_problem(response, 401)


@pytest.mark.parametrize("body", [b"[]", b"null", b"3", b'"text"', b""])
def test_a_body_that_is_not_a_json_object_is_a_400(client: Client, body: bytes) -> None:
    response = client.post(
        "/api/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    problem = assert_problem(response, 400)
    if body:
        assert problem["error"] == "El cuerpo de la solicitud debe ser un objeto JSON"


def test_wrong_current_passwords_count_towards_the_account_lockout(
    make_client: AppFactory,
) -> None:
    client = make_client(auth_rate_per_minute=0)
    registered(client)
    for _ in range(10):
        response = client.post(
            "/api/profile/change-password",
            json={"current_password": "not the password", "new_password": "another-one-123"},
        )
        assert_problem(response, 400, fields={"current_password"})
    response = client.post(
        "/api/profile/change-password",
        json={"current_password": PASSWORD, "new_password": "another-one-123"},
    )
    problem = assert_problem(response, 429)
    assert int(response.headers["retry-after"]) > 0
    assert problem["error"]
    assert login(client).status_code == 429  # the account is locked for logins too


def test_deleting_an_account_is_throttled_per_address(make_client: AppFactory) -> None:
    client = make_client(auth_rate_per_minute=2)
    register(client)  # 1st auth request of this address
    response = client.request(
        "DELETE", "/api/profile/delete-account", json={"password": "wrong password"}
    )
    assert_problem(response, 400, fields={"password"})  # 2nd
    response = client.request("DELETE", "/api/profile/delete-account", json={"password": PASSWORD})
    assert_problem(response, 429)
