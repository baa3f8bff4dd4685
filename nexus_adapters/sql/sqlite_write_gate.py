"""One writer at a time per SQLite file, queued by the operating system instead of by SQLite.

SQLite lets one transaction write at a time; the others wait in its busy handler, which polls
with sleeps growing to 100 ms. Under a burst of writes from several threads and server
processes, a writer that keeps waking at the wrong moment can lose the race for seconds while
others come and go (a create's p99 of two seconds under load). Here writers first take a
per-process lock and then an exclusive ``flock`` on a file beside the database: waiters sleep
in the kernel and wake as soon as the holder lets go, so ``BEGIN IMMEDIATE`` then finds the
database free.

The gate only orders writers that use it (every write unit of work); anything else that writes
(a migration, another program) still meets SQLite's own lock and busy timeout as before.
"""

from __future__ import annotations

import fcntl
import os
import threading


class SqliteWriteGate:
    """The turn to write to the SQLite database at ``database_path``."""

    def __init__(self, database_path: str, wait_seconds: float) -> None:
        self._lock_path = f"{database_path}-writers.lock"
        self._wait_seconds = wait_seconds
        self._turn = threading.Lock()
        self._fd: int | None = None
        self._fd_pid = 0

    def _lock_file(self) -> int:
        # Opened per process: a descriptor inherited over fork would share its lock with the
        # parent, and two processes holding "the" lock at once would defeat the gate.
        if self._fd is None or self._fd_pid != os.getpid():
            self._fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._fd_pid = os.getpid()
        return self._fd

    def acquire(self) -> bool:
        """Take the turn to write; ``release()`` it once the transaction has ended.

        A thread that waits longer than ``wait_seconds`` for the other threads of its process
        goes on without the turn (and gets False): SQLite's busy timeout then decides, as it
        would have without the gate."""
        if not self._turn.acquire(timeout=self._wait_seconds):
            return False
        try:
            fcntl.flock(self._lock_file(), fcntl.LOCK_EX)
        except BaseException:
            self._turn.release()
            raise
        return True

    def release(self) -> None:
        assert self._fd is not None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._turn.release()

    def close(self) -> None:
        if self._fd is not None and self._fd_pid == os.getpid():
            os.close(self._fd)
        self._fd = None
