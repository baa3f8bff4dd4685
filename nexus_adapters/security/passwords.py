"""bcrypt password hashing (cost 12), in a few low-priority threads."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import bcrypt

from nexus_core.domain.passwords import PASSWORD_MAX_BYTES

BCRYPT_COST = 12
# Niceness of hashing threads: a hash costs about a quarter of a second of CPU, and at this
# priority it yields the processor to ordinary requests instead of queueing them behind it.
HASHING_NICENESS = 10

T = TypeVar("T")


def _lower_priority() -> None:
    # On Linux every thread has its own nice value; elsewhere this is simply not available.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


class BcryptHasher:
    """bcrypt, run by ``max_concurrent`` low-priority threads per process.

    Bounding and de-prioritising hashes keeps the rest of the API responsive while logins run
    at full speed: bcrypt releases the GIL, so the hashing threads use otherwise idle CPU.
    """

    def __init__(self, cost: int = BCRYPT_COST, max_concurrent: int = 1) -> None:
        self._cost = cost
        self._max_concurrent = max_concurrent
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._decoy: str | None = None

    def _run(self, work: Callable[[], T]) -> T:
        if self._pool is None:
            with self._pool_lock:  # created on first use: no threads at import or start-up
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        self._max_concurrent, "bcrypt", initializer=_lower_priority
                    )
        return self._pool.submit(work).result()

    def hash(self, password: str) -> str:
        secret = _encode(password)
        salt = bcrypt.gensalt(self._cost)
        return self._run(lambda: bcrypt.hashpw(secret, salt)).decode("ascii")

    def verify(self, password: str, password_hash: str) -> bool:
        try:
            secret = _encode(password)
            stored = password_hash.encode("ascii")
        except (ValueError, UnicodeError):
            return False
        try:
            return self._run(lambda: bcrypt.checkpw(secret, stored))
        except ValueError:  # not a bcrypt hash
            return False

    @property
    def decoy_hash(self) -> str:
        """Made on first use (not at import) with the same cost, so verifying it takes as long."""
        if self._decoy is None:
            self._decoy = self.hash("decoy password that matches no account")
        return self._decoy


def _encode(password: str) -> bytes:
    """UTF-8 bytes, refusing (never truncating) anything bcrypt would cut."""
    secret = password.encode("utf-8")
    if len(secret) > PASSWORD_MAX_BYTES:
        raise ValueError("password longer than bcrypt accepts")
    return secret
