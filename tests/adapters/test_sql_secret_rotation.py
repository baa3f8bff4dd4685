"""Key rotation: every stored API key re-encrypted under the newest key, on both databases."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import Engine, select

from nexus_adapters.security.secret_box import FernetSecretBox, SecretUnreadable
from nexus_adapters.sql.secret_rotation import rotate_stored_secrets
from nexus_adapters.sql.tables import users
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.api_keys import Secret
from nexus_core.domain.users import User

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _give_keys(uow_factory: SqlUnitOfWorkFactory, user: User, **keys: Secret | None) -> None:
    with uow_factory(write=True) as uow:
        uow.users.save(
            dataclasses.replace(
                user, credentials=dataclasses.replace(user.credentials, **keys), updated_at=NOW
            )
        )
        uow.commit()


def test_rotation_re_encrypts_every_stored_key_under_the_new_key(
    migrated_engine: Engine,
    secret_box: FernetSecretBox,
    encryption_key: str,
    uow_factory: SqlUnitOfWorkFactory,
    add_user: Callable[..., User],
) -> None:
    ana, bob, eve = add_user("ana@example.com"), add_user("bob@example.com"), add_user("e@x.co")
    _give_keys(uow_factory, ana, whatsapp_api_key=Secret("wa-key-of-ana-0001"))
    _give_keys(
        uow_factory,
        bob,
        gmail_api_key=Secret("gmail-app-password-bob"),
        gemini_api_key=Secret("gemini-key-of-bob-0002"),
    )
    del eve  # a user without keys is left alone

    new_key = Fernet.generate_key().decode()
    both = FernetSecretBox([new_key, encryption_key])

    assert rotate_stored_secrets(migrated_engine, both) == 3

    only_new = SqlUnitOfWorkFactory(migrated_engine, FernetSecretBox([new_key]))
    with only_new() as uow:
        read_ana = uow.users.get(ana.id)
        read_bob = uow.users.get(bob.id)
    assert read_ana is not None
    assert read_bob is not None
    assert read_ana.credentials.whatsapp_api_key == Secret("wa-key-of-ana-0001")
    assert read_bob.credentials.gmail_api_key == Secret("gmail-app-password-bob")
    assert read_bob.credentials.gemini_api_key == Secret("gemini-key-of-bob-0002")

    # The old key alone no longer reads what was rotated.
    with migrated_engine.connect() as connection:
        stored = connection.execute(
            select(users.c.whatsapp_api_key_encrypted).where(users.c.id == ana.id)
        ).scalar_one()
    with pytest.raises(SecretUnreadable):
        secret_box.decrypt(stored)


def test_rotation_of_an_empty_table_rewrites_nothing(
    migrated_engine: Engine, secret_box: FernetSecretBox
) -> None:
    assert rotate_stored_secrets(migrated_engine, secret_box) == 0


def test_switching_from_the_derived_key_to_explicit_keys_keeps_old_secrets_readable() -> None:
    secret_key = "s" * 64
    before = FernetSecretBox.from_settings((), secret_key)
    stored = before.encrypt("wa-key-0001")

    new_key = Fernet.generate_key().decode()
    after = FernetSecretBox.from_settings((new_key,), secret_key)

    assert after.decrypt(stored) == "wa-key-0001"
    rotated = after.rotate(stored)
    assert FernetSecretBox([new_key]).decrypt(rotated) == "wa-key-0001"
    assert FernetSecretBox([new_key]).decrypt(after.encrypt("x")) == "x"  # new writes: new key


def test_a_key_no_configured_key_can_read_does_not_lock_its_user_out(
    migrated_engine: Engine,
    uow_factory: SqlUnitOfWorkFactory,
    add_user: Callable[..., User],
) -> None:
    ana = add_user("ana@example.com")
    _give_keys(uow_factory, ana, whatsapp_api_key=Secret("wa-key-of-ana-0001"))

    stranger = SqlUnitOfWorkFactory(
        migrated_engine, FernetSecretBox([Fernet.generate_key().decode()])
    )
    with stranger() as uow:
        read = uow.users.get_by_email("ana@example.com")
    assert read is not None
    assert read.credentials.whatsapp_api_key is None
    assert read.email == "ana@example.com"
