"""Alembic environment: runs against the engine handed over by ``nexus_adapters.sql.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from nexus_adapters.sql.engine import WRITER_OPTIONS
from nexus_adapters.sql.schema_scope import include_object_for
from nexus_adapters.sql.tables import metadata

# Any constant: several processes starting at once (nexus serve on many hosts) queue on it.
MIGRATION_LOCK_ID = 7_419_001

engine = context.config.attributes["engine"]

# Writer options: on SQLite the migration runs in one BEGIN IMMEDIATE transaction, so a failed
# one leaves no half schema and concurrent upgraders wait for each other.
with engine.connect().execution_options(**WRITER_OPTIONS) as connection:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
        include_object=include_object_for(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
