"""Producing items in a thread of its own while the caller consumes them.

An import reads and checks its file (Python) while the previous batch is being written (the
database driver, which lets go of the interpreter while the database works): ``read_ahead``
overlaps the two, a few items apart, so memory holds only the items in flight.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Generic, TypeVar

_T = TypeVar("_T")

# How long the caller, giving up early, waits between checks that the producer has stopped.
_DRAIN_SECONDS = 0.05


class _Abandoned(Exception):
    """Raised in the producer's thread when the caller stopped consuming."""


@dataclass(frozen=True, slots=True)
class _Finished(Generic[_T]):
    """The producer returned (``error`` is None) or raised ``error``."""

    error: BaseException | None = None


@contextmanager
def read_ahead(
    produce: Callable[[Callable[[_T], None]], None], depth: int = 2
) -> Iterator[Iterator[_T]]:
    """The items ``produce`` hands to the callback it is called with, in order, while it
    runs in a thread of its own; at most ``depth`` items wait for the caller.

    What ``produce`` raises is raised by the iteration, after the items it handed over
    before. When the caller leaves the ``with`` block early (a ``break``, an exception), the
    producer is stopped at its next item and its thread joined before the block is left.
    """
    items: queue.Queue[_T | _Finished[_T]] = queue.Queue(maxsize=depth)
    abandoned = threading.Event()

    def hand_over(item: _T | _Finished[_T]) -> None:
        if abandoned.is_set():
            raise _Abandoned
        items.put(item)

    def run() -> None:
        try:
            produce(hand_over)
        except _Abandoned:
            return
        except BaseException as error:  # handed to the caller's thread, which raises it
            finished: _Finished[_T] = _Finished(error)
        else:
            finished = _Finished()
        try:
            hand_over(finished)
        except _Abandoned:
            return

    def consume() -> Iterator[_T]:
        while True:
            item = items.get()
            if isinstance(item, _Finished):
                if item.error is not None:
                    raise item.error
                return
            yield item

    producer = threading.Thread(target=run, name="nexus-read-ahead", daemon=True)
    producer.start()
    try:
        yield consume()
    finally:
        abandoned.set()
        while producer.is_alive():  # unblock a producer waiting for room, until it stops
            with suppress(queue.Empty):
                items.get(timeout=_DRAIN_SECONDS)
        producer.join()
