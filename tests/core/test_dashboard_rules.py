"""The dashboard's rules (nexus_core.domain.dashboard): milestones, rates and the ``daily`` days,
in every timezone, daylight-saving days included."""

from __future__ import annotations

import zoneinfo
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.dashboard import (
    BUCKET_SECONDS,
    DAYS,
    MILESTONES,
    Activity,
    ContactTotals,
    Dashboard,
    ImportTotals,
    Milestone,
    activity_by_day,
    bucket_of,
    bucket_start,
    campaigns_by_status,
    daily,
    fraction,
    last_days,
    milestone_move,
    reached,
)
from nexus_core.domain.deliveries import (
    DELIVERY_STATUSES,
    DeliveryStatus,
    after_receipt,
    count_deliveries,
)

ZONES = sorted(zoneinfo.available_timezones() - {"Factory", "localtime"})
# Every zone in use has been a whole number of quarter-hours from UTC since 1980.
moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)
timezones = st.sampled_from(ZONES)
statuses = st.sampled_from(DELIVERY_STATUSES)
counts = st.integers(min_value=0, max_value=10**6)
activities = st.builds(Activity, counts, counts, counts, counts)


def _sum(rows: list[Activity]) -> Activity:
    total = Activity()
    for row in rows:
        total = total + row
    return total


# -- milestones -----------------------------------------------------------------------------


def test_what_each_status_has_reached() -> None:
    assert reached("pending") == ()
    assert reached("sent") == ("sent",)
    assert reached("delivered") == ("sent", "delivered")
    assert reached("read") == ("sent", "delivered", "read")
    assert reached("failed") == ("failed",)
    assert reached("skipped") == ()


@given(statuses, statuses)
def test_a_move_loses_and_gains_exactly_the_difference(
    old: DeliveryStatus, new: DeliveryStatus
) -> None:
    move = milestone_move(old, new)
    assert (set(reached(old)) - set(move.lost)) | set(move.gained) == set(reached(new))
    assert not set(move.lost) & set(move.gained)


def test_a_failed_receipt_after_sent_moves_the_message_from_sent_to_failed() -> None:
    move = milestone_move("sent", "failed")
    assert move.lost == ("sent",)
    assert move.gained == ("failed",)
    assert milestone_move("delivered", "read").lost == ()
    assert milestone_move(None, "pending").gained == ()


@given(statuses)
def test_the_milestones_are_the_campaign_counters(status: DeliveryStatus) -> None:
    counted = count_deliveries([status])
    totals = {
        "sent_count": counted.sent_count,
        "delivered_count": counted.delivered_count,
        "opened_count": counted.opened_count,
        "failed_count": counted.failed_count,
    }
    assert Activity.of_counters(totals) == Activity.of(dict.fromkeys(reached(status), 1))


# A random life of a few deliveries: (delivery, receipt or retry, minutes later).
steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=4),
        st.sampled_from(["sent", "delivered", "read", "failed", "retry", "sent_out"]),
        st.integers(min_value=0, max_value=3000),
    ),
    max_size=60,
)


@given(moments, steps)
def test_bucket_counts_kept_by_moves_equal_a_recount_and_never_go_negative(
    start: datetime, life: list[tuple[int, str, int]]
) -> None:
    status: dict[int, DeliveryStatus] = dict.fromkeys(range(5), "pending")
    stamped: dict[int, dict[Milestone, datetime]] = {i: {} for i in range(5)}
    kept: Counter[tuple[int, Milestone]] = Counter()
    now = start
    for delivery, action, minutes in life:
        now += timedelta(minutes=minutes)
        current = status[delivery]
        if action == "retry":
            new: DeliveryStatus | None = "pending" if current == "failed" else None
        elif action == "sent_out":
            new = "sent" if current == "pending" else None
        else:
            new = after_receipt(current, action)  # type: ignore[arg-type]
        if new is None:
            continue
        move = milestone_move(current, new)
        for m in move.lost:
            kept[bucket_of(stamped[delivery].pop(m)), m] -= 1
        for m in move.gained:
            stamped[delivery][m] = now
            kept[bucket_of(now), m] += 1
        status[delivery] = new
        assert all(value >= 0 for value in kept.values())
    recount = Counter(
        (bucket_of(moment), m) for marks in stamped.values() for m, moment in marks.items()
    )
    assert +kept == recount
    by_milestone = Counter(m for (_, m), value in kept.items() for _ in range(value))
    for m in MILESTONES:
        assert by_milestone[m] == sum(m in reached(s) for s in status.values())


# -- buckets and days -------------------------------------------------------------------------


@given(moments)
def test_a_moment_falls_in_its_bucket(moment: datetime) -> None:
    start = bucket_start(bucket_of(moment))
    assert start <= moment < start + timedelta(seconds=BUCKET_SECONDS)


@given(moments, timezones)
def test_a_bucket_never_straddles_a_local_midnight(moment: datetime, timezone: str) -> None:
    zone = zoneinfo.ZoneInfo(timezone)
    start = bucket_start(bucket_of(moment))
    last = start + timedelta(seconds=BUCKET_SECONDS - 1)
    assert start.astimezone(zone).date() == last.astimezone(zone).date()


