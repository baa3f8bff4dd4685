"""Profile writes: partial, all-or-nothing, every bad field reported, nothing cut."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_core.domain.api_keys import Secret
from nexus_core.domain.users import Credentials, Preferences, User, apply_profile_changes
from nexus_core.errors import ValidationFailed

CREATED = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
NOW = CREATED + timedelta(days=3)


def make_user(**overrides: Any) -> User:
    fields: dict[str, Any] = {
        "id": 7,
        "email": "ana@example.com",
        "password_hash": "hash",
        "name": "Ana",
        "phone": "+34600111222",
        "company": "Nexus SL",
        "preferences": Preferences(),
        "credentials": Credentials(
            whatsapp_api_key=Secret("wa-secret-0001"),
            whatsapp_phone_number_id="111",
            gmail_api_key=Secret("gm-secret-0002"),
            gmail_address="ana@gmail.com",
            gemini_api_key=Secret("ge-secret-0003"),
            gemini_auto_reply_enabled=True,
            gemini_knowledge_base="Abrimos de 9 a 18.",
        ),
        "created_at": CREATED,
        "updated_at": CREATED,
        "last_login": CREATED,
    }
    fields.update(overrides)
    return User(**fields)


def stored(user: User, name: str) -> Any:
    for part in (user, user.preferences, user.credentials):
        if name in {f.name for f in dataclasses.fields(part)}:
            return getattr(part, name)
    raise AssertionError(name)


# field: (a valid written value, what must then be stored)
VALID: dict[str, tuple[Any, Any]] = {
    "name": ("  Eva Pérez ", "Eva Pérez"),
    "company": (" ACME ", "ACME"),
    "phone": ("+44 20 7946 0018", "+442079460018"),
    "email_notifications": (False, False),
    "push_notifications": (False, False),
    "sms_notifications": (True, True),
    "profile_visible": (False, False),
    "data_sharing": (True, True),
    "analytics": (False, False),
    "language": ("en", "en"),
    "timezone": ("America/New_York", "America/New_York"),
    "theme": ("system", "system"),
    "default_country": ("fr", "FR"),
    "send_rate_per_minute": (600, 600),
    "whatsapp_api_key": (" wa-new-key-9999 ", Secret("wa-new-key-9999")),
    "whatsapp_phone_number_id": (" 1234567890 ", "1234567890"),
    "gmail_api_key": ("abcd efgh ijkl mnop", Secret("abcd efgh ijkl mnop")),
    "gmail_address": (" Ana.Work@Gmail.com ", "ana.work@gmail.com"),
    "gemini_api_key": ("AIza-new", Secret("AIza-new")),
    "gemini_auto_reply_enabled": (False, False),
    "gemini_knowledge_base": ("  Cerrado en agosto.  ", "Cerrado en agosto."),
}
# field: (an invalid written value, the code it must be reported under)
INVALID: dict[str, tuple[Any, str]] = {
    "name": ("   ", "field.required"),
    "company": ("c" * 201, "field.too_long"),
    "phone": ("123", "phone.invalid"),
    "email_notifications": (None, "field.required"),
    "analytics": (None, "field.required"),
    "language": ("fr", "language.invalid"),
    "timezone": ("Mars/Olympus_Mons", "timezone.invalid"),
    "theme": ("blue", "theme.invalid"),
    "default_country": ("XX", "country.invalid"),
    "send_rate_per_minute": (0, "send_rate.out_of_range"),
    "whatsapp_api_key": ("k" * 4097, "field.too_long"),
    "whatsapp_phone_number_id": ("9" * 201, "field.too_long"),
    "gmail_address": ("not-an-email", "email.invalid"),
    "gemini_knowledge_base": ("k" * 20_001, "field.too_long"),
    "gemini_auto_reply_enabled": (None, "field.required"),
}
IGNORED: dict[str, Any] = {
    "email": "intruder@example.com",
    "id": 999,
    "user_id": 999,
    "password_hash": "stolen",
    "password": "new-password",
    "created_at": "2020-01-01T00:00:00Z",
    "updated_at": "2020-01-01T00:00:00Z",
    "last_login": None,
    "preferences": {"language": "en"},
    "credentials": None,
    "unknown_field": [1, 2, 3],
}


@st.composite
def change_sets(draw: st.DrawFn) -> tuple[dict[str, Any], set[str], set[str]]:
    """A profile body: some valid fields, some invalid ones, some ignored ones, in any order."""
    valid = draw(st.sets(st.sampled_from(sorted(VALID))))
    others = sorted(set(INVALID) - valid)
    invalid = draw(st.sets(st.sampled_from(others))) if others else set()
    ignored = draw(st.sets(st.sampled_from(sorted(IGNORED))))
    items = [(n, VALID[n][0]) for n in valid]
    items += [(n, INVALID[n][0]) for n in invalid]
    items += [(n, IGNORED[n]) for n in ignored]
    return dict(draw(st.permutations(items))), valid, invalid


@given(change_sets())
def test_applies_every_valid_field_or_nothing(
    body: tuple[dict[str, Any], set[str], set[str]],
) -> None:
    changes, valid, invalid = body
    user = make_user()
    before = dataclasses.replace(user)
    if invalid:
        with pytest.raises(ValidationFailed) as caught:
            apply_profile_changes(user, changes, NOW)
        reported = {(e.field, e.code) for e in caught.value.errors}
        assert reported == {(n, INVALID[n][1]) for n in invalid}
        assert user == before
        return
    updated = apply_profile_changes(user, changes, NOW)
    for name in VALID:
        expected = VALID[name][1] if name in valid else stored(user, name)
        assert stored(updated, name) == expected, name
    assert updated.updated_at == NOW
    for name in ("id", "email", "password_hash", "created_at", "last_login"):
        assert getattr(updated, name) == getattr(user, name)


def test_ignored_fields_change_nothing_but_updated_at() -> None:
    user = make_user()
    updated = apply_profile_changes(user, IGNORED, NOW)
    assert updated == dataclasses.replace(user, updated_at=NOW)


def test_email_in_a_profile_body_is_ignored() -> None:
    updated = apply_profile_changes(make_user(), {"email": "other@example.com"}, NOW)
    assert updated.email == "ana@example.com"


@pytest.mark.parametrize(
    "name",
    [
        "name",
        "email_notifications",
        "push_notifications",
        "sms_notifications",
        "profile_visible",
        "data_sharing",
        "analytics",
        "gemini_auto_reply_enabled",
        "language",
        "timezone",
        "theme",
        "default_country",
        "send_rate_per_minute",
    ],
)
def test_null_is_refused_for_booleans_and_enumerations(name: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        apply_profile_changes(make_user(), {name: None}, NOW)
    assert [(e.field, e.code) for e in caught.value.errors] == [(name, "field.required")]


@pytest.mark.parametrize(
    "name",
    [
        "phone",
        "company",
        "whatsapp_api_key",
        "whatsapp_phone_number_id",
        "gmail_api_key",
        "gmail_address",
        "gemini_api_key",
        "gemini_knowledge_base",
    ],
)
@pytest.mark.parametrize("empty", [None, "", "   "])
def test_null_or_blank_clears_optional_fields(name: str, empty: str | None) -> None:
    user = make_user()
    assert stored(user, name) is not None
    assert stored(apply_profile_changes(user, {name: empty}, NOW), name) is None


@pytest.mark.parametrize("order", ["country_first", "phone_first"])
def test_phone_is_read_with_the_new_default_country(order: str) -> None:
    items = [("default_country", "FR"), ("phone", "06 12 34 56 78")]
    if order == "phone_first":
        items.reverse()
    updated = apply_profile_changes(make_user(), dict(items), NOW)
    assert updated.phone == "+33612345678"
    assert updated.preferences.default_country == "FR"


def test_phone_alone_is_read_with_the_current_default_country() -> None:
    user = make_user(preferences=Preferences(default_country="FR"))
    assert apply_profile_changes(user, {"phone": "06 12 34 56 78"}, NOW).phone == "+33612345678"
    with pytest.raises(ValidationFailed) as caught:
        apply_profile_changes(make_user(), {"phone": "06 12 34 56 78"}, NOW)  # ES
    assert [(e.field, e.code) for e in caught.value.errors] == [("phone", "phone.invalid")]


def test_a_new_country_does_not_rewrite_the_stored_phone() -> None:
    updated = apply_profile_changes(make_user(), {"default_country": "US"}, NOW)
    assert updated.phone == "+34600111222"


@pytest.mark.parametrize("phone", ["600 111 222", "+44 20 7946 0018", "06 12 34 56 78"])
def test_invalid_new_country_with_a_phone_is_a_validation_error(phone: str) -> None:
    # The country's error is reported; the phone must not crash for want of a country.
    with pytest.raises(ValidationFailed) as caught:
        apply_profile_changes(make_user(), {"default_country": "XX", "phone": phone}, NOW)
    assert ("default_country", "country.invalid") in {
        (e.field, e.code) for e in caught.value.errors
    }


@pytest.mark.parametrize(
    ("name", "limit"), [("name", 200), ("company", 200), ("gemini_knowledge_base", 20_000)]
)
def test_length_limits_refuse_and_never_cut(name: str, limit: int) -> None:
    at_limit = "é" * limit
    updated = apply_profile_changes(make_user(), {name: f"  {at_limit}  "}, NOW)
    assert stored(updated, name) == at_limit
    with pytest.raises(ValidationFailed) as caught:
        apply_profile_changes(make_user(), {name: at_limit + "x"}, NOW)
    (error,) = caught.value.errors
    assert (error.field, error.code, error.params["max"]) == (name, "field.too_long", limit)


@given(st.integers(min_value=-5, max_value=20_050))
@settings(max_examples=50)
def test_knowledge_base_length_property(extra: int) -> None:
    text = "k" * extra
    user = make_user()
    if extra > 20_000:
        with pytest.raises(ValidationFailed):
            apply_profile_changes(user, {"gemini_knowledge_base": text}, NOW)
    else:
        expected = text or None
        updated = apply_profile_changes(user, {"gemini_knowledge_base": text}, NOW)
        assert updated.credentials.gemini_knowledge_base == expected


def test_writing_the_mask_back_keeps_every_key() -> None:
    user = make_user()
    creds = user.credentials
    assert creds.whatsapp_api_key is not None
    assert creds.gmail_api_key is not None
    assert creds.gemini_api_key is not None
    changes = {
        "whatsapp_api_key": creds.whatsapp_api_key.masked,
        "gmail_api_key": creds.gmail_api_key.masked,
        "gemini_api_key": creds.gemini_api_key.masked,
    }
    assert apply_profile_changes(user, changes, NOW).credentials == creds


def test_api_key_at_the_limit_is_kept_whole() -> None:
    key = "k" * 4096
    updated = apply_profile_changes(make_user(), {"gemini_api_key": key}, NOW)
    assert updated.credentials.gemini_api_key == Secret(key)


def test_invalid_gmail_address_is_named_by_its_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        apply_profile_changes(make_user(), {"gmail_address": "x" * 300}, NOW)
    assert [(e.field, e.code) for e in caught.value.errors] == [("gmail_address", "field.too_long")]


def test_an_empty_body_only_moves_updated_at() -> None:
    user = make_user()
    assert apply_profile_changes(user, {}, NOW) == dataclasses.replace(user, updated_at=NOW)
