"""The dashboard's activity (``tables.delivery_activity``): how many of a user's deliveries
reached each milestone in each UTC quarter-hour, kept by every status move of a delivery in
the move's own transaction.

A move stamps the milestones it gains (``deliveries.<milestone>_at = now``) and clears those
it loses (``dashboard.milestone_move``); ``ActivityChanges`` gathers what that does to the
counts, and ``write`` adds it with one upsert per (user, bucket). Deleting a campaign takes
its deliveries out first (``forget_campaign``). The counts thus always equal a recount of
the stamps (tests/adapters/test_sql_dashboard.py drives random sequences to check it).
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, bindparam, case, func, literal_column, select

from nexus_adapters.sql.repositories.upsert import insert_for
from nexus_adapters.sql.tables import deliveries as d
from nexus_adapters.sql.tables import delivery_activity as a
from nexus_core.domain.dashboard import (
    MILESTONES,
    NO_ACTIVITY,
    Activity,
    Milestone,
    MilestoneMove,
    bucket_of,
)


def stamp_column(milestone: Milestone) -> str:
    """The ``deliveries`` column holding when the milestone was reached."""
    return f"{milestone}_at"


def stamps(move: MilestoneMove, now: datetime) -> dict[str, datetime | None]:
    """The stamp columns a move writes: ``now`` for what it gains, NULL for what it loses."""
    values: dict[str, datetime | None] = {stamp_column(m): None for m in move.lost}
    values.update({stamp_column(m): now for m in move.gained})
    return values


class ActivityChanges:
    """What moves do to the counts, per (user, bucket), until ``write``."""

    def __init__(self) -> None:
        self._deltas: dict[tuple[int, int], Counter[str]] = {}

    def _add(self, user_id: int, moment: datetime, milestone: Milestone, times: int) -> None:
        if times:
            self._deltas.setdefault((user_id, bucket_of(moment)), Counter())[milestone] += times

    def moved(
        self,
        user_id: int,
        move: MilestoneMove,
        now: datetime,
        lost_at: dict[Milestone, datetime | None] | None = None,
        times: int = 1,
    ) -> None:
        """``times`` deliveries of the user made ``move`` at ``now``; ``lost_at`` says when
        they had reached what they lose (a stamp that is missing counted nowhere)."""
        for milestone in move.gained:
            self._add(user_id, now, milestone, times)
        for milestone in move.lost:
            moment = (lost_at or {}).get(milestone)
            if moment is not None:
                self._add(user_id, moment, milestone, -times)

    def lost(self, user_id: int, milestone: Milestone, moment: datetime, times: int) -> None:
        """``times`` deliveries of the user no longer count at ``moment`` for ``milestone``."""
        self._add(user_id, moment, milestone, -times)

    def write(self, connection: Connection) -> None:
        rows = [
            {
                "owner": user_id,
                "at_bucket": bucket,
                **{f"add_{m}": delta.get(m, 0) for m in MILESTONES},
            }
            for (user_id, bucket), delta in sorted(self._deltas.items())
            if any(delta.values())
        ]
        self._deltas.clear()
        if rows:
            connection.execute(_upsert(connection), rows)


def _upsert(connection: Connection) -> Any:
    statement = insert_for(connection, a).values(
        user_id=bindparam("owner"),
        bucket=bindparam("at_bucket"),
        **{m: bindparam(f"add_{m}") for m in MILESTONES},
    )
    return statement.on_conflict_do_update(
        index_elements=[a.c.user_id, a.c.bucket],
        set_={m: a.c[m] + statement.excluded[m] for m in MILESTONES},
    )


def forget_campaign(connection: Connection, user_id: int, campaign_id: int) -> None:
    """Take the deliveries of one of the user's campaigns out of the counts (it is about to
    be deleted with them): grouped by the moment of each stamp, in the database."""
    changes = ActivityChanges()
    for milestone in MILESTONES:
        stamp = d.c[stamp_column(milestone)]
        grouped = connection.execute(
            select(stamp, func.count())
            .where(d.c.campaign_id == campaign_id, d.c.user_id == user_id, stamp.is_not(None))
            .group_by(stamp)
        )
        for moment, how_many in grouped:
            changes.lost(user_id, milestone, moment, how_many)
    changes.write(connection)


@functools.cache
def sums_by_span(spans: int) -> Select[Any]:
    """The statement ``activity_by_span`` runs for ``spans`` spans, built once: a row per
    span with any activity, its index (``span``) and its sums (by milestone). Parameters:
    ``owner_id`` and the bounds, ``span_bounds(starts)``."""
    span = case(
        *((a.c.bucket < bindparam(f"end_{index}"), index) for index in range(spans - 1)),
        else_=spans - 1,
    ).label("span")
    return (
        select(span, *(func.sum(a.c[m]).label(m) for m in MILESTONES))
        .where(
            a.c.user_id == bindparam("owner_id"),
            a.c.bucket >= bindparam("first"),
            a.c.bucket < bindparam("last"),
        )
        .group_by(literal_column("span"))
    )


def span_bounds(starts: Sequence[int]) -> dict[str, int]:
    """The parameters of ``sums_by_span(len(starts) - 1)``: ``first``, ``end_0`` …
    ``end_{spans - 2}``, ``last``."""
    bounds = dict(zip(_end_names(len(starts) - 2), starts[1:-1], strict=True))
    return {"first": starts[0], "last": starts[-1], **bounds}


@functools.cache
def _end_names(count: int) -> tuple[str, ...]:
    return tuple(f"end_{index}" for index in range(count))


def activity_of_spans(spans: int, rows: Iterable[Sequence[Any]]) -> list[Activity]:
    """Each span's activity from ``(span, sent, delivered, read, failed)`` rows: a span
    without a row had none, and a row whose span is NULL (an outer join's, when no span has
    any) counts nowhere."""
    found = [NO_ACTIVITY] * spans
    for index, *sums in rows:
        if index is not None:
            found[index] = Activity(*(int(total) for total in sums))
    return found


def activity_by_span(connection: Connection, user_id: int, starts: Sequence[int]) -> list[Activity]:
    """The user's counts summed over each span of buckets from ``starts[i]`` to
    ``starts[i + 1]`` (excluded), by the database: one range of the primary key, grouped."""
    spans = len(starts) - 1
    if spans <= 0:
        return []
    rows = connection.execute(sums_by_span(spans), {"owner_id": user_id, **span_bounds(starts)})
    return activity_of_spans(spans, rows)
