"""The dispatch loop: ``dispatch_once`` again at once after a round that claimed something,
else after ``poll_seconds``; the sends run by a thread pool, until ``stop()``. Each round
claims what each user's pace lets leave within ``poll_seconds`` (its horizon), and its sends
wait for their send times, so a user sending 600 a minute gets ten messages a second rather
than one a round.

Stopping lets the round in progress finish: its in-flight sends complete and their outcomes are
recorded before ``run`` returns. A dispatcher that dies instead leaves its leases to expire;
the next round of any dispatcher reaps them as ``unknown_outcome`` (send at most once).

Several dispatchers may run against one PostgreSQL database (``claim_due`` never gives two of
them the same delivery); on SQLite ``nexus serve`` runs exactly one (``SingleDispatcherLock``).
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
import signal
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import replace
from types import FrameType
from typing import TypeVar

from nexus_adapters.bootstrap import Adapters, build_adapters, build_channels, unsubscribe_links
from nexus_adapters.config import Settings
from nexus_adapters.startup_heap import freeze_startup_objects
from nexus_core.domain.audience import Channel
from nexus_core.ports import MessageChannel
from nexus_core.use_cases.automation import reply_once
from nexus_core.use_cases.context import Ports
from nexus_core.use_cases.dispatch import DispatchReport, Mapper, UnsubscribeLink, dispatch_once

log = logging.getLogger("nexus.worker")

_T = TypeVar("_T")
_R = TypeVar("_R")

DEFAULT_POLL_SECONDS = 1.0
# Sends in flight (most of them waiting on a slow API or for their send time), and deliveries
# claimed per round: no bigger than the pool, so none waits for a thread while its lease runs.
# A round's fixed cost (reap, claim, completion) is spread over this many deliveries: 128
# sends about 1,600 a second through one dispatcher on PostgreSQL where 32 sent 850.
DEFAULT_THREADS = 128
DEFAULT_BATCH = DEFAULT_THREADS
# Longer than any channel's worst case (WhatsApp: 10 s pool + 5 s connect + 10 s write + 30 s
# read; SMTP: up to 30 s for each of its few phases), so a lease only expires when its worker
# died. The price: a dead worker's deliveries are reaped (unknown_outcome) this much later.
# NEXUS_DISPATCH_LEASE_SECONDS overrides it (``lease_seconds``).
DEFAULT_LEASE_SECONDS = 300.0
# After an unexpected error (the database unreachable…), wait this long before the next round.
ERROR_BACKOFF_SECONDS = 5.0
# After a round that claimed something, an empty round is tried again this soon.
RECHECK_SECONDS = 0.02


def lease_seconds(settings: Settings) -> float:
    """The lease of the configured dispatchers: ``NEXUS_DISPATCH_LEASE_SECONDS`` when set."""
    configured = settings.dispatch_lease_seconds
    return DEFAULT_LEASE_SECONDS if configured is None else float(configured)


def new_worker_id() -> str:
    """Unique across hosts, processes and restarts: ``host-pid-random``."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"


def ready_runs(executor: Executor) -> Mapper:
    """A ``Mapper`` running the sends on ``executor``: the results in order, each run
    holding the next result (waited for) and every one after it that is already done, so
    sends that finish together are recorded together and none waits for a later one."""

    def mapper(fn: Callable[[_T], _R], items: Iterable[_T], /) -> Iterator[list[_R]]:
        futures = [executor.submit(fn, item) for item in items]
        index = 0
        while index < len(futures):
            run = [futures[index].result()]
            index += 1
            while index < len(futures) and futures[index].done():
                run.append(futures[index].result())
                index += 1
            yield run

    return mapper


