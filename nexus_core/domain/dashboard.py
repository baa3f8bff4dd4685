"""The dashboard (``GET /api/stats``): what counts as sent, delivered, read and failed, the
rates, and the ``daily`` rows of the last 30 days in the user's timezone.

Milestones: a delivery in ``sent``, ``delivered`` or ``read`` has reached ``sent`` (it counts
in ``total_messages_sent``); in ``delivered`` or ``read`` it has reached ``delivered``; in
``read``, ``read``; in ``failed``, ``failed``. ``pending`` and ``skipped`` have reached none.
Each milestone a delivery has reached carries the moment it was reached; the ``daily`` rows
count deliveries by the local day of those moments. A delivery counts where its *current*
status says: a ``sent`` message that a ``failed`` receipt fails leaves the ``sent`` of its day
and joins the ``failed`` of the receipt's day, and ``retry-failed`` takes it out of ``failed``.
So, over all time, the days add up to the totals.

Activity is kept per UTC quarter-hour (a *bucket*): every timezone has been a whole number
of quarter-hours from UTC since 1980 (+05:45, +12:45, -09:30, …), so a bucket never straddles
a local midnight, daylight-saving days (23 or 25 hours) included, and the days are sums of
whole buckets.
"""

from __future__ import annotations

import bisect
import functools
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from nexus_core.domain.campaign_status import CAMPAIGN_STATUSES, CampaignStatus
from nexus_core.domain.contact_records import ContactStats
from nexus_core.domain.deliveries import (
    DELIVERY_STATUSES,
    DeliveryStatus,
    counter_changes,
)

Milestone = Literal["sent", "delivered", "read", "failed"]
MILESTONES: tuple[Milestone, ...] = ("sent", "delivered", "read", "failed")

# The campaign counter each milestone is (``deliveries.DeliveryCounts``), the totals of the
# dashboard: one rule for both.
COUNTER_OF: dict[Milestone, str] = {
    "sent": "sent_count",
    "delivered": "delivered_count",
    "read": "opened_count",
    "failed": "failed_count",
}
# The milestones a delivery in each status has reached: the counters it counts in.
_REACHED: dict[DeliveryStatus, tuple[Milestone, ...]] = {
    status: tuple(m for m in MILESTONES if COUNTER_OF[m] in counter_changes(None, status))
    for status in DELIVERY_STATUSES
}

BUCKET_SECONDS = 15 * 60
# ``daily`` covers this many local days, today the last.
DAYS = 30
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def reached(status: DeliveryStatus) -> tuple[Milestone, ...]:
    """The milestones a delivery in ``status`` has reached."""
    return _REACHED[status]


@dataclass(frozen=True, slots=True)
class MilestoneMove:
    """How one delivery's milestones change with its status: those it ``lost`` (counted
    until now at the moments they were reached) and those it ``gained`` (reached now)."""

    lost: tuple[Milestone, ...]
    gained: tuple[Milestone, ...]


def milestone_move(old: DeliveryStatus | None, new: DeliveryStatus) -> MilestoneMove:
    """The milestones a delivery loses and gains going from ``old`` (``None``: a new one)
    to ``new``. What it keeps keeps its moment (``delivered`` after ``sent`` leaves the
    ``sent`` where it was)."""
    before = _REACHED[old] if old is not None else ()
    after = _REACHED[new]
    return MilestoneMove(
        lost=tuple(m for m in before if m not in after),
        gained=tuple(m for m in after if m not in before),
    )


