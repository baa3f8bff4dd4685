"""``SqlImportHistory`` against the ``ImportRepository`` port, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nexus_adapters.sql import tables
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.import_history import ImportCounts, ImportedFile
from nexus_core.domain.users import User

STARTED = datetime(2026, 11, 26, 12, 0, 0, 250000, tzinfo=UTC)
ENDED = STARTED + timedelta(seconds=3, microseconds=1)


@pytest.fixture
def owner(add_user: Callable[..., User]) -> User:
    return add_user("ana@example.com")


@pytest.fixture
def stranger(add_user: Callable[..., User]) -> User:
    return add_user("bob@example.com")


def test_an_import_starts_processing(uow_factory: SqlUnitOfWorkFactory, owner: User) -> None:
    with uow_factory(write=True) as uow:
        import_id = uow.imports.start(owner.id, "clientes ñ (1).csv", "csv", STARTED)
        uow.commit()
    with uow_factory() as uow:
        record = uow.imports.get(owner.id, import_id)
    assert record == ImportedFile(
        id=import_id,
        user_id=owner.id,
        filename="clientes ñ (1).csv",
        file_type="csv",
        status="processing",
        counts=ImportCounts(),
        error_message=None,
        created_at=STARTED,
        completed_at=None,
    )
    assert record.created_at.tzinfo is UTC


def test_finish_records_the_counts_and_the_end(
    uow_factory: SqlUnitOfWorkFactory, owner: User
) -> None:
    counts = ImportCounts(total_rows=1200, imported=1150, updated=0, duplicate=40, invalid=10)
    with uow_factory(write=True) as uow:
        completed = uow.imports.start(owner.id, "clientes.xlsx", "excel", STARTED)
        failed = uow.imports.start(owner.id, "notas.pdf", None, STARTED)
        uow.imports.finish(completed, counts, "completed", None, ENDED)
        uow.imports.finish(failed, ImportCounts(), "failed", "import.unsupported_type", ENDED)
        uow.commit()
    with uow_factory() as uow:
        done = uow.imports.get(owner.id, completed)
        refused = uow.imports.get(owner.id, failed)
    assert done is not None
    assert refused is not None
    assert (done.status, done.counts, done.error_message) == ("completed", counts, None)
    assert (done.created_at, done.completed_at) == (STARTED, ENDED)
    assert (refused.status, refused.file_type, refused.error_message) == (
        "failed",
        None,
        "import.unsupported_type",
    )
    assert refused.counts == ImportCounts()


def test_history_is_newest_first_and_paged(
    uow_factory: SqlUnitOfWorkFactory, owner: User, stranger: User
) -> None:
    with uow_factory(write=True) as uow:
        ids = [
            uow.imports.start(owner.id, f"f{n}.csv", "csv", STARTED + timedelta(minutes=n // 2))
            for n in range(5)
        ]  # pairs started at the same moment: the later-started first
        uow.imports.start(stranger.id, "ajeno.csv", "csv", ENDED)
        uow.commit()
    newest_first = [ids[4], ids[3], ids[2], ids[1], ids[0]]
    with uow_factory() as uow:
        pages = [uow.imports.page(owner.id, page, 2) for page in (1, 2, 3, 4)]
        everything = uow.imports.page(owner.id, 1, 100)
        theirs = uow.imports.page(stranger.id, 1, 20)
    assert [[r.id for r in records] for records, _ in pages] == [
        newest_first[:2],
        newest_first[2:4],
        newest_first[4:],
        [],
    ]
    assert {total for _, total in pages} == {5}
    assert [r.id for r in everything[0]] == newest_first
    assert [r.filename for r in theirs[0]] == ["ajeno.csv"]
    assert theirs[1] == 1


def test_another_users_import_is_like_a_missing_one(
    uow_factory: SqlUnitOfWorkFactory, owner: User, stranger: User
) -> None:
    with uow_factory(write=True) as uow:
        import_id = uow.imports.start(owner.id, "clientes.csv", "csv", STARTED)
        uow.commit()
    with uow_factory() as uow:
        assert uow.imports.get(stranger.id, import_id) is None
        assert uow.imports.get(owner.id, 987654) is None
        assert uow.imports.page(stranger.id, 1, 20) == ([], 0)


def test_a_failed_import_can_be_recorded_after_its_contacts_were_rolled_back(
    uow_factory: SqlUnitOfWorkFactory, owner: User
) -> None:
    """The use case's order: start (committed), import (rolled back), finish as failed."""
    with uow_factory(write=True) as uow:
        import_id = uow.imports.start(owner.id, "roto.csv", "csv", STARTED)
        uow.commit()

    class Unreadable(Exception):
        pass

    with pytest.raises(Unreadable), uow_factory(write=True):
        raise Unreadable
    with uow_factory(write=True) as uow:
        uow.imports.finish(
            import_id, ImportCounts(3, 0, 0, 0, 3), "failed", "import.undecodable", ENDED
        )
        uow.commit()
    with uow_factory() as uow:
        record = uow.imports.get(owner.id, import_id)
    assert record is not None
    assert (record.status, record.counts.total_rows) == ("failed", 3)


def test_deleting_the_user_deletes_their_history(
    uow_factory: SqlUnitOfWorkFactory, owner: User, stranger: User, migrated_engine: Engine
) -> None:
    with uow_factory(write=True) as uow:
        uow.imports.start(owner.id, "a.csv", "csv", STARTED)
        uow.imports.start(stranger.id, "b.csv", "csv", STARTED)
        uow.commit()
    with uow_factory(write=True) as uow:
        uow.users.delete(owner.id)
        uow.commit()
    with migrated_engine.connect() as connection:
        left = connection.execute(sa.select(tables.contact_imports.c.filename)).scalars().all()
    assert left == ["b.csv"]
