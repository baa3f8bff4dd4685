"""One database transaction over every repository; rolls back unless committed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine, NestedTransaction, RootTransaction

from nexus_adapters.memo import Memo
from nexus_adapters.sql.engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    WRITER_OPTIONS,
    build_sqlite_reader_engine,
    reader_options,
)
from nexus_adapters.sql.repositories.automation import SqlAutomation
from nexus_adapters.sql.repositories.campaigns import SqlCampaigns
from nexus_adapters.sql.repositories.contacts import ContactPage, SqlContacts
from nexus_adapters.sql.repositories.conversations import SqlConversations
from nexus_adapters.sql.repositories.dashboard import SqlDashboard
from nexus_adapters.sql.repositories.deliveries import SqlDeliveries
from nexus_adapters.sql.repositories.import_history import SqlImportHistory
from nexus_adapters.sql.repositories.rate_counters import SqlRateCounters
from nexus_adapters.sql.repositories.recent_contacts import RecentContacts
from nexus_adapters.sql.repositories.sessions import SqlSessions
from nexus_adapters.sql.repositories.users import SqlUsers
from nexus_adapters.sql.sqlite_write_gate import SqliteWriteGate
from nexus_core.domain.sessions import Session
from nexus_core.domain.users import User
from nexus_core.ports import (
    AutomationRepository,
    CampaignRepository,
    ContactRepository,
    ConversationRepository,
    DashboardRepository,
    DeliveryRepository,
    ImportRepository,
    RateCounterRepository,
    SecretBox,
    SessionRepository,
    UserRepository,
)


class ThreadReaders:
    """SQLite only: one long-lived read-only connection per thread.

    Checking a connection out of the pool and back costs more than the session lookup behind
    every authenticated request. A SQLite reader holds no lock between statements (each one
    reads its own WAL snapshot), so a thread can keep its reader open. The connections come
    from an unpooled engine of their own, so they never take the writers' pool slots.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = build_sqlite_reader_engine(engine.url.render_as_string(hide_password=False))
        self._local = threading.local()
        self._opened: list[Connection] = []
        self._lock = threading.Lock()

    def connection(self) -> Connection:
        connection: Connection | None = getattr(self._local, "connection", None)
        if connection is None or connection.closed:
            connection = self._engine.connect()
            with self._lock:
                self._opened.append(connection)
            self._local.connection = connection
        return connection

    @staticmethod
    def release(connection: Connection) -> None:
        """End whatever a reader began (SQLAlchemy's own bookkeeping; SQLite began nothing)."""
        if connection.in_transaction():
            connection.rollback()

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()
        self._engine.dispose()


class SqlUnitOfWork:
    users: UserRepository
    sessions: SessionRepository
    rate_counters: RateCounterRepository
    contacts: ContactRepository
    imports: ImportRepository
    campaigns: CampaignRepository
    deliveries: DeliveryRepository
    conversations: ConversationRepository
    automation: AutomationRepository
    dashboard: DashboardRepository

    _transaction: RootTransaction | None

    def __init__(
        self,
        engine: Engine,
        secret_box: SecretBox,
        *,
        write: bool,
        readers: ThreadReaders | None = None,
        sessions_seen: Memo[tuple[Session, User]] | None = None,
        contact_pages_seen: Memo[ContactPage] | None = None,
        write_gate: SqliteWriteGate | None = None,
        recent_contacts: RecentContacts | None = None,
    ) -> None:
        self._engine = engine
        self._secret_box = secret_box
        self._write = write
        self._readers = None if write else readers
        self._sessions_seen = sessions_seen
        self._contact_pages_seen = contact_pages_seen
        self._recent_contacts = recent_contacts or RecentContacts()
        self._write_gate = write_gate if write else None
        self._holds_gate = False

    def __enter__(self) -> Self:
        if self._readers is not None:
            self._transaction = None
            self._connection = self._readers.connection()
            return self
        if self._write_gate is not None:
            self._holds_gate = self._write_gate.acquire()
        try:
            connection: Connection = self._engine.connect()
        except BaseException:
            self._release_gate()
            raise
        try:
            connection.execution_options(
                **(WRITER_OPTIONS if self._write else reader_options(connection))
            )
            # Writers begin (and so take SQLite's write lock) at once; readers let SQLAlchemy
            # begin on their first statement, if it needs to, which spares a lookup two events.
            self._transaction = connection.begin() if self._write else None
        except BaseException:
            connection.close()
            self._release_gate()
            raise
        self._connection = connection
        return self

    def _release_gate(self) -> None:
        if self._holds_gate:
            assert self._write_gate is not None
            self._holds_gate = False
            self._write_gate.release()

    def __getattr__(self, name: str) -> Any:
        """Repositories are built on first use: most units of work touch one or two of them
        (the session lookup behind every request only ``sessions``)."""
        build = _REPOSITORIES.get(name)
        if build is None or "_connection" not in self.__dict__:
            raise AttributeError(name)
        repository = build(self)
        setattr(self, name, repository)
        return repository

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._readers is not None:
            self._readers.release(self._connection)
            return
        try:
            if self._transaction is not None and self._transaction.is_active:
                self._transaction.rollback()
        finally:
            try:
                self._connection.close()  # also rolls back whatever a reader began
            finally:
                self._release_gate()

    @property
    def connection(self) -> Connection:
        """The unit of work's connection, for statements no repository holds."""
        return self._connection

    def savepoint(self) -> NestedTransaction:
        """A savepoint of this write unit of work: ``with`` it, an exception undoes what was
        written inside (and is raised on); otherwise the writes stay in the transaction."""
        return self._connection.begin_nested()

    def commit(self) -> None:
        if self._transaction is None:
            self._connection.commit()
        else:
            self._transaction.commit()