@given(moments, timezones)
def test_the_days_are_the_last_thirty_oldest_first_ending_today_each_whole(
    now: datetime, timezone: str
) -> None:
    zone = zoneinfo.ZoneInfo(timezone)
    days = last_days(now, timezone)
    today = now.astimezone(zone).date()
    assert days.days == tuple(today - timedelta(days=n) for n in range(DAYS - 1, -1, -1))
    assert len(days.starts) == DAYS + 1
    # Each day begins at its start bucket, and the bucket before belongs to the day before:
    # every bucket between two starts is of that day, daylight-saving days included.
    for day, start in zip((*days.days, today + timedelta(days=1)), days.starts, strict=True):
        assert bucket_start(start).astimezone(zone).date() == day
        assert bucket_start(start - 1).astimezone(zone).date() == day - timedelta(days=1)
    assert days.index_of(bucket_of(now)) == DAYS - 1


@given(moments, timezones, st.dictionaries(st.integers(-5000, 5000), activities, max_size=40))
def test_each_day_sums_its_buckets_and_the_days_sum_the_window(
    now: datetime, timezone: str, offsets: dict[int, Activity]
) -> None:
    zone = zoneinfo.ZoneInfo(timezone)
    days = last_days(now, timezone)
    buckets = {bucket_of(now) + offset: activity for offset, activity in offsets.items()}
    sums = activity_by_day(buckets, days)
    rows = daily(days, sums)
    assert [row.day for row in rows] == list(days.days)
    window = set(days.days)
    for row in rows:
        on_the_day = [
            activity
            for bucket, activity in buckets.items()
            if bucket_start(bucket).astimezone(zone).date() == row.day
        ]
        assert row.activity == _sum(on_the_day)
    in_window = [
        activity
        for bucket, activity in buckets.items()
        if bucket_start(bucket).astimezone(zone).date() in window
    ]
    assert _sum([row.activity for row in rows]) == _sum(in_window)


def test_daily_needs_one_activity_per_day() -> None:
    days = last_days(datetime(2026, 11, 26, tzinfo=UTC), "UTC")
    with pytest.raises(ValueError, match="one activity per day"):
        daily(days, [Activity()])


@pytest.mark.parametrize(
    ("timezone", "day", "hours"),
    [
        ("Europe/Madrid", date(2026, 3, 29), 23),
        ("Europe/Madrid", date(2026, 10, 25), 25),
        ("America/Santiago", date(2026, 9, 6), 23),  # the clocks skip local midnight
        ("America/Santiago", date(2026, 4, 4), 25),  # midnight comes back: 23:00 twice
        ("Australia/Lord_Howe", date(2026, 4, 5), 24.5),  # a 30-minute shift
        ("Asia/Kathmandu", date(2026, 4, 5), 24),  # +05:45
        ("Pacific/Chatham", date(2026, 4, 5), 25),  # +13:45 to +12:45
    ],
)
def test_a_day_is_all_of_its_quarter_hours_daylight_saving_days_included(
    timezone: str, day: date, hours: float
) -> None:
    now = datetime(day.year, day.month, day.day, 23, 59, tzinfo=zoneinfo.ZoneInfo(timezone))
    days = last_days(now, timezone)
    assert days.days[-1] == day
    assert days.starts[-1] - days.starts[-2] == hours * 4
    every = dict.fromkeys(range(days.starts[0] - 10, days.starts[-1] + 10), Activity(sent=1))
    assert activity_by_day(every, days)[-1].sent == hours * 4


# -- rates and the dashboard ----------------------------------------------------------------


@given(st.integers(-10, 10**6), st.integers(-10, 10**6))
def test_a_fraction_stays_within_zero_and_one(part: int, whole: int) -> None:
    assert 0.0 <= fraction(part, whole) <= 1.0


def test_a_rate_is_zero_when_nothing_was_sent() -> None:
    assert fraction(0, 0) == 0.0
    assert fraction(3, 4) == 0.75


@given(st.lists(statuses, max_size=50))
def test_the_dashboard_rates_are_parts_of_what_was_sent(
    given_statuses: list[DeliveryStatus],
) -> None:
    counted = count_deliveries(given_statuses)
    messages = Activity(
        counted.sent_count, counted.delivered_count, counted.opened_count, counted.failed_count
    )
    dashboard = Dashboard(
        contacts=ContactTotals(),
        campaigns_by_status=campaigns_by_status({"active": 2}),
        messages=messages,
        imports=ImportTotals(),
    )
    assert 0.0 <= dashboard.read_rate <= dashboard.delivery_rate <= 1.0
    if messages.sent:
        assert dashboard.delivery_rate == messages.delivered / messages.sent
    else:
        assert dashboard.delivery_rate == dashboard.read_rate == 0.0
    assert dashboard.total_campaigns == 2
    assert next(iter(dashboard.campaigns_by_status)) == "draft"
