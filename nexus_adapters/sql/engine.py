"""Engines tuned for a web server: SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

# An option of a Connection: its transactions take SQLite's write lock when they begin, so
# two writers queue on busy_timeout instead of failing with "database is locked" on upgrade.
WRITE_OPTION = "nexus_write"
SQLITE_BUSY_TIMEOUT_MS = 10_000
WRITER_OPTIONS: dict[str, Any] = {WRITE_OPTION: True}


def reader_options(connection: Connection) -> dict[str, Any]:
    """Execution options of a read-only unit of work.

    Readers see each statement's own consistent snapshot, without BEGIN and ROLLBACK around
    them: a session lookup is one statement (PostgreSQL runs it in autocommit; SQLite's begin
    hook below emits nothing for readers). Readers must not write: their writes would not be
    transactional.
    """
    if connection.dialect.name == "postgresql":
        return {"isolation_level": "AUTOCOMMIT"}
    return {}


def build_engine(database_url: str, pool_size: int) -> Engine:
    """An engine with ``pool_size`` connections (sized with the handler thread pool)."""
    if database_url.startswith("sqlite"):
        return _sqlite_engine(database_url, pool_size)
    return create_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=0,
        pool_pre_ping=True,
        pool_recycle=1800,
        hide_parameters=True,  # error messages never carry values (hashes, keys, bodies)
        connect_args={"application_name": "nexus"},
    )


# SQLite's page cache per connection, in KiB. Readers keep theirs warm (a thread keeps its
# connection); the main pool's connections write, where a larger cache bought nothing
# measurable (a 100,000-row import took as long with 4 MiB as with 16) and each of them
# kept up to its size in memory: 16 connections of 16 MiB.
READER_CACHE_KIB = 16_000
WRITER_CACHE_KIB = 4_000


def build_sqlite_reader_engine(database_url: str) -> Engine:
    """An unpooled engine for connections that a thread keeps for its reads (see
    ``ThreadReaders``); tuned like the main engine, never taking the main pool's connections."""
    return _sqlite_engine(database_url, pool_size=None, cache_kib=READER_CACHE_KIB)


def _sqlite_engine(
    database_url: str, pool_size: int | None, cache_kib: int = WRITER_CACHE_KIB
) -> Engine:
    in_memory = database_url in {"sqlite://", "sqlite:///:memory:"}
    if in_memory:
        raise ValueError("an in-memory SQLite database cannot be shared; use a file")
    pooling: dict[str, Any] = (
        {"poolclass": NullPool}
        if pool_size is None
        else {"pool_size": pool_size, "max_overflow": 0}
    )
    engine = create_engine(
        database_url,
        **pooling,
        hide_parameters=True,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )

    @event.listens_for(engine, "connect")
    def _tune(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Let SQLAlchemy's "begin" event (below) decide how each transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA cache_size=-{cache_kib}")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        # Readers run without an explicit transaction: in WAL mode each statement reads a
        # consistent snapshot, and a lookup then costs one statement instead of three.
        if connection.get_execution_options().get(WRITE_OPTION, False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