class Dispatcher:
    """Runs dispatch rounds against ``ports`` until stopped (``run`` blocks; ``start`` runs it
    in a thread). ``unsubscribe_url`` gives each email its one-click opt-out link."""

    def __init__(
        self,
        ports: Ports,
        channels: Mapping[Channel, MessageChannel],
        *,
        poll_seconds: float = DEFAULT_POLL_SECONDS,
        threads: int = DEFAULT_THREADS,
        batch: int = DEFAULT_BATCH,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        worker_id: str | None = None,
        unsubscribe_url: UnsubscribeLink | None = None,
    ) -> None:
        self.ports = ports
        self.channels = dict(channels)
        self.poll_seconds = poll_seconds
        self.threads = threads
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.worker_id = worker_id or new_worker_id()
        self.unsubscribe_url = unsubscribe_url
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def round(self, executor: ThreadPoolExecutor) -> DispatchReport:
        """A dispatch round, then a round of AI replies (through the WhatsApp channel)."""
        report = dispatch_once(
            self.ports,
            self.channels,
            worker_id=self.worker_id,
            lease_seconds=self.lease_seconds,
            batch=self.batch,
            send=ready_runs(executor),
            horizon_seconds=self.poll_seconds,
            unsubscribe_url=self.unsubscribe_url,
            on_error=self._log_error,
        )
        whatsapp = self.channels.get("whatsapp")
        if whatsapp is None:
            return report
        replies = reply_once(
            self.ports,
            whatsapp,
            worker_id=self.worker_id,
            lease_seconds=self.lease_seconds,
            batch=self.batch,
            send=ready_runs(executor),
            on_error=self._log_error,
        )
        if replies.claimed or replies.reaped:
            log.info(
                "replies: reaped=%d claimed=%d sent=%d failed=%d skipped=%d",
                replies.reaped,
                replies.claimed,
                replies.sent,
                replies.failed,
                replies.skipped,
            )
        return replace(report, replies=replies.claimed)

    def run(self) -> None:
        """Loop until ``stop()``; the round in progress then finishes and is recorded."""
        busy = False
        with ThreadPoolExecutor(self.threads, thread_name_prefix="nexus-send") as executor:
            while not self.stopping.is_set():
                try:
                    report = self.round(executor)
                except Exception:
                    log.exception(
                        "dispatch round failed; retrying in %.0f s", ERROR_BACKOFF_SECONDS
                    )
                    self.stopping.wait(ERROR_BACKOFF_SECONDS)
                    continue
                if not report.idle:
                    log.info(
                        "dispatch: started=%d reaped=%d claimed=%d sent=%d retried=%d "
                        "failed=%d failed_campaigns=%d completed=%d",
                        report.started,
                        report.reaped,
                        report.claimed,
                        report.sent,
                        report.retried,
                        report.failed,
                        report.failed_campaigns,
                        report.completed,
                    )
                if report.claimed or report.replies:
                    busy = True
                    continue
                # The first empty round after a busy one may only have met a user another
                # dispatcher was claiming for (its row is skipped while locked): look again
                # soon. Only a second empty round in a row means there is nothing to do.
                self.stopping.wait(RECHECK_SECONDS if busy else self.poll_seconds)
                busy = False

    def stop(self) -> None:
        self.stopping.set()

    def start(self) -> threading.Thread:
        """Run in a daemon thread; ``stop()`` then ``join()`` it."""
        thread = threading.Thread(target=self.run, name="nexus-dispatcher", daemon=True)
        self._thread = thread
        thread.start()
        return thread

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def stop_on_signals(self) -> None:
        """SIGTERM and SIGINT stop the loop gracefully (call from the main thread)."""

        def handler(signum: int, frame: FrameType | None) -> None:
            log.info("dispatcher %s stopping (signal %d)", self.worker_id, signum)
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def _log_error(self, what: str, error: BaseException) -> None:
        log.error("dispatch: error %s: %r", what, error, exc_info=error)


class SingleDispatcherLock:
    """At most one holder across processes: an exclusive ``flock`` on ``path``, never
    blocking. The operating system lets go when the holder dies, so another may take over."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None


def run_single_dispatcher(
    dispatcher: Dispatcher, lock: SingleDispatcherLock, *, retry_seconds: float = 5.0
) -> None:
    """Wait for ``lock`` (trying every ``retry_seconds``), then run ``dispatcher`` until it is
    stopped; the lock is released when it ends. For ``nexus serve`` on SQLite: every server
    process calls this in a thread, exactly one dispatches."""
    while not dispatcher.stopping.is_set():
        if lock.try_acquire():
            try:
                log.info("dispatcher %s running in this process", dispatcher.worker_id)
                dispatcher.run()
            finally:
                lock.release()
            return
        dispatcher.stopping.wait(retry_seconds)


# Set by ``nexus serve`` on SQLite: each server process then runs ``start_in_process_dispatcher``.
IN_PROCESS_DISPATCHER_ENV = "NEXUS_IN_PROCESS_DISPATCHER"
# How often a server process that is not dispatching tries to take over (SQLite).
TAKEOVER_SECONDS = 3.0


def dispatcher_lock_path(database_path: str) -> str:
    return f"{database_path}-dispatcher.lock"


def start_in_process_dispatcher(adapters: Adapters) -> Callable[[], None]:
    """For ``nexus serve`` on SQLite: run one dispatcher across every server process of the
    database file. Each process calls this; the one holding ``<file>-dispatcher.lock``
    dispatches, the others try again every few seconds (and take over if it dies). Returns the
    function that stops it (finishing the sends in flight) and releases everything."""
    path = adapters.settings.sqlite_path
    if path is None:
        raise ValueError("an in-process dispatcher needs a SQLite database file")
    channels = build_channels(adapters.settings)
    dispatcher = Dispatcher(
        adapters.ports,
        channels.by_channel,
        lease_seconds=lease_seconds(adapters.settings),
        unsubscribe_url=unsubscribe_links(adapters.settings),
    )
    lock = SingleDispatcherLock(dispatcher_lock_path(str(path)))
    thread = threading.Thread(
        target=run_single_dispatcher,
        args=(dispatcher, lock),
        kwargs={"retry_seconds": TAKEOVER_SECONDS},
        name="nexus-dispatcher",
        daemon=True,
    )
    thread.start()

    def stop() -> None:
        dispatcher.stop()
        thread.join()
        channels.close()

    return stop


def run_worker(settings: Settings) -> None:
    """``nexus worker``: dispatch against the configured database until SIGTERM or SIGINT."""
    adapters = build_adapters(settings)
    channels = build_channels(adapters.settings)
    try:
        dispatcher = Dispatcher(
            adapters.ports,
            channels.by_channel,
            lease_seconds=lease_seconds(adapters.settings),
            unsubscribe_url=unsubscribe_links(adapters.settings),
        )
        dispatcher.stop_on_signals()
        freeze_startup_objects()
        log.info("dispatcher %s started", dispatcher.worker_id)
        dispatcher.run()
        log.info("dispatcher %s stopped", dispatcher.worker_id)
    finally:
        channels.close()
        adapters.close()
