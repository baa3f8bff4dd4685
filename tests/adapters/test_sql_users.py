"""``SqlUsers`` against the ``UserRepository`` port, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nexus_adapters.security.secret_box import FernetSecretBox
from nexus_adapters.sql import tables
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.api_keys import Secret
from nexus_core.domain.users import Credentials, Preferences, Registration, User
from nexus_core.errors import Conflict

NOW = datetime(2026, 11, 26, 12, 0, 0, 654321, tzinfo=UTC)
LATER = NOW + timedelta(hours=3, microseconds=7)

WHATSAPP_KEY = "EAAG-whatsapp-secret-token-0123456789"
GMAIL_KEY = "abcd efgh ijkl mnop"
GEMINI_KEY = "AIzaSy-gemini-secret-ñ-0123456789"


def assert_utc(value: datetime | None) -> None:
    assert value is not None
    assert value.tzinfo is UTC, value


def edited(user: User) -> User:
    """``user`` with every field ``save`` writes back set away from its default."""
    return dataclasses.replace(
        user,
        name="Ana María García",
        phone="+34699999999",
        company=None,
        preferences=Preferences(
            email_notifications=False,
            push_notifications=False,
            sms_notifications=True,
            profile_visible=False,
            data_sharing=True,
            analytics=False,
            language="en",
            timezone="America/Argentina/Buenos_Aires",
            theme="system",
            default_country="AR",
            send_rate_per_minute=600,
        ),
        credentials=Credentials(
            whatsapp_api_key=Secret(WHATSAPP_KEY),
            whatsapp_phone_number_id="109876543210987",
            gmail_api_key=Secret(GMAIL_KEY),
            gmail_address="ventas@example.com",
            gemini_api_key=Secret(GEMINI_KEY),
            gemini_auto_reply_enabled=True,
            gemini_knowledge_base="Abrimos de 9 a 18 h.\nEnvíos a toda España.",
        ),
        updated_at=LATER,
    )


def raw_user_row(engine: Engine, user_id: int) -> sa.Row[Any]:
    with engine.connect() as connection:
        return connection.execute(sa.select(tables.users).where(tables.users.c.id == user_id)).one()


def count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_add_returns_the_stored_user_with_defaults(
    uow_factory: SqlUnitOfWorkFactory, make_registration: Callable[..., Registration]
) -> None:
    with uow_factory(write=True) as uow:
        user = uow.users.add(make_registration(), "$2b$04$hash", NOW)
        uow.commit()

    assert user.id > 0
    assert user.email == "ana@example.com"
    assert user.password_hash == "$2b$04$hash"
    assert (user.name, user.phone, user.company) == ("Ana García", "+34612345678", "Ñandú S.L.")
    assert user.preferences == Preferences()
    assert user.credentials == Credentials()
    assert user.created_at == user.updated_at == NOW
    assert user.last_login is None
    assert_utc(user.created_at)
    assert_utc(user.updated_at)

    with uow_factory() as uow:
        assert uow.users.get(user.id) == user
        assert uow.users.get_by_email("ana@example.com") == user


def test_add_keeps_null_optional_fields(
    uow_factory: SqlUnitOfWorkFactory, make_registration: Callable[..., Registration]
) -> None:
    with uow_factory(write=True) as uow:
        user = uow.users.add(make_registration(phone=None, company=None), "h", NOW)
        uow.commit()
    with uow_factory() as uow:
        stored = uow.users.get(user.id)
    assert stored is not None
    assert (stored.phone, stored.company) == (None, None)


def test_unknown_user_is_none(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        assert uow.users.get(12345) is None
        assert uow.users.get_by_email("nobody@example.com") is None


def test_save_round_trips_every_field(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]
) -> None:
    user = add_user(now=NOW)
    changed = edited(user)

    with uow_factory(write=True) as uow:
        uow.users.save(changed)
        uow.commit()

    with uow_factory() as uow:
        by_id = uow.users.get(user.id)
        by_email = uow.users.get_by_email(user.email)
    assert by_id == changed
    assert by_email == changed
    assert by_id is not None
    for moment in (by_id.created_at, by_id.updated_at):
        assert_utc(moment)
    assert by_id.created_at == NOW
    assert by_id.updated_at == LATER


def test_save_can_clear_secrets_and_optional_fields(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User], migrated_engine: Engine
) -> None:
    user = add_user()
    with uow_factory(write=True) as uow:
        uow.users.save(edited(user))
        uow.commit()
    cleared = dataclasses.replace(edited(user), credentials=Credentials(), phone=None)
    with uow_factory(write=True) as uow:
        uow.users.save(cleared)
        uow.commit()

    with uow_factory() as uow:
        assert uow.users.get(user.id) == cleared
    row = raw_user_row(migrated_engine, user.id)
    assert row.whatsapp_api_key_encrypted is None
    assert row.gmail_api_key_encrypted is None
    assert row.gemini_api_key_encrypted is None


def test_timestamps_in_other_offsets_are_stored_as_the_same_instant_in_utc(
    uow_factory: SqlUnitOfWorkFactory, make_registration: Callable[..., Registration]
) -> None:
    madrid_winter = timezone(timedelta(hours=1))
    local = datetime(2026, 11, 26, 13, 0, 0, 1, tzinfo=madrid_winter)
    with uow_factory(write=True) as uow:
        user = uow.users.add(make_registration(), "h", local)
        uow.users.record_login(user.id, local)
        uow.commit()
    with uow_factory() as uow:
        stored = uow.users.get(user.id)
    assert stored is not None
    expected = datetime(2026, 11, 26, 12, 0, 0, 1, tzinfo=UTC)
    for moment in (stored.created_at, stored.updated_at, stored.last_login):
        assert moment == expected
        assert_utc(moment)


def test_naive_datetimes_are_refused(
    uow_factory: SqlUnitOfWorkFactory, make_registration: Callable[..., Registration]
) -> None:
    with uow_factory(write=True) as uow, pytest.raises(sa.exc.StatementError, match="naive"):
        uow.users.add(make_registration(), "h", datetime(2026, 11, 26, 12, 0))


def test_duplicate_email_is_a_conflict_and_the_transaction_stays_usable(
    uow_factory: SqlUnitOfWorkFactory,
    make_registration: Callable[..., Registration],
    migrated_engine: Engine,
) -> None:
    with uow_factory(write=True) as uow:
        first = uow.users.add(make_registration("ana@example.com"), "h1", NOW)
        with pytest.raises(Conflict) as raised:
            uow.users.add(make_registration("ana@example.com", name="Otra Ana"), "h2", NOW)
        assert raised.value.code == "user.email_taken"
        # The failed insert left nothing behind and the transaction carries on.
        assert uow.users.get(first.id) == first
        second = uow.users.add(make_registration("bob@example.com", name="Bob"), "h3", NOW)
        uow.commit()

    assert count(migrated_engine, tables.users) == 2
    with uow_factory() as uow:
        stored = uow.users.get_by_email("ana@example.com")
        assert stored == first
        assert uow.users.get(second.id) == second


def test_duplicate_of_a_committed_email_is_a_conflict(
    uow_factory: SqlUnitOfWorkFactory,
    add_user: Callable[..., User],
    make_registration: Callable[..., Registration],
    migrated_engine: Engine,
) -> None:
    original = add_user("ana@example.com")
    with uow_factory(write=True) as uow:
        with pytest.raises(Conflict) as raised:
            uow.users.add(make_registration("ana@example.com", name="Impostora"), "h", NOW)
        assert raised.value.code == "user.email_taken"
        uow.commit()
    assert count(migrated_engine, tables.users) == 1
    with uow_factory() as uow:
        assert uow.users.get_by_email("ana@example.com") == original


def test_racing_registrations_of_one_email_end_in_one_user_and_one_conflict(
    uow_factory: SqlUnitOfWorkFactory,
    make_registration: Callable[..., Registration],
    migrated_engine: Engine,
) -> None:
    """The unique constraint, not a prior lookup, decides: the loser gets ``Conflict``."""
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def register(name: str) -> None:
        try:
            start.wait(timeout=10)
            with uow_factory(write=True) as uow:
                uow.users.add(make_registration("ana@example.com", name=name), "h", NOW)
                time.sleep(0.1)  # commit late, while the other is inserting
                uow.commit()
            outcomes.append("registered")
        except Conflict as conflict:
            outcomes.append(conflict.code)
        except BaseException as error:  # reported below, in the test's thread
            outcomes.append(repr(error))

    threads = [threading.Thread(target=register, args=(name,)) for name in ("Uno", "Dos")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["registered", "user.email_taken"]
    assert count(migrated_engine, tables.users) == 1


def test_save_does_not_revert_the_password_hash_or_last_login_written_meanwhile(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]
) -> None:
    """A profile edit made from a stale copy must not restore an old password hash."""
    stale = add_user(password_hash="old-hash", now=NOW)
    with uow_factory(write=True) as uow:
        uow.users.set_password_hash(stale.id, "new-hash", NOW + timedelta(seconds=1))
        uow.users.record_login(stale.id, NOW + timedelta(seconds=2))
        uow.commit()
    with uow_factory(write=True) as uow:
        uow.users.save(edited(stale))
        uow.commit()
    with uow_factory() as uow:
        stored = uow.users.get(stale.id)
    assert stored is not None
    assert stored.password_hash == "new-hash"
    assert stored.last_login == NOW + timedelta(seconds=2)
    assert stored.name == edited(stale).name


def test_secrets_are_encrypted_at_rest(
    uow_factory: SqlUnitOfWorkFactory,
    add_user: Callable[..., User],
    migrated_engine: Engine,
    secret_box: FernetSecretBox,
) -> None:
    user = add_user()
    with uow_factory(write=True) as uow:
        uow.users.save(edited(user))
        uow.commit()

    row = raw_user_row(migrated_engine, user.id)
    for column, plaintext in (
        ("whatsapp_api_key_encrypted", WHATSAPP_KEY),
        ("gmail_api_key_encrypted", GMAIL_KEY),
        ("gemini_api_key_encrypted", GEMINI_KEY),
    ):
        ciphertext = row._mapping[column]
        assert isinstance(ciphertext, str)
        assert plaintext not in ciphertext
        assert secret_box.decrypt(ciphertext) == plaintext
    # No other column holds a secret either.
    for value in row._mapping.values():
        for plaintext in (WHATSAPP_KEY, GMAIL_KEY, GEMINI_KEY):
            assert value != plaintext


def test_record_login_sets_only_last_login(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]
) -> None:
    user = add_user(now=NOW)
    with uow_factory(write=True) as uow:
        uow.users.record_login(user.id, LATER)
        uow.commit()
    with uow_factory() as uow:
        stored = uow.users.get(user.id)
    assert stored == dataclasses.replace(user, last_login=LATER)
    assert stored is not None
    assert_utc(stored.last_login)


def test_set_password_hash_changes_hash_and_updated_at(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]
) -> None:
    user = add_user(password_hash="old-hash", now=NOW)
    with uow_factory(write=True) as uow:
        uow.users.set_password_hash(user.id, "new-hash", LATER)
        uow.commit()
    with uow_factory() as uow:
        stored = uow.users.get(user.id)
    assert stored == dataclasses.replace(user, password_hash="new-hash", updated_at=LATER)


def test_delete_removes_the_user_and_cascades_to_sessions(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User], migrated_engine: Engine
) -> None:
    doomed = add_user("ana@example.com")
    kept = add_user("bob@example.com")
    with uow_factory(write=True) as uow:
        uow.sessions.add(doomed.id, "a" * 64, NOW)
        uow.sessions.add(doomed.id, "b" * 64, NOW)
        kept_session = uow.sessions.add(kept.id, "c" * 64, NOW)
        uow.commit()

    with uow_factory(write=True) as uow:
        uow.users.delete(doomed.id)
        uow.commit()

    with uow_factory() as uow:
        assert uow.users.get(doomed.id) is None
        assert uow.users.get_by_email("ana@example.com") is None
        assert uow.sessions.find_with_user("a" * 64) is None
        assert uow.sessions.find_with_user("b" * 64) is None
        found = uow.sessions.find_with_user("c" * 64)
    assert found is not None
    assert found[0] == kept_session
    assert count(migrated_engine, tables.sessions) == 1
    assert count(migrated_engine, tables.users) == 1


def test_a_deleted_users_email_can_register_again(
    uow_factory: SqlUnitOfWorkFactory,
    add_user: Callable[..., User],
    make_registration: Callable[..., Registration],
) -> None:
    old = add_user("ana@example.com")
    with uow_factory(write=True) as uow:
        uow.users.delete(old.id)
        new = uow.users.add(make_registration("ana@example.com"), "h", LATER)
        uow.commit()
    # (SQLite may hand the freed id out again: the table has no AUTOINCREMENT.)
    assert new.created_at == LATER
    assert new.password_hash == "h"
