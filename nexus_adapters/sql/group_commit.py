"""Group commit: the short writes of concurrent requests committed in one transaction.

A write unit of work pays for its transaction whatever it writes: the write lock (SQLite lets
one transaction write at a time, across every server process), the commit, and on both
databases the row of the owning user that every contact write updates (its contacts version
and counters), which concurrent transactions take in turn. Under a burst of creates those
costs, not the inserts, set the pace, and the requests queue behind one another.

Here the works of many callers are queued to one writer thread per process, which runs all
that are waiting in one transaction, each in a savepoint of its own (a work that raises is
undone alone and its caller gets the exception), and answers every caller once that
transaction has committed: nothing is acknowledged before it is durable. The more requests
arrive at once, the more share a transaction; a lone request waits only for the hop to the
writer thread.

On PostgreSQL the batches of all processes take one advisory lock, so they run one at a time,
as SQLite's writers do: two batches taking their users' rows in opposite orders would
otherwise deadlock. A batch that still loses a deadlock or a serialisation conflict to some
other transaction is run again (works only write to the database, so that is safe).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from nexus_adapters.sql.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory
from nexus_core.ports import UnitOfWork

T = TypeVar("T")

# The most works one transaction takes: enough to absorb a burst from a full handler pool,
# few enough that the first caller of a batch does not wait long for the last.
BATCH_LIMIT = 64
# The advisory lock key of the batches (PostgreSQL), and how often a batch that lost a
# deadlock or a serialisation conflict is tried again.
BATCH_LOCK_KEY = 0x6E657875_7367C0
ATTEMPTS = 3
# PostgreSQL's deadlock_detected and serialization_failure: the transaction may simply be
# run again.
_RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})

_Job = tuple[Callable[[UnitOfWork], Any], "Future[Any]"]


class GroupCommitWriter:
    """Runs works (see ``nexus_core.ports.GroupWriter``) on a writer thread of its own."""

    def __init__(self, units_of_work: SqlUnitOfWorkFactory, batch_limit: int = BATCH_LIMIT) -> None:
        self._units_of_work = units_of_work
        self._batch_limit = batch_limit
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._starting = threading.Lock()
        self._thread: threading.Thread | None = None
        self._thread_pid = 0

    def submit(self, work: Callable[[UnitOfWork], T]) -> Future[T]:
        done: Future[T] = Future()
        self._ensure_thread()
        self._jobs.put((work, done))
        return done

    def run(self, work: Callable[[UnitOfWork], T]) -> T:
        return self.submit(work).result()

    def close(self) -> None:
        """Finish the works queued so far and stop the writer thread."""
        with self._starting:
            thread = self._thread
            if thread is None or self._thread_pid != os.getpid():
                return
            self._jobs.put(None)
            thread.join()
            self._thread = None

    def _ensure_thread(self) -> None:
        # Started on first use, and again in a forked child: threads do not survive a fork.
        if self._thread is not None and self._thread_pid == os.getpid():
            return
        with self._starting:
            if self._thread is None or self._thread_pid != os.getpid():
                if self._thread_pid != os.getpid():
                    self._jobs = queue.SimpleQueue()
                self._thread = threading.Thread(
                    target=self._write_batches, name="group-commit", daemon=True
                )
                self._thread_pid = os.getpid()
                self._thread.start()

    def _write_batches(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            batch = [job]
            while len(batch) < self._batch_limit:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._write(batch)
                    return
                batch.append(job)
            self._write(batch)

    def _write(self, queued: list[_Job]) -> None:
        # A caller that gave up (its future cancelled) before its work began is dropped; the
        # others' futures can no longer be cancelled.
        batch = [(work, done) for work, done in queued if done.set_running_or_notify_cancel()]
        if not batch:
            return
        for attempt in range(1, ATTEMPTS + 1):
            try:
                results = self._transaction(batch)
                break
            except DBAPIError as failure:
                if attempt < ATTEMPTS and _retryable(failure):
                    continue
                _fail(batch, failure)
                return
            except BaseException as failure:  # the transaction failed: nothing was written
                _fail(batch, failure)
                return
        for done, result, error in results:
            if error is None:
                done.set_result(result)
            else:
                done.set_exception(error)

    def _transaction(
        self, batch: list[_Job]
    ) -> list[tuple[Future[Any], Any, BaseException | None]]:
        """Run the batch's works in one committed transaction: each future with its result
        or the exception its work raised (not yet set)."""
        results = []
        with self._units_of_work(write=True) as uow:
            if uow.connection.dialect.name == "postgresql":
                uow.connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": BATCH_LOCK_KEY}
                )
            for work, done in batch:
                results.append((done, *_in_savepoint(uow, work)))
            uow.commit()
        return results


def _fail(batch: list[_Job], failure: BaseException) -> None:
    for _, done in batch:
        done.set_exception(failure)


def _retryable(failure: DBAPIError) -> bool:
    return getattr(failure.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES


def _in_savepoint(
    uow: SqlUnitOfWork, work: Callable[[UnitOfWork], Any]
) -> tuple[Any, BaseException | None]:
    """``work``'s result, or the exception it raised with its writes undone."""
    try:
        with uow.savepoint():
            return work(uow), None
    except DBAPIError as error:
        if _retryable(error):
            raise  # the whole batch is run again
        return None, error
    except Exception as error:
        return None, error
