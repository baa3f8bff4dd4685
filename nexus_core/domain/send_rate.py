"""Sending pace: a user's messages leave at most ``send_rate_per_minute`` a minute, evenly spread.

Rather than bursts at the top of each minute, consecutive messages of one user are at least
``spacing(rate)`` apart: 60/rate seconds, rounded *up* to the microsecond (the resolution of
``datetime``), so that no 60-second window ``[t, t + 60 s)`` ever holds more than ``rate`` of
them, whatever ``t``. (With exact 60/rate spacing, message ``rate + 1`` leaves exactly 60 s
after the first: outside the half-open window.)

The pace is kept per user across campaigns and processes: the dispatcher stores when the
user's next message may leave, and gives each message it claims a send time (``send_slots``),
as many as fit in its look-ahead (``slots_within``). A changed rate applies from the next
claim on.
"""

from __future__ import annotations

from datetime import datetime, timedelta

_MICROSECONDS_PER_MINUTE = 60_000_000


def spacing(rate_per_minute: int) -> timedelta:
    """The least time between two messages of a user sending ``rate_per_minute`` a minute."""
    if rate_per_minute < 1:
        raise ValueError(f"a send rate is at least 1 a minute, got {rate_per_minute}")
    return timedelta(microseconds=-(-_MICROSECONDS_PER_MINUTE // rate_per_minute))


def earliest_next(rate_per_minute: int, previous: datetime | None, now: datetime) -> datetime:
    """The earliest time, seen at ``now``, that the user's next message may leave, given
    when the previous one left or was scheduled (``None``: no previous message)."""
    if previous is None:
        return now
    return max(now, previous + spacing(rate_per_minute))


def send_slots(
    rate_per_minute: int, count: int, start: datetime, previous: datetime | None = None
) -> list[datetime]:
    """Send times for a batch of ``count`` messages of one user, none before ``start`` nor
    closer than ``spacing`` to each other or to ``previous``."""
    first = earliest_next(rate_per_minute, previous, start)
    step = spacing(rate_per_minute)
    return [first + step * index for index in range(count)]


def slots_within(rate_per_minute: int, horizon: timedelta) -> int:
    """How many messages of a user may be given send times in ``[start, start + horizon)``
    by ``send_slots``: at least one (the first leaves at ``start``)."""
    step = spacing(rate_per_minute)
    if horizon <= step:
        return 1
    return -(-horizon // step)  # ceil: slots start, start + step, … before the horizon
