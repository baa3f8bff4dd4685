"""Register and login: envelopes, the session cookie, validation, credentials, rate limits."""

from __future__ import annotations

import re

import pytest

from tests.http.support import (
    EMAIL,
    PASSWORD,
    RFC3339_UTC,
    USER_FIELDS,
    AppFactory,
    Client,
    FakeClock,
    assert_problem,
    login,
    register,
    registered,
    set_cookie,
)

# --- register ---------------------------------------------------------------------------


def test_register_answers_201_with_message_user_and_a_session(client: Client) -> None:
    response = register(client, phone="600 111 222", company="Acme")

    assert response.status_code == 201
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"message", "user"}
    assert body["message"] == "Usuario registrado correctamente"
    user = body["user"]
    assert user["email"] == EMAIL
    assert user["name"] == "Ana"
    assert user["phone"] == "+34600111222"
    assert user["company"] == "Acme"
    # Logged in straight away.
    me = client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["user"] == user


def test_registered_user_has_exactly_the_contract_fields_and_defaults(client: Client) -> None:
    user = registered(client)

    assert set(user) == USER_FIELDS
    assert isinstance(user["id"], int)
    assert user | {"id": 0, "created_at": "", "updated_at": "", "last_login": ""} == {
        "id": 0,
        "email": EMAIL,
        "name": "Ana",
        "phone": None,
        "company": None,
        "whatsapp_api_key": None,
        "whatsapp_phone_number_id": None,
        "gmail_api_key": None,
        "gmail_address": None,
        "gemini_api_key": None,
        "gemini_auto_reply_enabled": False,
        "gemini_knowledge_base": None,
        "email_notifications": True,
        "push_notifications": True,
        "sms_notifications": False,
        "profile_visible": True,
        "data_sharing": False,
        "analytics": True,
        "language": "es",
        "timezone": "Europe/Madrid",
        "theme": "light",
        "default_country": "ES",
        "send_rate_per_minute": 60,
        "created_at": "",
        "updated_at": "",
        "last_login": "",
    }
    for stamp in ("created_at", "updated_at", "last_login"):
        assert re.match(RFC3339_UTC, user[stamp]), user[stamp]


def test_register_message_is_english_with_accept_language_en(client: Client) -> None:
    response = client.post(
        "/api/auth/register",
        json={"email": EMAIL, "password": PASSWORD, "name": "Ana"},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 201
    assert response.json()["message"] == "Registered successfully"


def test_session_cookie_defaults_httponly_lax_not_secure_in_development(client: Client) -> None:
    cookie = set_cookie(register(client))

    assert cookie["value"]
    assert "httponly" in cookie
    assert cookie["samesite"].lower() == "lax"
    assert "secure" not in cookie
    assert cookie["path"] == "/"
    assert PASSWORD not in cookie["value"]


def test_session_cookie_is_secure_in_production(make_client: AppFactory) -> None:
    client = make_client(env="production", base_url="https://testserver.local")
    response = register(client)
    cookie = set_cookie(response)

    assert "secure" in cookie
    assert "httponly" in cookie
    assert cookie["samesite"].lower() == "lax"
    # Over https the secure cookie works as a session.
    assert client.get("/api/auth/me").status_code == 200


def test_session_cookie_samesite_none_when_configured(make_client: AppFactory) -> None:
    client = make_client(cookie_samesite="none", base_url="https://testserver.local")
    cookie = set_cookie(register(client))

    assert cookie["samesite"].lower() == "none"
    # Browsers drop SameSite=None cookies that are not Secure.
    assert "secure" in cookie
    assert "httponly" in cookie


def test_session_cookie_samesite_strict_when_configured(make_client: AppFactory) -> None:
    cookie = set_cookie(register(make_client(cookie_samesite="strict")))
    assert cookie["samesite"].lower() == "strict"


def test_email_is_trimmed_and_lower_cased(client: Client) -> None:
    user = registered(client, email="  Ana.Garcia@Example.COM \n")
    assert user["email"] == "ana.garcia@example.com"

    client.cookies.clear()
    assert login(client, email="ANA.GARCIA@example.com").status_code == 200


def test_duplicate_email_in_another_case_is_409(client: Client) -> None:
    registered(client)
    client.cookies.clear()

    body = assert_problem(register(client, email=" ANA@Example.com", name="Other"), 409)
    assert body["error"] == "Ya existe una cuenta con este correo electrónico"
    # The first account is untouched and still logs in with its own password.
    assert login(client).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": EMAIL, "name": "Ana"}, "password"),
        ({"password": PASSWORD, "name": "Ana"}, "email"),
        ({"email": EMAIL, "password": PASSWORD}, "name"),
        ({"email": EMAIL, "password": "short7!", "name": "Ana"}, "password"),
        ({"email": EMAIL, "password": "a" * 73, "name": "Ana"}, "password"),
        ({"email": EMAIL, "password": "ñ" * 36 + "a", "name": "Ana"}, "password"),
        ({"email": "not-an-email", "password": PASSWORD, "name": "Ana"}, "email"),
        ({"email": "ana@", "password": PASSWORD, "name": "Ana"}, "email"),
        ({"email": EMAIL, "password": PASSWORD, "name": "Ana", "phone": "12ab"}, "phone"),
        ({"email": EMAIL, "password": PASSWORD, "name": "Ana", "phone": "+34 1"}, "phone"),
        ({"email": EMAIL, "password": PASSWORD, "name": "   "}, "name"),
        ({"email": EMAIL, "password": PASSWORD, "name": "a" * 201}, "name"),
        ({"email": EMAIL, "password": PASSWORD, "name": "Ana", "company": "c" * 201}, "company"),
        ({"email": 5, "password": PASSWORD, "name": "Ana"}, "email"),
        ({"email": EMAIL, "password": ["x"], "name": "Ana"}, "password"),
    ],
)
def test_register_validation_failures_are_400_naming_the_field(
    client: Client, body: dict[str, object], field: str
) -> None:
    response = client.post("/api/auth/register", json=body)

    assert_problem(response, 400, fields={field})
    assert "set-cookie" not in response.headers
    # Nothing was created: the same email can still register.
    client.cookies.clear()
    assert register(client).status_code == 201


