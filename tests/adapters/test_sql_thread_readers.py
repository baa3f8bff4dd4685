"""Readers on SQLite keep one connection per thread; they must still read like fresh ones."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import Engine

from nexus_adapters.security.secret_box import FernetSecretBox
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.users import User


def _connection_of(factory: SqlUnitOfWorkFactory) -> object:
    with factory() as uow:
        return uow._connection  # the mechanism under test


def test_a_thread_reuses_its_reader_and_threads_do_not_share_one(
    uow_factory: SqlUnitOfWorkFactory, dialect: str
) -> None:
    first, again = _connection_of(uow_factory), _connection_of(uow_factory)
    elsewhere: list[object] = []
    thread = threading.Thread(target=lambda: elsewhere.append(_connection_of(uow_factory)))
    thread.start()
    thread.join()
    if dialect == "sqlite":
        assert first is again
        assert elsewhere[0] is not first
    else:  # PostgreSQL readers take pooled connections, like writers
        assert first is not None
        assert elsewhere[0] is not None


def test_a_kept_reader_sees_every_commit_made_since_its_last_read(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]
) -> None:
    with uow_factory() as uow:
        assert uow.users.get_by_email("late@example.com") is None
    user = add_user("late@example.com")
    with uow_factory() as uow:
        found = uow.users.get_by_email("late@example.com")
    assert found is not None
    assert found.id == user.id


def test_a_kept_reader_holds_no_lock_between_units_of_work(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]
) -> None:
    user = add_user()
    with uow_factory() as uow:
        assert uow.users.get(user.id) is not None
    # A writer in another thread can take the write lock and commit at once.
    done = threading.Event()

    def write() -> None:
        with uow_factory(write=True) as uow:
            uow.sessions.add(user.id, "f" * 64, user.created_at)
            uow.commit()
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(timeout=5)
    assert done.is_set()


def test_close_closes_the_kept_readers(
    migrated_engine: Engine, secret_box: FernetSecretBox, dialect: str
) -> None:
    factory = SqlUnitOfWorkFactory(migrated_engine, secret_box)
    with factory() as uow:
        connection = uow._connection
    assert connection.closed is (dialect != "sqlite")  # a kept reader stays open
    factory.close()
    assert connection.closed
    with factory() as uow:  # a closed factory's threads open a new reader if used again
        assert uow.users.get(1) is None
    factory.close()