def bucket_of(moment: datetime) -> int:
    """The UTC quarter-hour ``moment`` falls in, counted from the Unix epoch."""
    return int((moment - _EPOCH).total_seconds() // BUCKET_SECONDS)


def bucket_start(bucket: int) -> datetime:
    return _EPOCH + timedelta(seconds=bucket * BUCKET_SECONDS)


@dataclass(frozen=True, slots=True)
class Activity:
    """How many deliveries reached each milestone (in some bucket, day or window)."""

    sent: int = 0
    delivered: int = 0
    read: int = 0
    failed: int = 0

    def __add__(self, other: Activity) -> Activity:
        return Activity(
            self.sent + other.sent,
            self.delivered + other.delivered,
            self.read + other.read,
            self.failed + other.failed,
        )

    @classmethod
    def of(cls, counts: Mapping[Milestone, int]) -> Activity:
        return cls(**{m: counts.get(m, 0) for m in MILESTONES})

    @classmethod
    def of_counters(cls, totals: Mapping[str, int]) -> Activity:
        """The milestones of deliveries with these campaign counters (by ``Campaign`` field
        name, as ``CampaignRepository.counter_totals`` sums them)."""
        return cls(**{m: totals[COUNTER_OF[m]] for m in MILESTONES})


# No activity: shared by the many days that have none (an ``Activity`` never changes).
NO_ACTIVITY = Activity()


@dataclass(frozen=True, slots=True)
class DayActivity:
    """One row of ``daily``: the deliveries that reached each milestone on ``day``."""

    day: date
    activity: Activity


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(zoneinfo.ZoneInfo(timezone)).date()


def _local_date(bucket: int, zone: zoneinfo.ZoneInfo) -> date:
    return bucket_start(bucket).astimezone(zone).date()


def day_start(day: date, zone: zoneinfo.ZoneInfo) -> int:
    """The first bucket of ``day`` in ``zone``: the one its first instant falls in (local
    midnight, or whatever moment the day starts at when its clocks skip midnight)."""
    guess = bucket_of(datetime(day.year, day.month, day.day, tzinfo=zone))
    while _local_date(guess - 1, zone) >= day:
        guess -= 1
    while _local_date(guess, zone) < day:
        guess += 1
    return guess


@dataclass(frozen=True, slots=True)
class Days:
    """The ``DAYS`` local days ``daily`` covers, oldest first, and where each begins: day
    ``days[i]`` is the buckets from ``starts[i]`` to ``starts[i + 1]`` (excluded)."""

    days: tuple[date, ...]
    starts: tuple[int, ...]

    def index_of(self, bucket: int) -> int | None:
        """Which day ``bucket`` falls on, or ``None`` when on none of them."""
        if not self.starts[0] <= bucket < self.starts[-1]:
            return None
        return bisect.bisect_right(self.starts, bucket) - 1


def last_days(now: datetime, timezone: str) -> Days:
    """The last ``DAYS`` days in ``timezone`` at ``now``, ending today."""
    return _days_ending(local_today(now, timezone), timezone)


# A pure function of its arguments, remembered: every dashboard request of a day asks again.
@functools.lru_cache(maxsize=1024)
def _days_ending(today: date, timezone: str) -> Days:
    zone = zoneinfo.ZoneInfo(timezone)
    days = tuple(today - timedelta(days=back) for back in range(DAYS - 1, -1, -1))
    ends = (*days, today + timedelta(days=1))
    return Days(days, tuple(day_start(day, zone) for day in ends))


def daily(days: Days, activity: Sequence[Activity]) -> list[DayActivity]:
    """One row per day, oldest first: ``activity`` holds each day's, in the same order."""
    if len(activity) != len(days.days):
        raise ValueError("one activity per day")
    return [DayActivity(day, done) for day, done in zip(days.days, activity, strict=True)]


def activity_by_day(buckets: Mapping[int, Activity], days: Days) -> list[Activity]:
    """Each day's sum of ``buckets`` (by bucket): what a repository's ``activity_by_day``
    answers, done here the slow way."""
    sums = [NO_ACTIVITY] * len(days.days)
    for bucket, activity in buckets.items():
        index = days.index_of(bucket)
        if index is not None:
            sums[index] = sums[index] + activity
    return sums


def fraction(part: int, whole: int) -> float:
    """``part / whole`` between 0 and 1; 0 when ``whole`` is 0 (nothing was sent)."""
    if whole <= 0:
        return 0.0
    return min(max(part, 0), whole) / whole


@dataclass(frozen=True, slots=True)
class ContactTotals:
    total: int = 0
    active: int = 0
    inactive: int = 0
    opted_out: int = 0
    new: int = 0


@dataclass(frozen=True, slots=True)
class ImportTotals:
    """The user's completed imports, and the contacts they created (``contacts_imported``)."""

    imports: int = 0
    contacts_imported: int = 0


@dataclass(frozen=True, slots=True)
class DashboardCounts:
    """Every count a dashboard is built from, read together (one consistent read): what
    ``contacts.stats``, ``contacts.count_opted_out``, ``campaigns.count_by_status``,
    ``campaigns.counter_totals`` (as ``Activity.of_counters``), ``imports.totals`` and
    ``deliveries.activity_by_day`` (``activity``, one per span) answer at one moment."""

    contacts: ContactStats
    opted_out: int
    campaigns_by_status: Mapping[CampaignStatus, int]
    messages: Activity
    imports: ImportTotals
    activity: list[Activity]


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Everything ``GET /api/stats`` answers, as the contract defines it."""

    contacts: ContactTotals
    campaigns_by_status: Mapping[CampaignStatus, int]
    messages: Activity
    imports: ImportTotals
    daily: list[DayActivity] = field(default_factory=list)

    @property
    def total_campaigns(self) -> int:
        return sum(self.campaigns_by_status.values())

    @property
    def delivery_rate(self) -> float:
        return fraction(self.messages.delivered, self.messages.sent)

    @property
    def read_rate(self) -> float:
        return fraction(self.messages.read, self.messages.sent)


def campaigns_by_status(counted: Mapping[CampaignStatus, int]) -> dict[CampaignStatus, int]:
    """Every campaign status, zeros included, in ``CAMPAIGN_STATUSES`` order."""
    return {status: counted.get(status, 0) for status in CAMPAIGN_STATUSES}
