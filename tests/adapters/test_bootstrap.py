"""``build_adapters`` and ``migrate``: the adapters wired from settings, on both databases."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.fernet import Fernet

from nexus_adapters.bootstrap import build_adapters, migrate, utc_now
from nexus_adapters.config import Settings
from nexus_adapters.files import StreamingContactFileReader
from nexus_adapters.security.passwords import BcryptHasher
from nexus_adapters.security.secret_box import FernetSecretBox
from nexus_adapters.security.tokens import SessionTokens
from nexus_adapters.sql import tables
from nexus_adapters.sql.migrate import current_revision
from nexus_core.domain.api_keys import Secret
from nexus_core.domain.users import Registration

SECRET = "k" * 64
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_migrate_then_build_adapters_gives_working_ports(database_url: str) -> None:
    key = Fernet.generate_key().decode()
    settings = Settings(
        database_url=database_url,
        secret_key=SECRET,
        encryption_keys=(key,),
        db_pool_size=2,
        auth_rate_per_minute=7,
        import_rate_per_minute=5,
    )
    migrate(settings)
    adapters = build_adapters(settings)
    try:
        assert adapters.database_ready()
        assert current_revision(adapters.engine) is not None
        ports = adapters.ports
        assert isinstance(ports.hasher, BcryptHasher)
        assert isinstance(ports.tokens, SessionTokens)
        assert ports.auth_limits.auth_requests_per_address.max_events == 7
        assert isinstance(ports.contact_files, StreamingContactFileReader)
        assert (ports.import_limit.max_events, ports.import_limit.window) == (
            5,
            timedelta(minutes=1),
        )
        assert ports.clock().tzinfo is UTC
        assert adapters.engine.pool.size() == 2  # type: ignore[attr-defined]

        with ports.uow(write=True) as uow:
            user = uow.users.add(Registration("ana@example.com", "Ana", None, None), "h", NOW)
            with_key = dataclasses.replace(
                user,
                credentials=dataclasses.replace(user.credentials, gmail_api_key=Secret("gm")),
            )
            uow.users.save(with_key)
            uow.commit()
        with ports.uow() as uow:
            assert uow.users.get(user.id) == with_key

        # Secrets are written under the configured encryption key.
        with adapters.engine.connect() as connection:
            ciphertext = connection.execute(
                sa.select(tables.users.c.gmail_api_key_encrypted)
            ).scalar_one()
        assert FernetSecretBox([key]).decrypt(ciphertext) == "gm"
    finally:
        adapters.close()


def test_without_a_secret_key_development_uses_the_key_beside_the_sqlite_file(
    tmp_path: Path,
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'nexus.db'}", db_pool_size=1)
    migrate(settings)
    adapters = build_adapters(settings)
    try:
        key_file = tmp_path / "nexus.db.secret-key"
        assert adapters.settings.secret_key == key_file.read_text().strip()
        with adapters.ports.uow(write=True) as uow:
            user = uow.users.add(Registration("ana@example.com", "Ana", None, None), "h", NOW)
            uow.users.save(
                dataclasses.replace(
                    user,
                    credentials=dataclasses.replace(
                        user.credentials, gemini_api_key=Secret("gemini")
                    ),
                )
            )
            uow.commit()
    finally:
        adapters.close()

    # A restart derives the same encryption key from the same development secret.
    again = build_adapters(settings)
    try:
        with again.ports.uow() as uow:
            stored = uow.users.get_by_email("ana@example.com")
        assert stored is not None
        assert stored.credentials.gemini_api_key == Secret("gemini")
    finally:
        again.close()


def test_database_ready_is_false_when_the_server_is_unreachable() -> None:
    settings = Settings(
        database_url="postgresql+psycopg://nobody@127.0.0.1:1/nexus?connect_timeout=2",
        secret_key=SECRET,
        db_pool_size=1,
    )
    adapters = build_adapters(settings)  # builds without connecting
    try:
        assert adapters.database_ready() is False
    finally:
        adapters.close()


def test_utc_now_is_aware_utc() -> None:
    now = utc_now()
    assert now.tzinfo is UTC
