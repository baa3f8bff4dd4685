"""Fixtures of the adapter tests: every repository test runs on SQLite *and* on PostgreSQL.

``database_url`` is the one parametrised fixture: ``sqlite`` is a fresh file in ``tmp_path``;
``postgresql`` is a database created for this test session (one per pytest-xdist worker) on the
server named by ``NEXUS_TEST_POSTGRES_URL`` (see ``tests/postgres.py``), dropped at the end,
with its ``public`` schema emptied before each test. An unreachable server skips the PostgreSQL
tests with the reason, unless ``NEXUS_REQUIRE_POSTGRES=1`` (CI), which fails them instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.engine import URL, Engine

from nexus_adapters.security.secret_box import FernetSecretBox
from nexus_adapters.sql.engine import build_engine
from nexus_adapters.sql.migrate import upgrade
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.users import Registration, User
from tests.postgres import empty_public_schema

# Connections per test engine: more than the threads any test starts, so none waits for one.
POOL_SIZE = 8

# When ``add_user`` registers its users unless told otherwise.
REGISTERED_AT = datetime(2026, 11, 26, 12, 0, 0, 123456, tzinfo=UTC)
STORED_HASH = "$2b$04$stored-hash"


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
    empty_public_schema(url)
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
