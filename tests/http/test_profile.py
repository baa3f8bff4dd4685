"""GET/PUT /api/profile and /api/profile/api-keys: partial writes, rules, masks, secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http.support import (
    EMAIL,
    MASK,
    USER_FIELDS,
    AppFactory,
    Client,
    assert_problem,
    profile,
    registered,
)

WHATSAPP_KEY = "EAAGm0PX4ZCpsBAKZCZCx-whatsapp-secret-9xY2"
GMAIL_KEY = "abcd efgh ijkl mnop"
GEMINI_KEY = "AIzaSyD-gemini-secret-key-Q7w3"


def put(client: Client, body: dict[str, Any], **kwargs: Any) -> httpx.Response:
    return client.put("/api/profile", json=body, **kwargs)


@pytest.fixture
def user(client: Client) -> dict[str, Any]:
    return registered(client)


# --- reading ----------------------------------------------------------------------------


def test_get_profile_returns_the_user_envelope(client: Client, user: dict[str, Any]) -> None:
    response = client.get("/api/profile")
    assert response.status_code == 200
    assert response.json() == {"user": user}
    assert set(response.json()["user"]) == USER_FIELDS


def test_profile_endpoints_require_a_session(client: Client) -> None:
    assert_problem(client.get("/api/profile"), 401)
    assert_problem(put(client, {"name": "X"}), 401)
    assert_problem(client.get("/api/profile/api-keys"), 401)


# --- partial writes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"name": "  Ana María  "}, {"name": "Ana María"}),
        ({"company": "Acme S.L."}, {"company": "Acme S.L."}),
        ({"company": None}, {"company": None}),
        ({"company": "   "}, {"company": None}),
        ({"phone": "600 11 12 22"}, {"phone": "+34600111222"}),
        ({"phone": "0034 600-111-222"}, {"phone": "+34600111222"}),
        ({"phone": None}, {"phone": None}),
        ({"email_notifications": False}, {"email_notifications": False}),
        ({"push_notifications": False}, {"push_notifications": False}),
        ({"sms_notifications": True}, {"sms_notifications": True}),
        ({"profile_visible": False}, {"profile_visible": False}),
        ({"data_sharing": True}, {"data_sharing": True}),
        ({"analytics": False}, {"analytics": False}),
        ({"language": "en"}, {"language": "en"}),
        ({"timezone": "America/New_York"}, {"timezone": "America/New_York"}),
        ({"theme": "dark"}, {"theme": "dark"}),
        ({"theme": "system"}, {"theme": "system"}),
        ({"default_country": "mx"}, {"default_country": "MX"}),
        ({"send_rate_per_minute": 1}, {"send_rate_per_minute": 1}),
        ({"send_rate_per_minute": 600}, {"send_rate_per_minute": 600}),
        ({"whatsapp_phone_number_id": "1234567890"}, {"whatsapp_phone_number_id": "1234567890"}),
        ({"gmail_address": " Ana@Gmail.com "}, {"gmail_address": "ana@gmail.com"}),
        ({"gmail_address": None}, {"gmail_address": None}),
        ({"gemini_auto_reply_enabled": True}, {"gemini_auto_reply_enabled": True}),
        ({"gemini_knowledge_base": " Abre a las 9 "}, {"gemini_knowledge_base": "Abre a las 9"}),
        ({"gemini_knowledge_base": "k" * 20_000}, {"gemini_knowledge_base": "k" * 20_000}),
        ({"name": "n" * 200}, {"name": "n" * 200}),
        ({"company": "c" * 200}, {"company": "c" * 200}),
    ],
)
def test_partial_update_changes_only_the_fields_sent(
    client: Client, user: dict[str, Any], changes: dict[str, Any], expected: dict[str, Any]
) -> None:
    response = put(client, changes)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"message", "user"}
    assert body["message"] == "Perfil actualizado correctamente"
    assert set(body["user"]) == USER_FIELDS
    ignore = {"updated_at"}
    before = {k: v for k, v in user.items() if k not in ignore}
    after = {k: v for k, v in body["user"].items() if k not in ignore}
    assert after == before | expected
    assert {k: v for k, v in profile(client).items() if k not in ignore} == after


def test_several_fields_at_once_as_the_settings_page_sends_them(
    client: Client, user: dict[str, Any]
) -> None:
    settings_page = {
        "name": "Ana G.",
        "company": "Acme",
        "language": "en",
        "timezone": "Europe/London",
        "theme": "dark",
        "email_notifications": False,
        "sms_notifications": True,
        "send_rate_per_minute": 120,
    }
    updated = put(client, settings_page).json()["user"]
    assert {k: updated[k] for k in settings_page} == settings_page


def test_the_users_phone_is_read_with_the_new_default_country(
    client: Client, user: dict[str, Any]
) -> None:
    updated = put(client, {"default_country": "US", "phone": "(650) 253-0000"}).json()["user"]
    assert updated["default_country"] == "US"
    assert updated["phone"] == "+16502530000"


def test_the_users_phone_is_read_with_the_stored_default_country(
    client: Client, user: dict[str, Any]
) -> None:
    assert put(client, {"default_country": "US"}).status_code == 200
    assert put(client, {"phone": "650 253 0000"}).json()["user"]["phone"] == "+16502530000"


def test_an_empty_body_changes_nothing(client: Client, user: dict[str, Any]) -> None:
    response = put(client, {})
    assert response.status_code == 200
    assert response.json()["user"]["name"] == user["name"]


def test_email_in_the_body_is_ignored(client: Client, user: dict[str, Any]) -> None:
    response = put(client, {"email": "mallory@example.com", "name": "Ana B"})
    assert response.status_code == 200
    assert response.json()["user"]["email"] == EMAIL
    assert profile(client)["email"] == EMAIL


def test_read_only_and_unknown_fields_are_ignored(client: Client, user: dict[str, Any]) -> None:
    response = put(
        client,
        {
            "id": 9999,
            "user_id": 9999,
            "created_at": "2000-01-01T00:00:00Z",
            "updated_at": "2000-01-01T00:00:00Z",
            "last_login": "2000-01-01T00:00:00Z",
            "password": "sneaky password",
            "password_hash": "$2b$04$not-a-real-hash",
            "is_admin": True,
            "favourite_colour": "green",
            "theme": "dark",
        },
    )

    assert response.status_code == 200, response.text
    updated = response.json()["user"]
    assert updated["theme"] == "dark"
    for field in ("id", "created_at", "last_login"):
        assert updated[field] == user[field]
    assert "is_admin" not in updated
    assert "favourite_colour" not in updated
    # The password did not change either.
    client.cookies.clear()
    sneaky = client.post("/api/auth/login", json={"email": EMAIL, "password": "sneaky password"})
    assert sneaky.status_code == 401


# --- invalid values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"default_country": "XX"}, "default_country"),
        ({"default_country": "ESP"}, "default_country"),
        ({"language": "fr"}, "language"),
        ({"language": "ES"}, "language"),
        ({"theme": "blue"}, "theme"),
        ({"send_rate_per_minute": 0}, "send_rate_per_minute"),
        ({"send_rate_per_minute": 601}, "send_rate_per_minute"),
        ({"send_rate_per_minute": -5}, "send_rate_per_minute"),
        ({"send_rate_per_minute": "fast"}, "send_rate_per_minute"),
        ({"send_rate_per_minute": 60.5}, "send_rate_per_minute"),
        ({"name": "n" * 201}, "name"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"company": "c" * 201}, "company"),
        ({"gemini_knowledge_base": "k" * 20_001}, "gemini_knowledge_base"),
        ({"phone": "not a phone"}, "phone"),
        ({"phone": "+34 12"}, "phone"),
        ({"gmail_address": "not-an-email"}, "gmail_address"),
        ({"whatsapp_phone_number_id": "1" * 201}, "whatsapp_phone_number_id"),
        ({"email_notifications": "yes"}, "email_notifications"),
        ({"analytics": None}, "analytics"),
        ({"theme": None}, "theme"),
        ({"whatsapp_api_key": 12345}, "whatsapp_api_key"),
        ({"whatsapp_api_key": "k" * 5000}, "whatsapp_api_key"),
    ],
)
def test_invalid_value_is_400_naming_the_field_and_changes_nothing(
    client: Client, user: dict[str, Any], changes: dict[str, Any], field: str
) -> None:
    before = profile(client)

    response = put(client, changes)

    body = assert_problem(response, 400, fields={field})
    assert body["errors"][0]["field"] == field
    assert profile(client) == before


def test_an_invalid_field_rejects_the_whole_write(client: Client, user: dict[str, Any]) -> None:
    before = profile(client)

    response = put(
        client,
        {"name": "New name", "theme": "dark", "whatsapp_api_key": WHATSAPP_KEY, "timezone": "Nope"},
    )

    assert_problem(response, 400, fields={"timezone"})
    assert profile(client) == before


def test_every_invalid_field_is_reported(client: Client, user: dict[str, Any]) -> None:
    response = put(
        client, {"language": "fr", "theme": "neon", "timezone": "X/Y", "default_country": "ZZ"}
    )
    assert_problem(response, 400, fields={"language", "theme", "timezone", "default_country"})


def test_invalid_field_messages_are_spanish_and_english(
    client: Client, user: dict[str, Any]
) -> None:
    spanish = assert_problem(put(client, {"theme": "blue"}), 400)
    english = assert_problem(put(client, {"theme": "blue"}, headers={"Accept-Language": "en"}), 400)
    assert spanish["errors"][0]["message"] == "El tema debe ser light, dark o system"
    assert english["errors"][0]["message"] == "The theme must be light, dark or system"


def test_a_body_that_is_not_an_object_is_400(client: Client, user: dict[str, Any]) -> None:
    assert_problem(put(client, ["name", "x"]), 400)  # type: ignore[arg-type]


# --- API keys ---------------------------------------------------------------------------


def test_setting_api_keys_answers_masks_never_secrets(client: Client, user: dict[str, Any]) -> None:
    keys = {"whatsapp_api_key": WHATSAPP_KEY, "gmail_api_key": GMAIL_KEY}
    response = put(client, {**keys, "gemini_api_key": GEMINI_KEY})

    assert response.status_code == 200
    updated = response.json()["user"]
    assert updated["whatsapp_api_key"] == MASK + WHATSAPP_KEY[-4:]
    assert updated["gmail_api_key"] == MASK + GMAIL_KEY[-4:]
    assert updated["gemini_api_key"] == MASK + GEMINI_KEY[-4:]
    for secret in (WHATSAPP_KEY, GMAIL_KEY, GEMINI_KEY):
        assert secret not in response.text
    assert profile(client)["whatsapp_api_key"] == MASK + "9xY2"


def test_api_keys_endpoint_shape_when_nothing_is_configured(
    client: Client, user: dict[str, Any]
) -> None:
    response = client.get("/api/profile/api-keys")
    assert response.status_code == 200
    assert response.json() == {
        "api_keys": {
            "whatsapp_configured": False,
            "whatsapp_masked": None,
            "gmail_configured": False,
            "gmail_masked": None,
            "gemini_configured": False,
            "gemini_masked": None,
        }
    }


def test_api_keys_endpoint_shows_configured_keys_masked(
    client: Client, user: dict[str, Any]
) -> None:
    put(client, {"whatsapp_api_key": WHATSAPP_KEY, "gemini_api_key": GEMINI_KEY})

    response = client.get("/api/profile/api-keys")

    assert response.json() == {
        "api_keys": {
            "whatsapp_configured": True,
            "whatsapp_masked": MASK + WHATSAPP_KEY[-4:],
            "gmail_configured": False,
            "gmail_masked": None,
            "gemini_configured": True,
            "gemini_masked": MASK + GEMINI_KEY[-4:],
        }
    }


def test_sending_the_mask_back_keeps_the_key(client: Client, user: dict[str, Any]) -> None:
    masked = put(client, {"whatsapp_api_key": WHATSAPP_KEY}).json()["user"]["whatsapp_api_key"]

    # The settings page sends the whole form back, mask included.
    response = put(client, {**profile(client), "whatsapp_api_key": masked, "theme": "dark"})

    assert response.status_code == 200, response.text
    assert response.json()["user"]["whatsapp_api_key"] == masked
    assert client.get("/api/profile/api-keys").json()["api_keys"]["whatsapp_configured"] is True
    # A different key replaces it.
    replaced = put(client, {"whatsapp_api_key": "another-secret-ABCD"}).json()["user"]
    assert replaced["whatsapp_api_key"] == MASK + "ABCD"


@pytest.mark.parametrize("cleared", ["", None, "   "])
def test_empty_string_or_null_clears_a_key(
    client: Client, user: dict[str, Any], cleared: str | None
) -> None:
    put(client, {"gemini_api_key": GEMINI_KEY})

    response = put(client, {"gemini_api_key": cleared})

    assert response.status_code == 200
    assert response.json()["user"]["gemini_api_key"] is None
    keys = client.get("/api/profile/api-keys").json()["api_keys"]
    assert keys["gemini_configured"] is False
    assert keys["gemini_masked"] is None


def test_a_key_absent_from_the_body_is_kept(client: Client, user: dict[str, Any]) -> None:
    put(client, {"gmail_api_key": GMAIL_KEY})
    assert put(client, {"theme": "dark"}).json()["user"]["gmail_api_key"] == MASK + "mnop"


def test_raw_secrets_never_appear_in_any_response(
    client: Client, user: dict[str, Any], tmp_path: Path
) -> None:
    seen: list[httpx.Response] = []

    def remember(response: httpx.Response) -> None:
        response.read()
        seen.append(response)

    client.event_hooks["response"].append(remember)
    secrets = (WHATSAPP_KEY, GMAIL_KEY, GEMINI_KEY)
    keys = {
        "whatsapp_api_key": WHATSAPP_KEY,
        "gmail_api_key": GMAIL_KEY,
        "gemini_api_key": GEMINI_KEY,
    }

    put(client, keys)
    put(client, {**keys, "timezone": "Not/AZone"})  # refused: the error must not echo them
    put(client, {**keys, "send_rate_per_minute": "many"})  # refused by the parser
    put(client, {"whatsapp_api_key": WHATSAPP_KEY * 200})  # too long
    client.get("/api/profile")
    client.get("/api/profile/api-keys")
    client.get("/api/auth/me")
    client.get("/api/auth/check-session")
    client.post("/api/auth/login", json={"email": EMAIL, "password": "correct horse battery"})
    put(client, {"whatsapp_api_key": MASK + WHATSAPP_KEY[-4:]})

    assert len(seen) == 10
    for response in seen:
        for secret in secrets:
            assert secret not in response.text, (response.request.url, response.text)
            assert secret not in str(response.headers)
    # And they are encrypted at rest: no database file holds them in clear.
    for path in tmp_path.iterdir():
        if path.name.startswith("app0.db"):
            data = path.read_bytes()
            for secret in secrets:
                assert secret.encode() not in data, path.name


def test_profile_changes_are_private_to_each_user(make_client: AppFactory) -> None:
    first = make_client()
    registered(first)
    put(first, {"theme": "dark", "whatsapp_api_key": WHATSAPP_KEY})

    other = make_client(database_url=first.app.state.adapters.settings.database_url)
    registered(other, email="bea@example.com")

    assert profile(other)["theme"] == "light"
    assert profile(other)["whatsapp_api_key"] is None
    assert profile(first)["theme"] == "dark"
