"""``SqlSessions`` against the ``SessionRepository`` port, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from nexus_adapters.security.tokens import SessionTokens
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.api_keys import Secret
from nexus_core.domain.sessions import Session
from nexus_core.domain.users import User

NOW = datetime(2026, 11, 26, 12, 0, 0, 250000, tzinfo=UTC)
TOKENS = SessionTokens()


def token_hash(label: str) -> str:
    return TOKENS.hash_token(label)


def test_add_then_find_with_user_returns_session_and_user(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]
) -> None:
    user = add_user()
    with uow_factory(write=True) as uow:
        session = uow.sessions.add(user.id, token_hash("ana"), NOW)
        uow.commit()

    assert session.id > 0
    assert session == Session(session.id, user.id, token_hash("ana"), NOW, NOW)

    with uow_factory() as uow:
        found = uow.sessions.find_with_user(token_hash("ana"))
        stored_user = uow.users.get(user.id)
    assert found is not None
    found_session, found_user = found
    assert found_session == session
    assert found_session.created_at.tzinfo is UTC
    assert found_session.last_seen_at.tzinfo is UTC
    assert found_user == stored_user == user


def test_find_with_user_decrypts_the_users_secrets(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]
) -> None:
    user = add_user()
    with_key = dataclasses.replace(
        user,
        credentials=dataclasses.replace(user.credentials, gemini_api_key=Secret("gemini-123")),
    )
    with uow_factory(write=True) as uow:
        uow.users.save(with_key)
        uow.sessions.add(user.id, token_hash("ana"), NOW)
        uow.commit()
    with uow_factory() as uow:
        found = uow.sessions.find_with_user(token_hash("ana"))
    assert found is not None
    assert found[1] == with_key


def test_find_with_user_picks_the_right_session_among_several(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]
) -> None:
    ana = add_user("ana@example.com")
    bob = add_user("bob@example.com", name="Bob")
    with uow_factory(write=True) as uow:
        ana_session = uow.sessions.add(ana.id, token_hash("ana"), NOW)
        bob_session = uow.sessions.add(bob.id, token_hash("bob"), NOW + timedelta(seconds=1))
        uow.commit()
    with uow_factory() as uow:
        assert uow.sessions.find_with_user(token_hash("ana")) == (ana_session, ana)
        assert uow.sessions.find_with_user(token_hash("bob")) == (bob_session, bob)
        assert uow.sessions.find_with_user(token_hash("nobody")) is None


def test_token_hash_is_unique(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]
) -> None:
    ana = add_user("ana@example.com")
    bob = add_user("bob@example.com")
    with uow_factory(write=True) as uow:
        uow.sessions.add(ana.id, token_hash("same"), NOW)
        uow.commit()
    with uow_factory(write=True) as uow, pytest.raises(sa.exc.IntegrityError):
        uow.sessions.add(bob.id, token_hash("same"), NOW)
    with uow_factory() as uow:
        found = uow.sessions.find_with_user(token_hash("same"))
    assert found is not None
    assert found[1].id == ana.id


def test_a_session_needs_an_existing_user(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory(write=True) as uow, pytest.raises(sa.exc.IntegrityError):
        uow.sessions.add(4242, token_hash("orphan"), NOW)


def test_touch_moves_last_seen_only(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]
) -> None:
    user = add_user()
    with uow_factory(write=True) as uow:
        session = uow.sessions.add(user.id, token_hash("ana"), NOW)
        uow.commit()
    later = NOW + timedelta(minutes=5, microseconds=1)
    with uow_factory(write=True) as uow:
        uow.sessions.touch(session.id, later)
        uow.commit()
    with uow_factory() as uow:
        found = uow.sessions.find_with_user(token_hash("ana"))
    assert found is not None
    assert found[0] == dataclasses.replace(session, last_seen_at=later)


def test_revoke_removes_one_session(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]
) -> None:
    user = add_user()
    with uow_factory(write=True) as uow:
        doomed = uow.sessions.add(user.id, token_hash("one"), NOW)
        uow.sessions.add(user.id, token_hash("two"), NOW)
        uow.commit()
    with uow_factory(write=True) as uow:
        uow.sessions.revoke(doomed.id)
        uow.sessions.revoke(999_999)  # unknown: nothing happens
        uow.commit()
    with uow_factory() as uow:
        assert uow.sessions.find_with_user(token_hash("one")) is None
        assert uow.sessions.find_with_user(token_hash("two")) is not None
        assert uow.users.get(user.id) == user


def test_revoke_all_for_user_keeps_the_exception_and_other_users(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]
) -> None:
    ana = add_user("ana@example.com")
    bob = add_user("bob@example.com")
    with uow_factory(write=True) as uow:
        current = uow.sessions.add(ana.id, token_hash("ana-current"), NOW)
        for label in ("ana-phone", "ana-laptop", "ana-tablet"):
            uow.sessions.add(ana.id, token_hash(label), NOW)
        uow.sessions.add(bob.id, token_hash("bob"), NOW)
        uow.commit()

    with uow_factory(write=True) as uow:
        revoked = uow.sessions.revoke_all_for_user(ana.id, except_session_id=current.id)
        uow.commit()
    assert revoked == 3

    with uow_factory() as uow:
        assert uow.sessions.find_with_user(token_hash("ana-current")) == (current, ana)
        for label in ("ana-phone", "ana-laptop", "ana-tablet"):
            assert uow.sessions.find_with_user(token_hash(label)) is None
        assert uow.sessions.find_with_user(token_hash("bob")) is not None


def test_revoke_all_for_user_without_exception_revokes_everything(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]
) -> None:
    ana = add_user()
    with uow_factory(write=True) as uow:
        uow.sessions.add(ana.id, token_hash("a"), NOW)
        uow.sessions.add(ana.id, token_hash("b"), NOW)
        uow.commit()
    with uow_factory(write=True) as uow:
        assert uow.sessions.revoke_all_for_user(ana.id) == 2
        assert uow.sessions.revoke_all_for_user(ana.id) == 0
        uow.commit()
    with uow_factory() as uow:
        assert uow.sessions.find_with_user(token_hash("a")) is None
        assert uow.sessions.find_with_user(token_hash("b")) is None


def test_purge_expired_removes_idle_and_too_old_sessions_only(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]
) -> None:
    user = add_user()
    idle_before = NOW - timedelta(days=7)
    created_before = NOW - timedelta(days=30)
    with uow_factory(write=True) as uow:
        # Idle: last seen before the idle cut-off.
        idle = uow.sessions.add(user.id, token_hash("idle"), idle_before - timedelta(days=1))
        # Too old: created before the absolute cut-off, though used recently.
        old = uow.sessions.add(user.id, token_hash("old"), created_before - timedelta(seconds=1))
        uow.sessions.touch(old.id, NOW)
        # Exactly on both cut-offs: still alive (the cut-offs are exclusive).
        edge = uow.sessions.add(user.id, token_hash("edge"), created_before)
        uow.sessions.touch(edge.id, idle_before)
        fresh = uow.sessions.add(user.id, token_hash("fresh"), NOW)
        uow.commit()

    with uow_factory(write=True) as uow:
        purged = uow.sessions.purge_expired(idle_before, created_before)
        uow.commit()
    assert purged == 2

    with uow_factory() as uow:
        assert uow.sessions.find_with_user(token_hash("idle")) is None
        assert uow.sessions.find_with_user(token_hash("old")) is None
        assert uow.sessions.find_with_user(token_hash("edge")) is not None
        found = uow.sessions.find_with_user(token_hash("fresh"))
    assert found is not None
    assert found[0] == fresh
    assert idle.id != old.id
