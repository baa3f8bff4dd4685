"""A synchronous iterator consumed in one worker thread, its items handed to the event loop.

Streamed responses read the database as they go. A database unit of work belongs to the
thread that opened it (SQLite readers keep one connection per thread), while Litestar would
call ``next()`` of a plain iterator in whichever pool thread is free. Here one thread runs
the whole iteration, a few items ahead of the client at most.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
# Items the thread may produce ahead of the client.
AHEAD = 4
_WAIT_SECONDS = 1.0


class _End:
    """Put after the last item."""


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class _Handoff(Generic[T]):
    """The thread's side: put an item once there is room, unless the reader has gone."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[T | _End | _Failure] = asyncio.Queue()
        self.room = threading.Semaphore(AHEAD)
        self.gone = threading.Event()

    def put(self, item: T | _End | _Failure) -> bool:
        """Whether the reader is still there (and so gets ``item``)."""
        while not self.room.acquire(timeout=_WAIT_SECONDS):
            if self.gone.is_set():
                return False
        if self.gone.is_set():
            return False
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the event loop is closed: nobody is reading any more
            return False
        return True

    def run(self, produce: Callable[[], Iterator[T]]) -> None:
        try:
            iterator = produce()
            try:
                for item in iterator:
                    if not self.put(item):
                        return
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
        except Exception as error:
            self.put(_Failure(error))
            return
        self.put(_End())


async def iterate_in_thread(produce: Callable[[], Iterator[T]]) -> AsyncIterator[T]:
    """The items of ``produce()``, iterated in one thread of the loop's default executor.

    When the consumer stops early (the client went away), the iterator is closed in its
    thread, so a ``with`` block around it ends there. An exception the iteration raises is
    raised here, after the items before it.
    """
    loop = asyncio.get_running_loop()
    handoff: _Handoff[T] = _Handoff(loop)
    loop.run_in_executor(None, handoff.run, produce)
    try:
        while True:
            item = await handoff.queue.get()
            handoff.room.release()
            if isinstance(item, _End):
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        handoff.gone.set()
        handoff.room.release()
