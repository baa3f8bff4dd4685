"""The PostgreSQL server the tests use: one database per test session (or pytest-xdist
worker) on the server named by ``NEXUS_TEST_POSTGRES_URL`` (default below), dropped at the
end. An unreachable server skips the PostgreSQL tests with the reason, unless
``NEXUS_REQUIRE_POSTGRES=1`` (CI), which fails them instead.

The ``postgres_session_url`` fixture (``tests/conftest.py``) is built from these; tests empty
the ``public`` schema with ``empty_public_schema`` before each use.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from typing import NoReturn

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool

from nexus_adapters.config import normalise_database_url

POSTGRES_URL_VARIABLE = "NEXUS_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_VARIABLE = "NEXUS_REQUIRE_POSTGRES"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CONNECT_TIMEOUT_SECONDS = 3


def _postgres_server_url() -> URL:
    raw = os.environ.get(POSTGRES_URL_VARIABLE) or DEFAULT_POSTGRES_URL
    return make_url(normalise_database_url(raw))


def _postgres_unavailable(reason: str) -> NoReturn:
    if os.environ.get(REQUIRE_POSTGRES_VARIABLE, "").strip().lower() in {"1", "true", "yes"}:
        pytest.fail(f"{reason} ({REQUIRE_POSTGRES_VARIABLE} is set)", pytrace=False)
    pytest.skip(reason)


def _admin_engine(url: URL) -> Engine:
    return sa.create_engine(
        url,
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )


def session_database() -> Iterator[URL]:
    """A database of its own for this session (or xdist worker), dropped when it ends; skips
    (or fails) when the server does not answer."""
    server = _postgres_server_url()
    shown = server.render_as_string(hide_password=True)
    admin = _admin_engine(server)
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as error:
        admin.dispose()
        detail = str(error.orig).strip().splitlines()[0] if error.orig else type(error).__name__
        _postgres_unavailable(f"PostgreSQL not reachable at {shown}: {detail}")
    # pytest-xdist names its workers gw0, gw1…; each gets its own database.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"nexus_test_{worker}_{os.getpid()}_{secrets.token_hex(4)}".lower()
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def empty_public_schema(url: URL) -> None:
    engine = _admin_engine(url)
    try:
        with engine.connect() as connection:
            # A connection leaked by an earlier test must not hang the whole run.
            connection.exec_driver_sql("SET lock_timeout = '10s'")
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()
