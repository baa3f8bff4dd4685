"""Accounts and profile bodies, and the user as the API shows it."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from nexus_adapters.memo import Memo
from nexus_core.domain.api_keys import Secret
from nexus_core.domain.users import User
from nexus_core.use_cases.profile import api_key_status
from nexus_http.schemas.common import rfc3339


def _masked(secret: Secret | None) -> str | None:
    return None if secret is None else secret.masked


class UserOut(msgspec.Struct, frozen=True):
    """The user, flat, exactly as the settings page reads it; secrets only as masks."""

    id: int
    email: str
    name: str
    phone: str | None
    company: str | None
    whatsapp_api_key: str | None
    whatsapp_phone_number_id: str | None
    gmail_api_key: str | None
    gmail_address: str | None
    gemini_api_key: str | None
    gemini_auto_reply_enabled: bool
    gemini_knowledge_base: str | None
    email_notifications: bool
    push_notifications: bool
    sms_notifications: bool
    profile_visible: bool
    data_sharing: bool
    analytics: bool
    language: str
    timezone: str
    theme: str
    default_country: str
    send_rate_per_minute: int
    created_at: str | None
    updated_at: str | None
    last_login: str | None

    @classmethod
    def of(cls, user: User) -> UserOut:
        # The adapters hand out the same User object while its row is unchanged, so a user
        # calling /me again and again is converted once (keyed by identity: the memo holds the
        # user, so its id cannot be reused meanwhile).
        return _SHOWN.get(id(user), (user,), lambda: cls._convert(user))

    @classmethod
    def _convert(cls, user: User) -> UserOut:
        prefs, creds = user.preferences, user.credentials
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            phone=user.phone,
            company=user.company,
            whatsapp_api_key=_masked(creds.whatsapp_api_key),
            whatsapp_phone_number_id=creds.whatsapp_phone_number_id,
            gmail_api_key=_masked(creds.gmail_api_key),
            gmail_address=creds.gmail_address,
            gemini_api_key=_masked(creds.gemini_api_key),
            gemini_auto_reply_enabled=creds.gemini_auto_reply_enabled,
            gemini_knowledge_base=creds.gemini_knowledge_base,
            email_notifications=prefs.email_notifications,
            push_notifications=prefs.push_notifications,
            sms_notifications=prefs.sms_notifications,
            profile_visible=prefs.profile_visible,
            data_sharing=prefs.data_sharing,
            analytics=prefs.analytics,
            language=prefs.language,
            timezone=prefs.timezone,
            theme=prefs.theme,
            default_country=prefs.default_country,
            send_rate_per_minute=prefs.send_rate_per_minute,
            created_at=rfc3339(user.created_at),
            updated_at=rfc3339(user.updated_at),
            last_login=rfc3339(user.last_login),
        )


_SHOWN: Memo[UserOut] = Memo(capacity=2048)


class UserEnvelope(msgspec.Struct):
    user: UserOut


class UserMessageEnvelope(msgspec.Struct):
    message: str
    user: UserOut


class SessionCheck(msgspec.Struct):
    authenticated: bool
    user: UserOut | None


class RegisterIn(msgspec.Struct):
    email: str
    password: str
    name: str
    phone: str | None = None
    company: str | None = None


class LoginIn(msgspec.Struct):
    email: str
    password: str


class ChangePasswordIn(msgspec.Struct):
    current_password: str
    new_password: str


class DeleteAccountIn(msgspec.Struct):
    password: str


class ProfileIn(msgspec.Struct):
    """Any subset of the writable profile fields; absent ones stay as they are.

    ``email`` and read-only fields (``id``, timestamps) are accepted and ignored.
    """

    name: str | UnsetType = UNSET
    phone: str | UnsetType | None = UNSET
    company: str | UnsetType | None = UNSET
    whatsapp_api_key: str | UnsetType | None = UNSET
    whatsapp_phone_number_id: str | UnsetType | None = UNSET
    gmail_api_key: str | UnsetType | None = UNSET
    gmail_address: str | UnsetType | None = UNSET
    gemini_api_key: str | UnsetType | None = UNSET
    gemini_auto_reply_enabled: bool | UnsetType = UNSET
    gemini_knowledge_base: str | UnsetType | None = UNSET
    email_notifications: bool | UnsetType = UNSET
    push_notifications: bool | UnsetType = UNSET
    sms_notifications: bool | UnsetType = UNSET
    profile_visible: bool | UnsetType = UNSET
    data_sharing: bool | UnsetType = UNSET
    analytics: bool | UnsetType = UNSET
    language: str | UnsetType = UNSET
    timezone: str | UnsetType = UNSET
    theme: str | UnsetType = UNSET
    default_country: str | UnsetType = UNSET
    send_rate_per_minute: int | UnsetType = UNSET

    def changes(self) -> dict[str, Any]:
        """Only the fields the client actually sent."""
        return {
            name: value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not UNSET
        }


class ApiKeys(msgspec.Struct):
    whatsapp_configured: bool
    whatsapp_masked: str | None
    gmail_configured: bool
    gmail_masked: str | None
    gemini_configured: bool
    gemini_masked: str | None

    @classmethod
    def of(cls, user: User) -> ApiKeys:
        keys = api_key_status(user)
        return cls(
            whatsapp_configured=keys["whatsapp"].configured,
            whatsapp_masked=keys["whatsapp"].masked,
            gmail_configured=keys["gmail"].configured,
            gmail_masked=keys["gmail"].masked,
            gemini_configured=keys["gemini"].configured,
            gemini_masked=keys["gemini"].masked,
        )


class ApiKeysEnvelope(msgspec.Struct):
    api_keys: ApiKeys
