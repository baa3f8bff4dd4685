"""One database transaction over every repository; rolls back unless committed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine, RootTransaction

from nexus_adapters.sql.engine import WRITER_OPTIONS, reader_options
from nexus_adapters.sql.repositories.rate_counters import SqlRateCounters
from nexus_adapters.sql.repositories.sessions import SqlSessions
from nexus_adapters.sql.repositories.users import SqlUsers
from nexus_core.ports import (
    RateCounterRepository,
    SecretBox,
    SessionRepository,
    UserRepository,
)


class SqlUnitOfWork:
    users: UserRepository
    sessions: SessionRepository
    rate_counters: RateCounterRepository

    _transaction: RootTransaction | None

    def __init__(self, engine: Engine, secret_box: SecretBox, *, write: bool) -> None:
        self._engine = engine
        self._secret_box = secret_box
        self._write = write

    def __enter__(self) -> Self:
        connection: Connection = self._engine.connect()
        try:
            connection.execution_options(
                **(WRITER_OPTIONS if self._write else reader_options(connection))
            )
            # Writers begin (and so take SQLite's write lock) at once; readers let SQLAlchemy
            # begin on their first statement, if it needs to, which spares a lookup two events.
            self._transaction = connection.begin() if self._write else None
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        self.users = SqlUsers(connection, self._secret_box)
        self.sessions = SqlSessions(connection, self._secret_box)
        self.rate_counters = SqlRateCounters(connection)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._transaction is not None and self._transaction.is_active:
                self._transaction.rollback()
        finally:
            self._connection.close()  # also rolls back whatever a reader began

    def commit(self) -> None:
        if self._transaction is None:
            self._connection.commit()
        else:
            self._transaction.commit()


class SqlUnitOfWorkFactory:
    """What the use cases call to open a unit of work on this engine."""

    def __init__(self, engine: Engine, secret_box: SecretBox) -> None:
        self.engine = engine
        self._secret_box = secret_box

    def __call__(self, *, write: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self._secret_box, write=write)