# Sessions (with their users) whose objects a process keeps while their rows read the same.
SESSIONS_REMEMBERED = 2048
# Pages of contact lists a process keeps while their owners' contacts are unchanged (about
# 40 kB each with 50 contacts).
CONTACT_PAGES_REMEMBERED = 256

_REPOSITORIES: dict[str, Callable[[SqlUnitOfWork], object]] = {
    "users": lambda uow: SqlUsers(uow._connection, uow._secret_box),
    "sessions": lambda uow: SqlSessions(uow._connection, uow._secret_box, uow._sessions_seen),
    "rate_counters": lambda uow: SqlRateCounters(uow._connection),
    "contacts": lambda uow: SqlContacts(uow._connection, pages_seen=uow._contact_pages_seen),
    "imports": lambda uow: SqlImportHistory(uow._connection),
    "campaigns": lambda uow: SqlCampaigns(uow._connection),
    "deliveries": lambda uow: SqlDeliveries(uow._connection),
    "conversations": lambda uow: SqlConversations(uow._connection),
    "automation": lambda uow: SqlAutomation(uow._connection),
    "dashboard": lambda uow: SqlDashboard(uow._connection, uow._recent_contacts),
}


class SqlUnitOfWorkFactory:
    """What the use cases call to open a unit of work on this engine."""

    def __init__(
        self,
        engine: Engine,
        secret_box: SecretBox,
        *,
        contact_pages_remembered: int = CONTACT_PAGES_REMEMBERED,
    ) -> None:
        """``contact_pages_remembered=0`` reads every page of contacts afresh (benchmarks)."""
        self.engine = engine
        self._secret_box = secret_box
        is_sqlite = engine.dialect.name == "sqlite"
        self._readers = ThreadReaders(engine) if is_sqlite else None
        self._write_gate = (
            SqliteWriteGate(str(engine.url.database), SQLITE_BUSY_TIMEOUT_MS / 1000)
            if is_sqlite
            else None
        )
        self._sessions_seen: Memo[tuple[Session, User]] = Memo(SESSIONS_REMEMBERED)
        self._contact_pages_seen: Memo[ContactPage] | None = (
            Memo(contact_pages_remembered) if contact_pages_remembered > 0 else None
        )
        self._recent_contacts = RecentContacts()

    def __call__(self, *, write: bool = False) -> SqlUnitOfWork:
        return SqlUnitOfWork(
            self.engine,
            self._secret_box,
            write=write,
            readers=self._readers,
            sessions_seen=self._sessions_seen,
            contact_pages_seen=self._contact_pages_seen,
            write_gate=self._write_gate,
            recent_contacts=self._recent_contacts,
        )

    def close(self) -> None:
        """Close the connections threads kept for reading (the engine is the caller's)."""
        if self._readers is not None:
            self._readers.close()
        if self._write_gate is not None:
            self._write_gate.close()
