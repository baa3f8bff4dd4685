"""The SQL repositories pass the repository conformance suite, on SQLite and PostgreSQL.

The schema is migrated once per test; each Hypothesis example then starts from empty tables
(and restarted ids), which is much faster than dropping the schema as ``database_url`` does.
"""

from __future__ import annotations

import sqlalchemy as sa
from hypothesis import HealthCheck, settings

from nexus_adapters.sql.engine import WRITER_OPTIONS
from nexus_adapters.sql.tables import metadata, rate_counters, sessions, users
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from tests.conformance import RowCounts, run_repository_conformance

SETTINGS = settings(
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
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
        counts = [
            connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (users, sessions, rate_counters)
        ]
    return RowCounts(*counts)


def test_the_sql_repositories_conform(uow_factory: SqlUnitOfWorkFactory) -> None:
    def make_store() -> SqlUnitOfWorkFactory:
        _empty_tables(uow_factory)
        return uow_factory

    run_repository_conformance(make_store, count_rows=_count_rows, settings=SETTINGS)
