"""``read_ahead``: a producer in its own thread, consumed in order, never far ahead, stopped
when the consumer gives up."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.use_cases.read_ahead import read_ahead


@given(st.lists(st.integers()), st.integers(min_value=1, max_value=4))
def test_every_item_arrives_in_order(items: list[int], depth: int) -> None:
    def produce(hand_over: Callable[[int], None]) -> None:
        for item in items:
            hand_over(item)

    with read_ahead(produce, depth) as consumed:
        assert list(consumed) == items


def test_the_producer_runs_in_another_thread_at_most_depth_items_ahead() -> None:
    produced: list[int] = []
    threads: set[int] = set()

    def produce(hand_over: Callable[[int], None]) -> None:
        threads.add(threading.get_ident())
        for item in range(50):
            produced.append(item)
            hand_over(item)

    with read_ahead(produce, depth=2) as consumed:
        for item in consumed:
            # Handed over: the item itself, two waiting, and the one being handed over.
            assert len(produced) <= item + 1 + 2 + 1
    assert threads
    assert threading.get_ident() not in threads


def test_what_the_producer_raises_comes_after_the_items_before_it() -> None:
    def produce(hand_over: Callable[[int], None]) -> None:
        hand_over(1)
        hand_over(2)
        raise ValueError("unreadable at row 3")

    received: list[int] = []
    with pytest.raises(ValueError, match="row 3"), read_ahead(produce) as consumed:
        received.extend(consumed)
    assert received == [1, 2]


def test_a_consumer_that_gives_up_stops_the_producer() -> None:
    produced: list[int] = []

    def produce(hand_over: Callable[[int], None]) -> None:
        for item in range(1_000_000):
            produced.append(item)
            hand_over(item)

    def give_up_at_ten() -> None:
        with read_ahead(produce, depth=2) as consumed:
            for item in consumed:
                if item == 10:
                    raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        give_up_at_ten()
    # The block is left only once the producer stopped: nothing is produced after.
    stopped_at = len(produced)
    assert stopped_at < 20
    assert len(produced) == stopped_at


def test_no_thread_is_left_behind() -> None:
    before = threading.active_count()

    def produce(hand_over: Callable[[int], None]) -> None:
        for item in range(100):
            hand_over(item)

    with read_ahead(produce, depth=1) as consumed:
        next(consumed)
    assert threading.active_count() == before
