"""Fixtures of the adapter tests: every repository test runs on SQLite *and* on PostgreSQL.

``database_url`` is the one parametrised fixture: ``sqlite`` is a fresh file in ``tmp_path``;
``postgresql`` is a database created for this test session (one per pytest-xdist worker) on the
server named by ``NEXUS_TEST_POSTGRES_URL`` (default below), dropped at the end, with its
``public`` schema emptied before each test. An unreachable server skips the PostgreSQL tests
with the reason, unless ``NEXUS_REQUIRE_POSTGRES=1`` (CI), which fails them instead.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import NullPool

from nexus_adapters.config import normalise_database_url
from nexus_adapters.security.secret_box import FernetSecretBox
from nexus_adapters.sql.engine import build_engine
from nexus_adapters.sql.migrate import upgrade
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.users import Registration, User

POSTGRES_URL_VARIABLE = "NEXUS_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_VARIABLE = "NEXUS_REQUIRE_POSTGRES"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CONNECT_TIMEOUT_SECONDS = 3
# Connections per test engine: more than the threads any test starts, so none waits for one.
POOL_SIZE = 8

# When ``add_user`` registers its users unless told otherwise.
REGISTERED_AT = datetime(2026, 11, 26, 12, 0, 0, 123456, tzinfo=UTC)
STORED_HASH = "$2b$04$stored-hash"


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


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[URL]:
    """A database of its own for this session (or xdist worker), dropped when it ends.

    Requested only by the ``postgresql`` parameter, so a run of SQLite tests never connects.
    The outcome (skip or fail) is cached by pytest and repeated for every PostgreSQL test.
    """
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


def _empty_public_schema(url: URL) -> None:
    engine = _admin_engine(url)
    try:
        with engine.connect() as connection:
            # A connection leaked by an earlier test must not hang the whole run.
            connection.exec_driver_sql("SET lock_timeout = '10s'")
            connection.exec_driver_sql("DROP SCHEMA public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database (no tables), SQLite or PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nexus.db'}"
    url: URL = request.getfixturevalue("postgres_session_url")
    _empty_public_schema(url)
    return url.render_as_string(hide_password=False)


@pytest.fixture
def dialect(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The application's engine (``build_engine``) on the empty database; disposed afterwards."""
    built = build_engine(database_url, POOL_SIZE)
    try:
        yield built
    finally:
        built.dispose()


@pytest.fixture
def migrated_engine(engine: Engine) -> Engine:
    """The engine, with the schema built by the real Alembic migrations."""
    upgrade(engine)
    return engine


@pytest.fixture
def encryption_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def secret_box(encryption_key: str) -> FernetSecretBox:
    return FernetSecretBox([encryption_key])


@pytest.fixture
def uow_factory(
    migrated_engine: Engine, secret_box: FernetSecretBox
) -> Iterator[SqlUnitOfWorkFactory]:
    factory = SqlUnitOfWorkFactory(migrated_engine, secret_box)
    yield factory
    factory.close()


def _registration(email: str = "ana@example.com", **changes: str | None) -> Registration:
    fields: dict[str, str | None] = {
        "name": "Ana García",
        "phone": "+34612345678",
        "company": "Ñandú S.L.",
    }
    fields.update(changes)
    return Registration(email=email, **fields)  # type: ignore[arg-type]


@pytest.fixture
def make_registration() -> Callable[..., Registration]:
    """A valid ``Registration``: ``make_registration("bob@example.com", company=None)``."""
    return _registration


@pytest.fixture
def add_user(uow_factory: SqlUnitOfWorkFactory) -> Callable[..., User]:
    """Register and commit a user: ``add_user("bob@example.com")``."""

    def add(
        email: str = "ana@example.com",
        password_hash: str = STORED_HASH,
        now: datetime = REGISTERED_AT,
        **changes: str | None,
    ) -> User:
        with uow_factory(write=True) as uow:
            user = uow.users.add(_registration(email, **changes), password_hash, now)
            uow.commit()
        return user

    return add