def test_register_reports_every_invalid_field_at_once(client: Client) -> None:
    response = client.post(
        "/api/auth/register",
        json={"email": "nope", "password": "short", "name": "", "phone": "abc"},
    )
    assert_problem(response, 400, fields={"email", "password", "name", "phone"})


def test_password_of_exactly_72_bytes_is_accepted_and_not_truncated(client: Client) -> None:
    password = "p" * 72
    registered(client, password=password)
    client.cookies.clear()

    assert login(client, password=password).status_code == 200
    client.cookies.clear()
    assert_problem(login(client, password="p" * 71), 401)


def test_register_field_errors_are_english_with_accept_language_en(client: Client) -> None:
    response = client.post(
        "/api/auth/register",
        json={"email": EMAIL, "password": "short", "name": "Ana"},
        headers={"Accept-Language": "en-GB,en;q=0.9,es;q=0.5"},
    )
    body = assert_problem(response, 400, fields={"password"})
    assert body["errors"][0]["message"] == "The password must be at least 8 characters long"


def test_unknown_register_fields_are_ignored(client: Client) -> None:
    user = registered(client, id=999, confirm_password=PASSWORD, role="admin", last_login=None)
    assert user["id"] != 999
    assert "role" not in user
    assert user["last_login"] is not None


# --- login ------------------------------------------------------------------------------


def test_login_answers_200_with_message_user_and_sets_last_login(client: Client) -> None:
    registered(client)
    client.cookies.clear()

    response = login(client, email="  ANA@example.com ")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"message", "user"}
    assert body["message"] == "Sesión iniciada correctamente"
    assert set(body["user"]) == USER_FIELDS
    assert body["user"]["email"] == EMAIL
    assert re.match(RFC3339_UTC, body["user"]["last_login"])
    cookie = set_cookie(response)
    assert "httponly" in cookie
    assert client.get("/api/auth/me").status_code == 200


def test_unknown_email_and_wrong_password_give_the_same_401_body(client: Client) -> None:
    registered(client)
    client.cookies.clear()

    wrong_password = login(client, password="not the password")
    unknown_email = login(client, email="nobody@example.com")

    body = assert_problem(wrong_password, 401)
    assert_problem(unknown_email, 401)
    assert wrong_password.content == unknown_email.content
    assert body["error"] == "Correo electrónico o contraseña incorrectos"
    assert "set-cookie" not in wrong_password.headers
    assert "set-cookie" not in unknown_email.headers


def test_login_with_a_malformed_email_is_the_same_401(client: Client) -> None:
    registered(client)
    client.cookies.clear()
    assert login(client, email="not-an-email").content == login(client, email="x@y.zz").content


def test_password_over_72_bytes_at_login_is_401(client: Client) -> None:
    registered(client)
    client.cookies.clear()

    response = login(client, password=PASSWORD + "x" * 72)
    assert_problem(response, 401)
    assert response.content == login(client, password="wrong password").content


def test_login_missing_field_is_400(client: Client) -> None:
    assert_problem(client.post("/api/auth/login", json={"email": EMAIL}), 400, fields={"password"})


