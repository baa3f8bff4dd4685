"""``SqlUnitOfWork``: one transaction per unit of work, rolled back unless committed."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.pool import QueuePool

from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.users import Registration, User

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Boom(Exception):
    pass


def test_commit_persists(
    uow_factory: SqlUnitOfWorkFactory, make_registration: Callable[..., Registration]
) -> None:
    with uow_factory(write=True) as uow:
        user = uow.users.add(make_registration(), "h", NOW)
        uow.commit()
    with uow_factory() as uow:
        assert uow.users.get(user.id) == user


def test_without_commit_everything_is_rolled_back(
    uow_factory: SqlUnitOfWorkFactory, make_registration: Callable[..., Registration]
) -> None:
    with uow_factory(write=True) as uow:
        user = uow.users.add(make_registration(), "h", NOW)
        uow.sessions.add(user.id, "f" * 64, NOW)
        uow.rate_counters.hit("k", NOW, timedelta(minutes=1))
        # Visible inside the unit of work…
        assert uow.users.get(user.id) == user
    # …and gone after it.
    with uow_factory() as uow:
        assert uow.users.get_by_email("ana@example.com") is None
        assert uow.sessions.find_with_user("f" * 64) is None
        assert uow.rate_counters.peek("k") is None


def test_an_exception_rolls_back_and_propagates(
    uow_factory: SqlUnitOfWorkFactory, make_registration: Callable[..., Registration]
) -> None:
    def fail_midway() -> None:
        with uow_factory(write=True) as uow:
            uow.users.add(make_registration(), "h", NOW)
            raise Boom

    with pytest.raises(Boom):
        fail_midway()
    with uow_factory() as uow:
        assert uow.users.get_by_email("ana@example.com") is None


def test_an_exception_after_commit_keeps_what_was_committed(
    uow_factory: SqlUnitOfWorkFactory, make_registration: Callable[..., Registration]
) -> None:
    def fail_after_commit() -> None:
        with uow_factory(write=True) as uow:
            uow.users.add(make_registration("ana@example.com"), "h", NOW)
            uow.commit()
            raise Boom

    with pytest.raises(Boom):
        fail_after_commit()
    with uow_factory() as uow:
        assert uow.users.get_by_email("ana@example.com") is not None


def test_work_after_the_commit_is_not_kept(
    uow_factory: SqlUnitOfWorkFactory, make_registration: Callable[..., Registration]
) -> None:
    with uow_factory(write=True) as uow:
        uow.users.add(make_registration("ana@example.com"), "h", NOW)
        uow.commit()
        uow.users.add(make_registration("bob@example.com"), "h", NOW)
    with uow_factory() as uow:
        assert uow.users.get_by_email("ana@example.com") is not None
        assert uow.users.get_by_email("bob@example.com") is None


def test_connections_go_back_to_the_pool(
    uow_factory: SqlUnitOfWorkFactory, migrated_engine: Engine
) -> None:
    # More units of work than the pool has connections (and it has no overflow): a leak
    # would block here until the pool timeout instead of finishing at once.
    pool = migrated_engine.pool
    assert isinstance(pool, QueuePool)
    for index in range(pool.size() * 2 + 1):
        with uow_factory(write=index % 2 == 0) as uow:
            uow.rate_counters.peek("k")
            if index % 3 == 0:
                uow.commit()
    assert pool.checkedout() == 0


def test_uncommitted_writes_are_invisible_to_a_concurrent_reader_who_is_not_blocked(
    uow_factory: SqlUnitOfWorkFactory, make_registration: Callable[..., Registration]
) -> None:
    seen: list[User | None] = []
    with uow_factory(write=True) as writer:
        writer.users.add(make_registration(), "h", NOW)

        def read() -> None:
            with uow_factory() as reader:
                seen.append(reader.users.get_by_email("ana@example.com"))

        thread = threading.Thread(target=read)
        thread.start()
        thread.join(timeout=5)
        assert not thread.is_alive(), "a reader waited for an open write unit of work"
        writer.commit()
    assert seen == [None]


def test_concurrent_write_units_of_work_do_not_fail_and_serialize_on_sqlite(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User], dialect: str
) -> None:
    """Two threads read-modify-write the same user inside write units of work.

    On SQLite a write unit of work takes the write lock when it begins (``BEGIN IMMEDIATE``),
    so the second waits for the first (never "database is locked", never a lost update). On
    PostgreSQL writers run concurrently under READ COMMITTED: only "no error" is promised.
    """
    user = add_user(name="0")
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def increment() -> None:
        try:
            start.wait(timeout=10)
            with uow_factory(write=True) as uow:
                current = uow.users.get(user.id)
                assert current is not None
                time.sleep(0.15)  # hold the transaction open while the other thread starts
                uow.users.save(dataclasses.replace(current, name=str(int(current.name) + 1)))
                uow.commit()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=increment) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    with uow_factory() as uow:
        final = uow.users.get(user.id)
    assert final is not None
    if dialect == "sqlite":
        assert final.name == "2"
    else:
        assert final.name in {"1", "2"}
