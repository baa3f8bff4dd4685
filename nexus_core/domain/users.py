"""The user account: identity, profile, preferences and channel credentials."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nexus_core.domain import preferences
from nexus_core.domain.api_keys import API_KEY_MAX, Secret, apply_key_write
from nexus_core.domain.emails import normalise_email
from nexus_core.domain.passwords import check_new_password
from nexus_core.domain.phones import to_e164
from nexus_core.domain.text import (
    COMPANY_MAX,
    KNOWLEDGE_BASE_MAX,
    NAME_MAX,
    check_text_type,
    optional_text,
    required_text,
)
from nexus_core.errors import Collector, ValidationFailed

DEFAULT_COUNTRY = "ES"


@dataclass(frozen=True, slots=True)
class Preferences:
    """Settings a new user starts with, exactly as the contract lists them."""

    email_notifications: bool = True
    push_notifications: bool = True
    sms_notifications: bool = False
    profile_visible: bool = True
    data_sharing: bool = False
    analytics: bool = True
    language: str = "es"
    timezone: str = "Europe/Madrid"
    theme: str = "light"
    default_country: str = DEFAULT_COUNTRY
    send_rate_per_minute: int = 60


@dataclass(frozen=True, slots=True)
class Credentials:
    """Channel credentials; the ``Secret`` values are encrypted at rest by the repository."""

    whatsapp_api_key: Secret | None = None
    whatsapp_phone_number_id: str | None = None
    gmail_api_key: Secret | None = None
    gmail_address: str | None = None
    gemini_api_key: Secret | None = None
    gemini_auto_reply_enabled: bool = False
    gemini_knowledge_base: str | None = None


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    password_hash: str
    name: str
    phone: str | None
    company: str | None
    preferences: Preferences
    credentials: Credentials
    created_at: datetime
    updated_at: datetime
    last_login: datetime | None


@dataclass(frozen=True, slots=True)
class Registration:
    """A validated sign-up, before it has an id or a password hash."""

    email: str
    name: str
    phone: str | None
    company: str | None


def validate_registration(
    email: str, password: str, name: str, phone: str | None, company: str | None
) -> Registration:
    """Check every sign-up field at once; raise one ``ValidationFailed`` listing all problems.

    The password is checked but not kept: it goes to the hasher, never into an entity.
    """
    errors = Collector()
    clean_email = errors.check("email", lambda: normalise_email(email))
    errors.check("password", lambda: check_new_password(password))
    clean_name = errors.check("name", lambda: required_text(name, max_length=NAME_MAX))
    clean_phone = errors.check("phone", lambda: _optional_phone(phone, DEFAULT_COUNTRY))
    clean_company = errors.check("company", lambda: optional_text(company, max_length=COMPANY_MAX))
    errors.raise_if_any()
    return Registration(clean_email, clean_name, clean_phone, clean_company)


def _optional_phone(raw: str | None, country: str) -> str | None:
    if raw is None or not check_text_type(raw).strip():
        return None
    return to_e164(raw, country)


def _optional_identifier(raw: str | None) -> str | None:
    return optional_text(raw, max_length=200)


def _optional_email(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    return normalise_email(raw)


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed.single("", "field.wrong_type")
    return value


def _api_key(current: Secret | None, written: str | None) -> Secret | None:
    if written is not None:
        check_text_type(written)
    new = apply_key_write(current, written)
    if new is not None and len(new.value) > API_KEY_MAX:
        raise ValidationFailed.single("", "field.too_long", max=API_KEY_MAX)
    return new


# Each writable profile field: which part of the user it lives in, and its rule.
# A rule takes (current value, written value, user) and returns the value to store.
_PREFERENCE_RULES: dict[str, Any] = {
    "email_notifications": lambda cur, new, user: _flag(new),
    "push_notifications": lambda cur, new, user: _flag(new),
    "sms_notifications": lambda cur, new, user: _flag(new),
    "profile_visible": lambda cur, new, user: _flag(new),
    "data_sharing": lambda cur, new, user: _flag(new),
    "analytics": lambda cur, new, user: _flag(new),
    "language": lambda cur, new, user: preferences.check_language(new),
    "timezone": lambda cur, new, user: preferences.check_timezone(new),
    "theme": lambda cur, new, user: preferences.check_theme(new),
    "default_country": lambda cur, new, user: preferences.check_country(new),
    "send_rate_per_minute": lambda cur, new, user: preferences.check_send_rate(new),
}
_CREDENTIAL_RULES: dict[str, Any] = {
    "whatsapp_api_key": lambda cur, new, user: _api_key(cur, new),
    "whatsapp_phone_number_id": lambda cur, new, user: _optional_identifier(new),
    "gmail_api_key": lambda cur, new, user: _api_key(cur, new),
    "gmail_address": lambda cur, new, user: _optional_email(new),
    "gemini_api_key": lambda cur, new, user: _api_key(cur, new),
    "gemini_auto_reply_enabled": lambda cur, new, user: _flag(new),
    "gemini_knowledge_base": lambda cur, new, user: optional_text(
        new, max_length=KNOWLEDGE_BASE_MAX
    ),
}
_IDENTITY_RULES: dict[str, Any] = {
    "name": lambda cur, new, user: required_text(new or "", max_length=NAME_MAX),
    "company": lambda cur, new, user: optional_text(new, max_length=COMPANY_MAX),
}
# Fields whose rule rejects an explicit null (booleans and enumerations).
_NOT_NULLABLE = frozenset(
    {
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
        "gemini_auto_reply_enabled",
        "name",
    }
)
PROFILE_FIELDS = frozenset({*_PREFERENCE_RULES, *_CREDENTIAL_RULES, *_IDENTITY_RULES, "phone"})


def apply_profile_changes(user: User, changes: Mapping[str, Any], now: datetime) -> User:
    """The user after a partial profile write; every bad field is reported at once.

    ``changes`` holds only the fields the client sent (unknown and read-only ones are ignored).
    The user's own phone is read with their default country — the new one when both change.
    """
    errors = Collector()
    prefs: dict[str, Any] = {}
    creds: dict[str, Any] = {}
    identity: dict[str, Any] = {}
    for name, value in changes.items():
        if name not in PROFILE_FIELDS or name == "phone":
            continue
        if value is None and name in _NOT_NULLABLE:
            errors.add(name, "field.required")
            continue
        for rules, target, section in (
            (_PREFERENCE_RULES, prefs, user.preferences),
            (_CREDENTIAL_RULES, creds, user.credentials),
            (_IDENTITY_RULES, identity, user),
        ):
            if name in rules:
                current = getattr(section, name)
                rule = rules[name]
                result = errors.check(name, lambda r=rule, c=current, v=value: r(c, v, user))
                target[name] = result
    new_prefs = dataclasses.replace(user.preferences, **prefs)
    if "phone" in changes:
        # An invalid new country is already reported (and left as None): read with the old one.
        country = new_prefs.default_country or user.preferences.default_country
        identity["phone"] = errors.check(
            "phone", lambda: _optional_phone(changes["phone"], country)
        )
    errors.raise_if_any()
    return dataclasses.replace(
        user,
        preferences=new_prefs,
        credentials=dataclasses.replace(user.credentials, **creds),
        updated_at=now,
        **identity,
    )