def test_ten_failed_logins_lock_the_email_even_for_the_right_password(
    make_client: AppFactory,
) -> None:
    client = make_client(auth_rate_per_minute=0)
    registered(client)
    client.cookies.clear()

    for attempt in range(10):
        # The lockout counts the normalised email, whatever its spelling.
        email = EMAIL.upper() if attempt % 2 else EMAIL
        assert_problem(login(client, email=email, password="wrong password"), 401)

    locked = login(client)

    body = assert_problem(locked, 429)
    retry_after = int(locked.headers["retry-after"])
    assert 0 < retry_after <= 15 * 60
    assert body["error"].startswith("Demasiados intentos fallidos")
    assert "set-cookie" not in locked.headers
    # Another email is not locked.
    client.cookies.clear()
    registered(client, email="bea@example.com")
    client.cookies.clear()
    assert login(client, email="bea@example.com").status_code == 200


def test_a_successful_login_resets_the_failure_count(make_client: AppFactory) -> None:
    client = make_client(auth_rate_per_minute=0)
    registered(client)
    client.cookies.clear()

    for _ in range(9):
        assert login(client, password="wrong password").status_code == 401
    assert login(client).status_code == 200
    for _ in range(9):
        assert login(client, password="wrong password").status_code == 401
    assert login(client).status_code == 200


def test_per_address_auth_limit_answers_429_with_retry_after(make_client: AppFactory) -> None:
    client = make_client(auth_rate_per_minute=3)
    registered(client)  # 1
    assert login(client).status_code == 200  # 2
    assert login(client).status_code == 200  # 3

    limited = login(client)  # 4

    body = assert_problem(limited, 429)
    assert 0 < int(limited.headers["retry-after"]) <= 60
    assert body["error"].startswith("Demasiadas solicitudes")
    # Registering counts against the same budget.
    assert_problem(register(client, email="bea@example.com"), 429)
    # Requests that are not authentication attempts are not limited.
    assert client.get("/api/auth/me").status_code == 200


def test_per_address_limit_counts_failed_logins_too(make_client: AppFactory) -> None:
    client = make_client(auth_rate_per_minute=2)
    for _ in range(2):
        assert login(client, email="nobody@example.com").status_code == 401
    limited = login(client, email="nobody@example.com")
    assert_problem(limited, 429)
    assert "retry-after" in limited.headers


def test_the_lockout_ends_when_its_window_passes(make_client: AppFactory) -> None:
    clock = FakeClock()
    client = make_client(auth_rate_per_minute=0, ports={"clock": clock})
    registered(client)
    client.cookies.clear()
    for _ in range(10):
        login(client, password="wrong password")
    locked = login(client)
    assert_problem(locked, 429)

    clock.advance(seconds=int(locked.headers["retry-after"]) - 5)
    assert_problem(login(client), 429)
    clock.advance(seconds=6)
    assert login(client).status_code == 200


def test_the_per_address_limit_resets_after_a_minute(make_client: AppFactory) -> None:
    clock = FakeClock()
    client = make_client(auth_rate_per_minute=1, ports={"clock": clock})
    assert login(client).status_code == 401
    assert_problem(login(client), 429)
    clock.advance(seconds=61)
    assert login(client).status_code == 401


def test_change_password_counts_against_the_per_address_limit(make_client: AppFactory) -> None:
    client = make_client(auth_rate_per_minute=2)
    registered(client)
    body = {"current_password": "wrong password", "new_password": "another password"}
    assert client.post("/api/profile/change-password", json=body).status_code == 400
    limited = client.post("/api/profile/change-password", json=body)
    assert_problem(limited, 429)
    assert "retry-after" in limited.headers


def test_forwarded_for_is_ignored_unless_trusted(make_client: AppFactory) -> None:
    untrusted = make_client(auth_rate_per_minute=1)
    assert login(untrusted, email="x@example.com").status_code == 401
    spoofed = untrusted.post(
        "/api/auth/login",
        json={"email": "x@example.com", "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.9"},
    )
    assert_problem(spoofed, 429)


def test_trusted_forwarded_for_limits_each_client_address(make_client: AppFactory) -> None:
    client = make_client(auth_rate_per_minute=1, trust_forwarded_for=True)

    def attempt(address: str) -> int:
        return client.post(
            "/api/auth/login",
            json={"email": "x@example.com", "password": PASSWORD},
            headers={"X-Forwarded-For": f"198.51.100.1, {address}"},
        ).status_code

    assert attempt("203.0.113.1") == 401
    assert attempt("203.0.113.1") == 429
    assert attempt("203.0.113.2") == 401
