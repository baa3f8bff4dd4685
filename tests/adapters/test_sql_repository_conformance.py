"""The SQL repositories pass the repository conformance suite, on SQLite and PostgreSQL.

The schema is migrated once per test; each Hypothesis example then starts from empty tables
(and restarted ids), which is much faster than dropping the schema as ``database_url`` does.
"""

from __future__ import annotations

import sqlalchemy as sa
from hypothesis import HealthCheck, settings

from nexus_adapters.sql.engine import WRITER_OPTIONS
from nexus_adapters.sql.tables import (
    contact_imports,
    contacts,
    metadata,
    rate_counters,
    sessions,
    users,
)
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from tests.conformance import RowCounts, run_repository_conformance

SETTINGS = settings(
    max_examples=40,
    stateful_step_count=20,
    suppress_health_check=[HealthCheck.too_slow],
    # Shrinking costs a few minutes per failure on PostgreSQL: one at a time is enough.
    report_multiple_bugs=False,
)
# Every table at once, in the order of RowCounts' fields.
COUNT_ROWS = sa.select(
    *(
        sa.select(sa.func.count()).select_from(table).scalar_subquery()
        for table in (users, sessions, rate_counters, contacts, contact_imports)
    )
)


def _empty_tables(factory: SqlUnitOfWorkFactory) -> None:
    with factory.engine.connect() as connection:
        connection.execution_options(**WRITER_OPTIONS)
        with connection.begin():
            if connection.dialect.name == "postgresql":
                # As when the schema is emptied: a leaked connection must not hang the run.
                connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
                names = ", ".join(table.name for table in metadata.sorted_tables)
                connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY")
            else:
                for table in reversed(metadata.sorted_tables):
                    connection.execute(table.delete())
                connection.exec_driver_sql("DELETE FROM sqlite_sequence")


def _count_rows(factory: SqlUnitOfWorkFactory) -> RowCounts:
    with factory.engine.connect() as connection:
        return RowCounts(*connection.execute(COUNT_ROWS).one())


def test_the_sql_repositories_conform(uow_factory: SqlUnitOfWorkFactory) -> None:
    def make_store() -> SqlUnitOfWorkFactory:
        _empty_tables(uow_factory)
        return uow_factory

    run_repository_conformance(make_store, count_rows=_count_rows, settings=SETTINGS)
