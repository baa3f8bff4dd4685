"""``build_engine``: SQLite tuned for a web server, PostgreSQL through psycopg 3 with a pool."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from nexus_adapters.config import normalise_database_url
from nexus_adapters.security.secret_box import FernetSecretBox
from nexus_adapters.sql.engine import SQLITE_BUSY_TIMEOUT_MS, build_engine
from nexus_adapters.sql.migrate import upgrade
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory


def test_every_connection_is_tuned(engine: Engine, dialect: str) -> None:
    """Several connections at once, so that each pooled connection is checked, not just one."""
    with contextlib.ExitStack() as stack:
        connections = [stack.enter_context(engine.connect()) for _ in range(3)]
        for connection in connections:

            def scalar(sql: str, on: sa.Connection = connection) -> object:
                return on.exec_driver_sql(sql).scalar()

            if dialect == "sqlite":
                assert scalar("PRAGMA journal_mode") == "wal"
                assert scalar("PRAGMA foreign_keys") == 1
                assert scalar("PRAGMA busy_timeout") == SQLITE_BUSY_TIMEOUT_MS
                assert scalar("PRAGMA synchronous") == 1  # NORMAL
            else:
                assert scalar("SHOW application_name") == "nexus"
                assert scalar("SHOW server_encoding") == "UTF8"
    assert engine.pool.size() == 8  # type: ignore[attr-defined]


def test_postgresql_urls_use_psycopg_3(engine: Engine, dialect: str) -> None:
    assert engine.dialect.name == dialect
    if dialect == "postgresql":
        assert engine.dialect.driver == "psycopg"


def test_foreign_keys_are_enforced(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as connection, pytest.raises(sa.exc.IntegrityError):
        connection.exec_driver_sql(
            "INSERT INTO sessions (user_id, token_hash, created_at, last_seen_at) "
            "VALUES (777, 'x', '2026-11-26 12:00:00', '2026-11-26 12:00:00')"
        )


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'nexus.db'}"


def try_write_lock(path: Path) -> bool:
    """Whether another connection can take SQLite's write lock right now (without waiting)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    problem = ""
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    except sqlite3.OperationalError as error:
        problem = str(error)
    finally:
        other.close()
    assert problem in {"", "database is locked"}, problem
    return not problem


def test_sqlite_write_units_of_work_take_the_write_lock_when_they_begin(tmp_path: Path) -> None:
    engine = build_engine(sqlite_url(tmp_path), 2)
    try:
        upgrade(engine)
        uow_factory = SqlUnitOfWorkFactory(engine, FernetSecretBox([_key()]))
        with uow_factory(write=True):
            assert not try_write_lock(tmp_path / "nexus.db")
        assert try_write_lock(tmp_path / "nexus.db")
        with uow_factory() as uow:
            uow.rate_counters.peek("k")
            # A reader holds no write lock (WAL: readers and the writer do not block).
            assert try_write_lock(tmp_path / "nexus.db")
    finally:
        engine.dispose()


def test_sqlite_write_option_does_not_leak_to_the_next_user_of_a_pooled_connection(
    tmp_path: Path,
) -> None:
    engine = build_engine(sqlite_url(tmp_path), 1)  # one connection: the same one is reused
    try:
        upgrade(engine)
        uow_factory = SqlUnitOfWorkFactory(engine, FernetSecretBox([_key()]))
        with uow_factory(write=True) as uow:
            uow.commit()
        with uow_factory():
            assert try_write_lock(tmp_path / "nexus.db")
    finally:
        engine.dispose()


def test_in_memory_sqlite_is_refused() -> None:
    for url in ("sqlite://", "sqlite:///:memory:"):
        with pytest.raises(ValueError, match="in-memory"):
            build_engine(url, 1)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgres://u:p@db.example.com:5432/nexus",
            "postgresql+psycopg://u:p@db.example.com:5432/nexus",
        ),
        ("postgresql://u@localhost/nexus", "postgresql+psycopg://u@localhost/nexus"),
        ("postgresql+psycopg://u@localhost/nexus", "postgresql+psycopg://u@localhost/nexus"),
        ("sqlite:///nexus.db", "sqlite:///nexus.db"),
        ("sqlite:////var/lib/nexus/nexus.db", "sqlite:////var/lib/nexus/nexus.db"),
    ],
)
def test_database_urls_are_normalised(url: str, expected: str) -> None:
    assert normalise_database_url(url) == expected
    assert normalise_database_url(expected) == expected


def test_a_normalised_url_builds_a_psycopg_engine_without_connecting() -> None:
    engine = build_engine(normalise_database_url("postgres://u@127.0.0.1:1/nexus"), 2)
    try:
        assert engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def _key() -> str:
    return Fernet.generate_key().decode()
