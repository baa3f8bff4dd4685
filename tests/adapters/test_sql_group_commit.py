"""``GroupCommitWriter``: concurrent works share transactions, and each stands or falls alone."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from nexus_adapters.sql.group_commit import GroupCommitWriter
from nexus_adapters.sql.tables import contacts
from nexus_adapters.sql.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory
from nexus_core.domain.contact_records import Contact
from nexus_core.domain.contacts import ContactDraft
from nexus_core.domain.users import User
from nexus_core.errors import Conflict
from nexus_core.ports import UnitOfWork

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Boom(Exception):
    pass


class CountingUnitsOfWork(SqlUnitOfWorkFactory):
    """Counts the write units of work (transactions) the writer opens."""

    transactions = 0

    def __call__(self, *, write: bool = False) -> SqlUnitOfWork:
        if write:
            self.transactions += 1
        return super().__call__(write=write)


@pytest.fixture
def counted(uow_factory: SqlUnitOfWorkFactory) -> Iterator[CountingUnitsOfWork]:
    factory = CountingUnitsOfWork(uow_factory.engine, uow_factory._secret_box)
    yield factory
    factory.close()


@pytest.fixture
def writer(counted: CountingUnitsOfWork) -> Iterator[GroupCommitWriter]:
    writer = GroupCommitWriter(counted)
    yield writer
    writer.close()


def adding(user: User, number: int) -> Callable[[UnitOfWork], Contact]:
    draft = ContactDraft(name=f"Cliente {number}", phone=f"+3460{number:07d}", email=None)
    return lambda uow: uow.contacts.add(user.id, draft, "manual", NOW)


def stored_phones(counted: CountingUnitsOfWork, user: User) -> list[str]:
    query = select(contacts.c.phone).where(contacts.c.user_id == user.id)
    with counted.engine.connect() as connection:
        return sorted(str(phone) for phone in connection.scalars(query))


def test_a_work_is_committed_and_its_result_returned(
    writer: GroupCommitWriter, counted: CountingUnitsOfWork, add_user: Callable[..., User]
) -> None:
    user = add_user()
    contact = writer.run(adding(user, 1))
    assert contact.phone == "+34600000001"
    with counted() as uow:
        assert uow.contacts.get(user.id, contact.id) == contact


def test_a_work_that_raises_is_undone_alone_and_its_caller_gets_the_exception(
    writer: GroupCommitWriter, counted: CountingUnitsOfWork, add_user: Callable[..., User]
) -> None:
    user = add_user()
    first_may_finish = threading.Event()

    def first(uow: UnitOfWork) -> Contact:
        # Holds the writer until the others are queued, so they share one transaction.
        first_may_finish.wait(10)
        return adding(user, 1)(uow)

    def half_done_then_fails(uow: UnitOfWork) -> None:
        adding(user, 2)(uow)
        raise Boom

    works: list[Callable[[UnitOfWork], object]] = [
        first,
        half_done_then_fails,
        adding(user, 1),  # the phone ``first`` took: a Conflict
        adding(user, 3),
    ]
    with ThreadPoolExecutor(len(works)) as pool:
        futures = [pool.submit(writer.run, works[0])]
        while counted.transactions == 0:
            time.sleep(0.001)
        futures += [pool.submit(writer.run, work) for work in works[1:]]
        while writer._jobs.qsize() < len(works) - 1:
            time.sleep(0.001)
        first_may_finish.set()
    assert isinstance(made := futures[0].result(), Contact)
    assert made.phone == "+34600000001"
    with pytest.raises(Boom):
        futures[1].result()
    with pytest.raises(Conflict) as conflict:
        futures[2].result()
    assert conflict.value.code == "contact.phone_taken"
    assert isinstance(made := futures[3].result(), Contact)
    assert made.phone == "+34600000003"
    assert counted.transactions == 2
    assert stored_phones(counted, user) == ["+34600000001", "+34600000003"]


def test_concurrent_callers_share_transactions_and_all_are_stored(
    writer: GroupCommitWriter, counted: CountingUnitsOfWork, add_user: Callable[..., User]
) -> None:
    user = add_user()
    with ThreadPoolExecutor(16) as pool:
        made = list(pool.map(writer.run, [adding(user, n) for n in range(200)]))
    assert sorted(contact.phone or "" for contact in made) == stored_phones(counted, user)
    assert len({contact.id for contact in made}) == 200
    assert counted.transactions < 200


class FailingOnce(CountingUnitsOfWork):
    """Its first write unit of work cannot be opened (the database is unavailable)."""

    def __call__(self, *, write: bool = False) -> SqlUnitOfWork:
        if write and self.transactions == 0:
            self.transactions += 1
            raise Boom
        return super().__call__(write=write)


def test_a_failed_transaction_fails_its_works_and_the_writer_goes_on(
    counted: CountingUnitsOfWork, add_user: Callable[..., User]
) -> None:
    user = add_user()
    units_of_work = FailingOnce(counted.engine, counted._secret_box)
    writer = GroupCommitWriter(units_of_work)
    try:
        with pytest.raises(Boom):
            writer.run(adding(user, 1))
        assert writer.run(adding(user, 2)).phone == "+34600000002"
    finally:
        writer.close()
        units_of_work.close()
    assert stored_phones(counted, user) == ["+34600000002"]


def test_close_finishes_what_was_queued_and_a_later_run_starts_again(
    writer: GroupCommitWriter, counted: CountingUnitsOfWork, add_user: Callable[..., User]
) -> None:
    user = add_user()
    writer.run(adding(user, 1))
    writer.close()
    assert writer.run(adding(user, 2)).phone == "+34600000002"
    assert stored_phones(counted, user) == ["+34600000001", "+34600000002"]


def test_batches_of_two_processes_taking_users_in_opposite_orders_take_turns(
    counted: CountingUnitsOfWork, add_user: Callable[..., User]
) -> None:
    """Two writers (as in two server processes) whose transactions each hold one user's row
    (contacts version, counters) and then want the other's: they take turns (PostgreSQL: an
    advisory lock; SQLite: its single writer) instead of deadlocking, so neither is aborted
    and run again."""
    ana, bea = add_user("ana@example.com"), add_user("bea@example.com")
    both_hold_their_first = threading.Barrier(2, timeout=0.5)

    def crossing(first: User, then: User, number: int) -> Callable[[UnitOfWork], list[Contact]]:
        def work(uow: UnitOfWork) -> list[Contact]:
            made = [adding(first, number)(uow)]
            with contextlib.suppress(threading.BrokenBarrierError):
                both_hold_their_first.wait()
            return [*made, adding(then, number + 1)(uow)]

        return work

    one, other = GroupCommitWriter(counted), GroupCommitWriter(counted)
    try:
        with ThreadPoolExecutor(2) as pool:
            a = pool.submit(one.run, crossing(ana, bea, 1))
            b = pool.submit(other.run, crossing(bea, ana, 3))
            made = a.result() + b.result()
    finally:
        one.close()
        other.close()
    assert len(made) == 4
    assert counted.transactions == 2
    assert stored_phones(counted, ana) == ["+34600000001", "+34600000004"]
    assert stored_phones(counted, bea) == ["+34600000002", "+34600000003"]


def test_a_work_cancelled_before_it_began_is_dropped(
    writer: GroupCommitWriter, counted: CountingUnitsOfWork, add_user: Callable[..., User]
) -> None:
    """A request whose client went away before its turn (its future cancelled) writes
    nothing; the works around it are written."""
    user = add_user()
    may_finish = threading.Event()

    def holding(uow: UnitOfWork) -> Contact:
        may_finish.wait(10)
        return adding(user, 1)(uow)

    first = writer.submit(holding)
    while counted.transactions == 0:
        time.sleep(0.001)
    dropped = writer.submit(adding(user, 2))
    kept = writer.submit(adding(user, 3))
    assert dropped.cancel()
    may_finish.set()
    assert first.result().phone == "+34600000001"
    assert kept.result().phone == "+34600000003"
    assert stored_phones(counted, user) == ["+34600000001", "+34600000003"]
