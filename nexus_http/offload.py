"""Where a handler's database work runs: on the event loop or in the thread pool."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import anyio.to_thread
from litestar import Request

from nexus_http.session_cookie import adapters_of

T = TypeVar("T")


async def run_lookup(request: Request[Any, Any, Any], work: Callable[[], T]) -> T:
    """Run a short, read-mostly piece of database work (a session lookup, a profile read).

    On SQLite it runs inline: an in-process lookup of tens of microseconds costs less than a
    hop to the thread pool, and a handler thread waiting for the GIL behind a busy event loop
    adds milliseconds to every request. On PostgreSQL every statement waits for the network,
    so the work goes to the thread pool (sized with the connection pool).
    Anything slow — password hashing, imports, writes that may wait for a lock — must not come
    through here: such handlers are plain ``sync_to_thread`` handlers.
    """
    if adapters_of(request).settings.is_sqlite:
        return work()
    return await anyio.to_thread.run_sync(work)
