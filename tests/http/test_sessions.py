"""Sessions: fresh ids at login, logout, me/check-session, password change, account deletion."""

from __future__ import annotations

import httpx
import pytest

from tests.http.support import (
    EMAIL,
    PASSWORD,
    USER_FIELDS,
    AppFactory,
    Client,
    FakeClock,
    assert_problem,
    login,
    register,
    registered,
    session_token,
    set_cookie,
    with_cookie,
)

NEW_PASSWORD = "a brand new passphrase"


def delete_account(client: Client, password: str) -> httpx.Response:
    return client.request("DELETE", "/api/profile/delete-account", json={"password": password})


def change_password(client: Client, current: str, new: str) -> httpx.Response:
    return client.post(
        "/api/profile/change-password", json={"current_password": current, "new_password": new}
    )


# --- fresh session ids ------------------------------------------------------------------


def test_every_login_sets_a_new_cookie_value(client: Client) -> None:
    first = set_cookie(register(client))["value"]
    second = set_cookie(login(client))["value"]
    third = set_cookie(login(client))["value"]

    assert len({first, second, third}) == 3
    # Each is its own working session.
    for token in (first, second, third):
        assert with_cookie(client, token).get("/api/auth/me").status_code == 200


def test_a_cookie_sent_before_login_is_never_adopted(client: Client) -> None:
    registered(client)
    planted = "attacker-chosen-session-id-0123456789abcdef"
    with_cookie(client, planted)

    response = login(client)

    assert response.status_code == 200
    issued = set_cookie(response)["value"]
    assert issued != planted
    assert with_cookie(client, issued).get("/api/auth/me").status_code == 200
    assert_problem(with_cookie(client, planted).get("/api/auth/me"), 401)


def test_a_cookie_sent_at_registration_is_never_adopted(client: Client) -> None:
    planted = "planted-before-registration-0123456789"
    with_cookie(client, planted)
    issued = set_cookie(register(client))["value"]

    assert issued != planted
    assert_problem(with_cookie(client, planted).get("/api/auth/me"), 401)


# --- logout -----------------------------------------------------------------------------


def test_logout_revokes_the_session_server_side(client: Client) -> None:
    registered(client)
    token = session_token(client)

    response = client.post("/api/auth/logout")

    assert response.status_code == 200
    assert response.json() == {"message": "Sesión cerrada correctamente"}
    cleared = set_cookie(response)
    assert cleared["value"] in {"", '""'}
    assert cleared["max-age"] == "0"
    # The old cookie, replayed, no longer authenticates.
    replay = with_cookie(client, token).get("/api/auth/me")
    body = assert_problem(replay, 401)
    assert body["error"] == "No has iniciado sesión o tu sesión ha caducado"


def test_logout_in_english(client: Client) -> None:
    registered(client)
    response = client.post("/api/auth/logout", headers={"Accept-Language": "en"})
    assert response.json() == {"message": "Logged out successfully"}


def test_logout_only_ends_its_own_session(client: Client) -> None:
    registered(client)
    first = session_token(client)
    second = set_cookie(login(client))["value"]

    with_cookie(client, first).post("/api/auth/logout")

    assert with_cookie(client, second).get("/api/auth/me").status_code == 200


@pytest.mark.parametrize("cookie", [None, "not-a-session"])
def test_logout_without_a_session_is_200(client: Client, cookie: str | None) -> None:
    if cookie is not None:
        with_cookie(client, cookie)
    response = client.post("/api/auth/logout")
    assert response.status_code == 200
    assert set(response.json()) == {"message"}


# --- me and check-session ---------------------------------------------------------------


def test_me_returns_the_user_envelope(client: Client) -> None:
    user = registered(client)
    response = client.get("/api/auth/me")
    assert response.status_code == 200
    assert response.json() == {"user": user}


def test_me_without_a_session_is_a_401_problem(client: Client) -> None:
    body = assert_problem(client.get("/api/auth/me"), 401)
    assert body["error"] == "No has iniciado sesión o tu sesión ha caducado"
    english = assert_problem(client.get("/api/auth/me", headers={"Accept-Language": "en"}), 401)
    assert english["error"] == "You are not logged in or your session has expired"


def test_me_with_an_unknown_cookie_is_401(client: Client) -> None:
    assert_problem(with_cookie(client, "x" * 43).get("/api/auth/me"), 401)


def test_check_session_when_logged_out_is_200_with_null_user(client: Client) -> None:
    response = client.get("/api/auth/check-session")
    assert response.status_code == 200
    assert response.json() == {"authenticated": False, "user": None}

    response = with_cookie(client, "stale").get("/api/auth/check-session")
    assert response.status_code == 200
    assert response.json() == {"authenticated": False, "user": None}


def test_check_session_when_logged_in(client: Client) -> None:
    user = registered(client)
    response = client.get("/api/auth/check-session")
    assert response.status_code == 200
    body = response.json()
    assert body == {"authenticated": True, "user": user}
    assert set(body["user"]) == USER_FIELDS


def test_check_session_after_logout(client: Client) -> None:
    registered(client)
    token = session_token(client)
    client.post("/api/auth/logout")
    response = with_cookie(client, token).get("/api/auth/check-session")
    assert response.json() == {"authenticated": False, "user": None}


