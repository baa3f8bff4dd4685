"""Users: rows of ``users`` in and out, with channel secrets encrypted at rest."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from nexus_adapters.security.secret_box import SecretUnreadable
from nexus_adapters.sql.tables import users as t
from nexus_core.domain.api_keys import Secret
from nexus_core.domain.users import Credentials, Preferences, Registration, User
from nexus_core.errors import Conflict
from nexus_core.ports import SecretBox

_PREFERENCE_COLUMNS = tuple(Preferences.__dataclass_fields__)
_SECRET_COLUMNS = {
    "whatsapp_api_key": "whatsapp_api_key_encrypted",
    "gmail_api_key": "gmail_api_key_encrypted",
    "gemini_api_key": "gemini_api_key_encrypted",
}
_PLAIN_CREDENTIAL_COLUMNS = tuple(
    name for name in Credentials.__dataclass_fields__ if name not in _SECRET_COLUMNS
)


log = structlog.get_logger("nexus.adapters")

_BY_ID = select(t).where(t.c.id == bindparam("user_id"))
_BY_EMAIL = select(t).where(t.c.email == bindparam("email"))
# SQLite has no row locks (its writers already hold the database lock); PostgreSQL does.
_BY_ID_FOR_UPDATE = _BY_ID.with_for_update()


def user_from_row(m: Mapping[Any, Any], secret_box: SecretBox) -> User:
    """A ``User`` from a row mapping holding every column of ``users`` (among others)."""

    def secret(column: str) -> Secret | None:
        ciphertext = m[column]
        if ciphertext is None:
            return None
        try:
            return Secret(secret_box.decrypt(ciphertext))
        except SecretUnreadable:
            # Encrypted under a key no longer configured: the user can still log in and sees
            # the key as not configured (writing a new one replaces it).
            log.warning("stored_secret_unreadable", user_id=m["id"], column=column)
            return None

    # String keys: looking columns up by Column object costs more than the query itself.
    return User(
        id=m["id"],
        email=m["email"],
        password_hash=m["password_hash"],
        name=m["name"],
        phone=m["phone"],
        company=m["company"],
        preferences=Preferences(*[m[name] for name in _PREFERENCE_COLUMNS]),
        credentials=Credentials(
            **{name: secret(column) for name, column in _SECRET_COLUMNS.items()},  # type: ignore[arg-type]
            **{name: m[name] for name in _PLAIN_CREDENTIAL_COLUMNS},
        ),
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        last_login=m["last_login"],
    )


class SqlUsers:
    def __init__(self, connection: Connection, secret_box: SecretBox) -> None:
        self._c = connection
        self._box = secret_box

    def add(self, registration: Registration, password_hash: str, now: datetime) -> User:
        defaults = Preferences()
        values: dict[str, Any] = {
            "email": registration.email,
            "password_hash": password_hash,
            "name": registration.name,
            "phone": registration.phone,
            "company": registration.company,
            "created_at": now,
            "updated_at": now,
            **{name: getattr(defaults, name) for name in _PREFERENCE_COLUMNS},
        }
        try:
            with self._c.begin_nested():
                new_id = self._c.execute(insert(t).values(values).returning(t.c.id)).scalar_one()
        except IntegrityError:
            raise Conflict("user.email_taken") from None
        user = self.get(new_id)
        assert user is not None
        return user

    def get(self, user_id: int) -> User | None:
        row = self._c.execute(_BY_ID, {"user_id": user_id}).first()
        return None if row is None else user_from_row(row._mapping, self._box)

    def get_for_update(self, user_id: int) -> User | None:
        row = self._c.execute(_BY_ID_FOR_UPDATE, {"user_id": user_id}).first()
        return None if row is None else user_from_row(row._mapping, self._box)

    def get_by_email(self, email: str) -> User | None:
        row = self._c.execute(_BY_EMAIL, {"email": email}).first()
        return None if row is None else user_from_row(row._mapping, self._box)

    def save(self, user: User) -> None:
        creds = user.credentials

        def encrypted(secret: Secret | None) -> str | None:
            return None if secret is None else self._box.encrypt(secret.value)

        self._c.execute(
            update(t)
            .where(t.c.id == user.id)
            .values(
                name=user.name,
                phone=user.phone,
                company=user.company,
                updated_at=user.updated_at,
                **{name: getattr(user.preferences, name) for name in _PREFERENCE_COLUMNS},
                **{name: getattr(creds, name) for name in _PLAIN_CREDENTIAL_COLUMNS},
                **{
                    column: encrypted(getattr(creds, name))
                    for name, column in _SECRET_COLUMNS.items()
                },
            )
        )

    def record_login(self, user_id: int, now: datetime) -> None:
        self._c.execute(update(t).where(t.c.id == user_id).values(last_login=now))

    def set_password_hash(self, user_id: int, password_hash: str, now: datetime) -> None:
        self._c.execute(
            update(t).where(t.c.id == user_id).values(password_hash=password_hash, updated_at=now)
        )

    def delete(self, user_id: int) -> None:
        # Foreign keys cascade to everything the user owns (sessions today, more later).
        self._c.execute(delete(t).where(t.c.id == user_id))
