"""Fixed-window counters: what still counts at a given moment, and how long to wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.rate_limits import (
    AuthLimits,
    Limit,
    WindowCount,
    auth_address_key,
    failed_login_key,
)

START = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)

_WINDOWS = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=2))
_ELAPSED = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=5))
_COUNTS = st.integers(min_value=1, max_value=10_000)


def test_contract_defaults() -> None:
    limits = AuthLimits()
    assert limits.failed_logins_per_email == Limit(10, timedelta(minutes=15))
    assert limits.auth_requests_per_address == Limit(300, timedelta(minutes=1))


def test_zero_disables_a_limit() -> None:
    assert not Limit(0, timedelta(minutes=1)).enabled
    assert Limit(1, timedelta(minutes=1)).enabled


def test_keys_do_not_collide_between_kinds() -> None:
    assert failed_login_key("x") != auth_address_key("x")
    assert failed_login_key("a@b.co") != failed_login_key("c@d.co")


@given(_COUNTS, _WINDOWS, _ELAPSED)
def test_current_counts_only_inside_the_window(
    count: int, window: timedelta, elapsed: timedelta
) -> None:
    limit = Limit(5, window)
    counted = WindowCount(count, START)
    assert counted.current(START + elapsed, limit) == (count if elapsed < window else 0)


@given(_COUNTS, _WINDOWS)
def test_the_window_ends_exactly_at_its_length(count: int, window: timedelta) -> None:
    limit = Limit(5, window)
    counted = WindowCount(count, START)
    assert counted.current(START + window - timedelta(microseconds=1), limit) == count
    assert counted.current(START + window, limit) == 0


@given(_COUNTS, _WINDOWS, _ELAPSED)
def test_retry_after_is_whole_positive_seconds_reaching_the_window_end(
    count: int, window: timedelta, elapsed: timedelta
) -> None:
    limit = Limit(5, window)
    counted = WindowCount(count, START)
    now = START + elapsed
    wait = counted.retry_after(now, limit)
    assert isinstance(wait, int)
    assert wait >= 1
    # Waiting as told always lands in a new window ...
    assert counted.current(now + timedelta(seconds=wait), limit) == 0
    # ... and never more than a second past its end (or 1 s when it has already ended).
    remaining = (START + window - now).total_seconds()
    if remaining <= 1:
        assert wait == 1
    else:
        assert wait - 1 < remaining <= wait


@given(_WINDOWS, _ELAPSED, _ELAPSED)
def test_retry_after_never_grows_as_time_passes(
    window: timedelta, first: timedelta, more: timedelta
) -> None:
    limit = Limit(5, window)
    counted = WindowCount(3, START)
    assert counted.retry_after(START + first + more, limit) <= counted.retry_after(
        START + first, limit
    )


def test_retry_after_for_a_fresh_window_is_its_length() -> None:
    limit = Limit(10, timedelta(minutes=15))
    assert WindowCount(10, START).retry_after(START, limit) == 900
    assert WindowCount(10, START).retry_after(START + timedelta(seconds=0.5), limit) == 900
    last_second = START + timedelta(minutes=14, seconds=59)
    assert WindowCount(10, START).retry_after(last_second, limit) == 1
    assert WindowCount(10, START).retry_after(START + timedelta(hours=1), limit) == 1
