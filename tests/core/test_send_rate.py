"""Sending pace: never more than the rate in any minute, evenly spread, no slower than needed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.preferences import SEND_RATE_MAX, SEND_RATE_MIN
from nexus_core.domain.send_rate import earliest_next, send_slots, slots_within, spacing

START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)

_RATES = st.integers(SEND_RATE_MIN, SEND_RATE_MAX)
_OFFSETS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(minutes=5))


def busiest_minute(times: Sequence[datetime]) -> int:
    """The most messages in any window [t, t + 60 s): such a window holding the most can
    always start at a message, so a sliding window over the sorted times finds it."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - MINUTE:
            first += 1
        most = max(most, last - first + 1)
    return most


def test_busiest_minute_counts_a_half_open_window() -> None:
    assert busiest_minute([]) == 0
    assert busiest_minute([START, START + MINUTE]) == 1
    assert busiest_minute([START, START + MINUTE - timedelta(microseconds=1)]) == 2


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (1, timedelta(minutes=1)),
        (60, timedelta(seconds=1)),
        (7, timedelta(microseconds=8_571_429)),  # 8.571428571… s, rounded up
        (120, timedelta(milliseconds=500)),
        (600, timedelta(milliseconds=100)),
    ],
)
def test_spacing_is_a_minute_over_the_rate_rounded_up(rate: int, expected: timedelta) -> None:
    assert spacing(rate) == expected


@pytest.mark.parametrize("rate", [0, -5])
def test_a_rate_below_one_is_a_programming_error(rate: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        spacing(rate)


def test_earliest_next() -> None:
    assert earliest_next(60, None, START) == START
    assert earliest_next(60, START, START) == START + timedelta(seconds=1)
    assert earliest_next(60, START, START + timedelta(seconds=5)) == START + timedelta(seconds=5)
    # A message scheduled ahead keeps the next one behind it.
    ahead = START + timedelta(seconds=30)
    assert earliest_next(2, ahead, START) == ahead + timedelta(seconds=30)


def test_slots_of_a_batch() -> None:
    assert send_slots(60, 3, START) == [
        START,
        START + timedelta(seconds=1),
        START + timedelta(seconds=2),
    ]
    assert send_slots(30, 2, START, previous=START - timedelta(seconds=1)) == [
        START + timedelta(seconds=1),
        START + timedelta(seconds=3),
    ]
    assert send_slots(30, 0, START) == []


@given(_RATES, st.integers(0, 1_500), st.none() | _OFFSETS)
def test_no_minute_holds_more_than_the_rate(
    rate: int, count: int, previous_offset: timedelta | None
) -> None:
    previous = None if previous_offset is None else START + previous_offset - MINUTE
    slots = send_slots(rate, count, START, previous)
    assert len(slots) == count
    assert busiest_minute(slots if previous is None else [previous, *slots]) <= rate
    assert all(slot >= START for slot in slots)


@given(_RATES, st.integers(2, 50))
def test_slots_are_evenly_spread(rate: int, count: int) -> None:
    slots = send_slots(rate, count, START)
    assert {later - earlier for earlier, later in pairwise(slots)} == {spacing(rate)}


@given(_RATES)
def test_the_pace_is_no_slower_than_the_rate(rate: int) -> None:
    # A full minute's worth leaves within that minute ...
    slots = send_slots(rate, rate + 1, START)
    assert slots[rate - 1] < START + MINUTE
    # ... and the next one right after it.
    assert START + MINUTE <= slots[rate] < START + MINUTE + timedelta(milliseconds=1)


@given(_RATES, st.lists(_OFFSETS, max_size=200))
def test_messages_scheduled_one_by_one_keep_the_pace(rate: int, offsets: list[timedelta]) -> None:
    # The dispatcher asks for the next slot whenever it has a message, at any moment
    # (``now`` may even go back: another process's clock, a slow transaction).
    previous: datetime | None = None
    sent: list[datetime] = []
    for offset in offsets:
        now = START + offset
        slot = earliest_next(rate, previous, now)
        assert slot >= now
        sent.append(slot)
        previous = slot
    assert busiest_minute(sent) <= rate


def test_slots_within_a_horizon() -> None:
    assert slots_within(60, timedelta(0)) == 1
    assert slots_within(60, timedelta(seconds=1)) == 1
    assert slots_within(60, timedelta(seconds=2)) == 2
    assert slots_within(60, timedelta(seconds=2, microseconds=1)) == 3
    assert slots_within(600, timedelta(seconds=1)) == 10
    assert slots_within(1, timedelta(seconds=1)) == 1


@given(
    st.integers(min_value=1, max_value=1_000_000),
    st.timedeltas(min_value=timedelta(0), max_value=timedelta(seconds=10)),
)
def test_every_slot_within_the_horizon_starts_before_it(rate: int, horizon: timedelta) -> None:
    count = slots_within(rate, horizon)
    slots = send_slots(rate, count, START)
    assert count >= 1
    assert all(slot < START + horizon for slot in slots[1:])
    # And one more would not.
    assert send_slots(rate, count + 1, START)[-1] >= START + horizon
