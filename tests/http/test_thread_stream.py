"""iterate_in_thread: a synchronous iterator consumed in one thread, from the event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest

from nexus_http.thread_stream import AHEAD, iterate_in_thread


class Source:
    """Counts to ``count``, noting the threads it runs in and whether it was closed."""

    def __init__(self, count: int, fail_at: int | None = None) -> None:
        self.count, self.fail_at = count, fail_at
        self.threads: set[int] = set()
        self.produced = 0
        self.closed = threading.Event()

    def __call__(self) -> Iterator[int]:
        try:
            for item in range(self.count):
                self.threads.add(threading.get_ident())
                if item == self.fail_at:
                    raise ValueError("broken")
                self.produced += 1
                yield item
        finally:
            self.threads.add(threading.get_ident())
            self.closed.set()


async def collect(source: Source, stop_after: int | None = None) -> list[int]:
    items: list[int] = []
    stream = iterate_in_thread(source)
    try:
        async for item in stream:
            items.append(item)
            if stop_after is not None and len(items) == stop_after:
                break
    finally:
        await stream.aclose()
    return items


def test_every_item_arrives_in_order_from_one_thread() -> None:
    source = Source(1_000)
    assert asyncio.run(collect(source)) == list(range(1_000))
    assert source.closed.is_set()
    assert len(source.threads) == 1
    assert threading.get_ident() not in source.threads


def test_an_error_arrives_after_the_items_before_it() -> None:
    source = Source(10, fail_at=3)
    items: list[int] = []

    async def run() -> None:
        async for item in iterate_in_thread(source):
            items.append(item)

    with pytest.raises(ValueError, match="broken"):
        asyncio.run(run())
    assert items == [0, 1, 2]


def test_a_reader_that_stops_early_closes_the_iterator_in_its_thread() -> None:
    source = Source(1_000_000)

    assert asyncio.run(collect(source, stop_after=5)) == [0, 1, 2, 3, 4]

    assert source.closed.wait(timeout=5)
    assert len(source.threads) == 1
    assert source.produced <= 5 + AHEAD + 1  # the thread never ran far ahead


def test_the_thread_waits_for_a_slow_reader() -> None:
    source = Source(100)

    async def slow() -> list[int]:
        items = []
        async for item in iterate_in_thread(source):
            if item == 0:
                await asyncio.sleep(0.2)
                assert source.produced <= 1 + AHEAD + 1
            items.append(item)
        return items

    started = time.monotonic()
    assert asyncio.run(slow()) == list(range(100))
    assert time.monotonic() - started >= 0.2
