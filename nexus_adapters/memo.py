"""Objects built from values, reused while the values are exactly the same.

Used on the authenticated path: the session lookup still reads its row from the database on
every request (so nothing can go stale, whatever other processes do), but an unchanged row is
not turned into new objects again, nor an unchanged user into a new response body. Rebuilding
them cost more than the query.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


# Builds of different keys run at once unless their keys share one of these locks.
_BUILD_LOCKS = 64


class Memo(Generic[T]):
    """The object last built for each key, with the values it was built from.

    The values are compared with ``==`` (a tuple compares its items by identity first).

    Bounded: past ``capacity`` keys the oldest entry goes. Safe to share between threads.
    Threads that miss the same key at once build it once: the others wait for that build
    and take it when its values are theirs (a burst of requests for a page nobody has read
    yet would otherwise all run its query at once, each slower for the others).
    """

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._entries: dict[Hashable, tuple[Sequence[object], T]] = {}
        self._lock = threading.Lock()
        self._build_locks = [threading.RLock() for _ in range(_BUILD_LOCKS)]

    def get(self, key: Hashable, values: Sequence[object], build: Callable[[], T]) -> T:
        entry = self._entries.get(key)
        if entry is not None and entry[0] == values:
            return entry[1]
        with self._build_locks[hash(key) % _BUILD_LOCKS]:
            entry = self._entries.get(key)  # built by another thread meanwhile?
            if entry is not None and entry[0] == values:
                return entry[1]
            built = build()
            self._keep(key, values, built)
        return built

    def _keep(self, key: Hashable, values: Sequence[object], built: T) -> None:
        with self._lock:
            self._entries.pop(key, None)
            while len(self._entries) >= self._capacity:
                del self._entries[next(iter(self._entries))]
            self._entries[key] = (tuple(values), built)
