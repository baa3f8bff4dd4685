"""The Alembic migrations build exactly ``tables.metadata``, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from nexus_adapters.security.secret_box import FernetSecretBox
from nexus_adapters.sql.migrate import alembic_config, current_revision, upgrade
from nexus_adapters.sql.schema_scope import include_object_for, is_search_index_table
from nexus_adapters.sql.tables import metadata
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.users import Registration

APPLICATION_TABLES = {
    "users",
    "sessions",
    "rate_counters",
    "contacts",
    "contact_imports",
    "campaigns",
    "deliveries",
    "delivery_activity",
    "conversations",
    "conversation_messages",
    "bot_activities",
}


def head_revision(engine: Engine) -> str:
    heads = ScriptDirectory.from_config(alembic_config(engine)).get_heads()
    assert len(heads) == 1, f"the migrations have several heads: {heads}"
    return heads[0]


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_object": include_object_for(connection.dialect.name),
            },
        )
        return list(compare_metadata(context, metadata))


def table_names(engine: Engine) -> set[str]:
    """The tables, without SQLite's search index (checked in test_sql_contact_search)."""
    names = sa.inspect(engine).get_table_names()
    return {name for name in names if not is_search_index_table(name)}


def test_a_fresh_database_has_no_revision(engine: Engine) -> None:
    assert current_revision(engine) is None
    assert table_names(engine) == set()


def test_upgrade_builds_the_schema_of_the_metadata(engine: Engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    assert table_names(engine) == APPLICATION_TABLES | {"alembic_version"}
    assert schema_differences(engine) == []


def test_upgrade_is_idempotent_and_keeps_data(engine: Engine) -> None:
    upgrade(engine)
    box = FernetSecretBox([Fernet.generate_key().decode()])
    uow_factory = SqlUnitOfWorkFactory(engine, box)
    now = datetime(2026, 11, 26, tzinfo=UTC)
    with uow_factory(write=True) as uow:
        user = uow.users.add(Registration("ana@example.com", "Ana", None, None), "h", now)
        uow.commit()

    upgrade(engine)
    upgrade(engine)

    assert current_revision(engine) == head_revision(engine)
    assert schema_differences(engine) == []
    with uow_factory() as uow:
        assert uow.users.get(user.id) == user
    with engine.connect() as connection:
        versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    assert [row[0] for row in versions] == [head_revision(engine)]


def test_downgrade_to_base_removes_the_schema_and_upgrade_rebuilds_it(engine: Engine) -> None:
    upgrade(engine)
    command.downgrade(alembic_config(engine), "base")
    assert current_revision(engine) is None
    assert table_names(engine) & APPLICATION_TABLES == set()

    upgrade(engine)
    assert schema_differences(engine) == []


def test_the_metadata_alone_differs_from_an_empty_database(engine: Engine) -> None:
    """The comparison is not vacuous: an empty database is reported as missing every table."""
    added = {
        diff[1].name
        for diff in schema_differences(engine)
        if isinstance(diff, tuple) and diff[0] == "add_table"
    }
    assert added == APPLICATION_TABLES