# --- change password --------------------------------------------------------------------


def test_change_password_with_a_wrong_current_password_is_400_not_401(client: Client) -> None:
    registered(client)

    response = change_password(client, "not my password", NEW_PASSWORD)

    body = assert_problem(response, 400, fields={"current_password"})
    assert body["errors"][0]["message"] == "La contraseña actual no es correcta"
    # Still logged in, and the password did not change.
    assert client.get("/api/auth/me").status_code == 200
    client.cookies.clear()
    assert login(client).status_code == 200
    assert login(client, password=NEW_PASSWORD).status_code == 401


def test_change_password_with_an_overlong_current_password_is_400(client: Client) -> None:
    registered(client)
    response = change_password(client, "x" * 73, NEW_PASSWORD)
    assert_problem(response, 400, fields={"current_password"})


@pytest.mark.parametrize("new", ["short", "n" * 73])
def test_change_password_validates_the_new_password(client: Client, new: str) -> None:
    registered(client)
    assert_problem(change_password(client, PASSWORD, new), 400, fields={"new_password"})
    client.cookies.clear()
    assert login(client).status_code == 200


def test_change_password_missing_field_is_400(client: Client) -> None:
    registered(client)
    response = client.post("/api/profile/change-password", json={"current_password": PASSWORD})
    assert_problem(response, 400, fields={"new_password"})


def test_change_password_requires_a_session(client: Client) -> None:
    assert_problem(change_password(client, PASSWORD, NEW_PASSWORD), 401)


def test_change_password_revokes_every_other_session_and_keeps_this_one(client: Client) -> None:
    registered(client)
    current = session_token(client)
    other_a = set_cookie(login(client))["value"]
    other_b = set_cookie(login(client))["value"]

    response = change_password(with_cookie(client, current), PASSWORD, NEW_PASSWORD)

    assert response.status_code == 200
    assert response.json() == {"message": "Contraseña actualizada correctamente"}
    assert client.get("/api/auth/me").status_code == 200
    for other in (other_a, other_b):
        assert_problem(with_cookie(client, other).get("/api/auth/me"), 401)
    assert with_cookie(client, current).get("/api/auth/me").status_code == 200

    client.cookies.clear()
    assert_problem(login(client), 401)
    assert login(client, password=NEW_PASSWORD).status_code == 200


# --- delete account ---------------------------------------------------------------------


def test_delete_account_with_a_wrong_password_is_400(client: Client) -> None:
    registered(client)

    response = delete_account(client, "not my password")

    assert_problem(response, 400, fields={"password"})
    assert client.get("/api/auth/me").status_code == 200


def test_delete_account_requires_a_session(client: Client) -> None:
    assert_problem(delete_account(client, PASSWORD), 401)


def test_delete_account_missing_password_is_400(client: Client) -> None:
    registered(client)
    response = client.request("DELETE", "/api/profile/delete-account", json={})
    assert_problem(response, 400, fields={"password"})
    assert client.get("/api/auth/me").status_code == 200


def test_delete_account_removes_the_user_and_every_session(client: Client) -> None:
    registered(client)
    token = session_token(client)
    other = set_cookie(login(client))["value"]

    response = delete_account(with_cookie(client, token), PASSWORD)

    assert response.status_code == 200
    assert response.json() == {"message": "Cuenta eliminada correctamente"}
    assert set_cookie(response)["max-age"] == "0"
    for old in (token, other):
        assert_problem(with_cookie(client, old).get("/api/auth/me"), 401)
    client.cookies.clear()
    assert_problem(login(client), 401)
    # The email is free again.
    assert register(client).status_code == 201


def test_a_deleted_users_email_gives_the_usual_login_failure(client: Client) -> None:
    registered(client)
    delete_account(client, PASSWORD)
    client.cookies.clear()
    assert login(client).content == login(client, email="nobody@" + EMAIL.split("@")[1]).content


# --- expiry -----------------------------------------------------------------------------


def test_an_idle_session_expires(make_client: AppFactory) -> None:
    clock = FakeClock()
    client = make_client(ports={"clock": clock})
    registered(client)

    clock.advance(days=6, hours=23)
    assert client.get("/api/auth/me").status_code == 200  # use keeps it alive
    clock.advance(days=7, seconds=1)

    body = assert_problem(client.get("/api/auth/me"), 401)
    assert body["error"] == "Tu sesión ha caducado; inicia sesión de nuevo"
    check = client.get("/api/auth/check-session")
    assert check.json() == {"authenticated": False, "user": None}


def test_a_session_ends_at_its_absolute_lifetime_even_when_used(make_client: AppFactory) -> None:
    clock = FakeClock()
    client = make_client(ports={"clock": clock})
    cookie = set_cookie(register(client))
    assert int(cookie["max-age"]) == 30 * 24 * 3600

    for _ in range(4):
        clock.advance(days=6)
        assert client.get("/api/auth/me").status_code == 200
    clock.advance(days=5, hours=23)  # day 29, 23:00
    assert client.get("/api/auth/me").status_code == 200
    clock.advance(hours=1)  # day 30
    assert_problem(client.get("/api/auth/me"), 401)
    # A new login works.
    assert login(client).status_code == 200
    assert client.get("/api/auth/me").status_code == 200
