"""The dashboard's counts in one statement: one consistent read, one round trip.

The statement joins the user's row (the contact counts the triggers keep) with the
statements that answer the contacts', campaigns' and imports' own stats, as one-row
subqueries, and with the activity summed per span (``delivery_activity.sums_by_span``): a
row per span with activity (at least one row), the totals repeated on each. The same
statements as the repositories', so the figures agree with theirs by construction. It runs
on the driver's cursor (``PreparedSelect``): at a dashboard's size SQLAlchemy's
per-execution bookkeeping cost as much as the statements themselves.

The one count that grows with the account is ``new_contacts``, a range of an index (10,000
entries for 10,000 contacts created this week): remembered while provably right, see
``recent_contacts``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, Integer, bindparam, select, true

from nexus_adapters.sql.prepared_select import PreparedSelect
from nexus_adapters.sql.repositories.campaigns import CAMPAIGN_TOTALS
from nexus_adapters.sql.repositories.delivery_activity import (
    activity_of_spans,
    span_bounds,
    sums_by_span,
)
from nexus_adapters.sql.repositories.import_history import COMPLETED_IMPORTS
from nexus_adapters.sql.repositories.recent_contacts import (
    RecentContacts,
    recent_contacts_columns,
)
from nexus_adapters.sql.tables import CAMPAIGN_COUNTERS, users
from nexus_core.domain.campaign_status import CAMPAIGN_STATUSES
from nexus_core.domain.contact_records import ContactStats, recent_since
from nexus_core.domain.dashboard import (
    MILESTONES,
    NO_ACTIVITY,
    Activity,
    DashboardCounts,
    ImportTotals,
)


@functools.cache
def _statement(spans: int) -> PreparedSelect:
    """The dashboard's statement for ``spans`` spans of activity, built once. Columns: the
    totals, then the span's index and its sums (NULL when no span has activity)."""
    recent, oldest = recent_contacts_columns()
    campaigns = CAMPAIGN_TOTALS.subquery("campaign_totals")
    imports = COMPLETED_IMPORTS.subquery("import_totals")
    activity = sums_by_span(spans).subquery("activity")
    totals_and_spans = (
        users.join(campaigns, true()).join(imports, true()).outerjoin(activity, true())
    )
    return PreparedSelect(
        select(
            users.c.contacts_total,
            users.c.contacts_active,
            users.c.contacts_opted_out,
            users.c.contacts_version,
            recent,
            oldest,
            *campaigns.c,
            *imports.c,
            *activity.c,  # last: each row's span
        )
        .select_from(totals_and_spans)
        .where(users.c.id == bindparam("owner_id", type_=Integer))
    )


_SPAN_COLUMNS = 1 + len(MILESTONES)


class SqlDashboard:
    def __init__(self, connection: Connection, recent: RecentContacts) -> None:
        self._c = connection
        self._recent = recent

    def counts(self, user_id: int, now: datetime, starts: Sequence[int]) -> DashboardCounts:
        spans = len(starts) - 1
        if spans <= 0:
            raise ValueError("at least one span")
        since = recent_since(now)
        known_version, known_recent = self._recent.known(user_id, since)
        statement = _statement(spans)
        rows = statement.rows(
            self._c,
            {
                "owner_id": user_id,
                "since": since,
                "known_version": known_version,
                "known_recent": known_recent,
                **span_bounds(starts),
            },
        )
        if not rows:  # no such user: nothing at all
            return _nothing(spans)
        totals = statement.mapping(self._c, rows[0])
        version, recent = totals["contacts_version"], int(totals["recent_contacts"])
        if version != known_version:
            oldest = totals["oldest_recent_contact"]
            self._recent.remember(user_id, version, since, oldest, recent)
        total, active = totals["contacts_total"], totals["contacts_active"]
        counters = {name: int(totals[name]) for name in CAMPAIGN_COUNTERS}
        return DashboardCounts(
            contacts=ContactStats(total, active, total - active, recent),
            opted_out=totals["contacts_opted_out"],
            campaigns_by_status={
                status: totals[f"{status}_campaigns"] for status in CAMPAIGN_STATUSES
            },
            messages=Activity.of_counters(counters),
            imports=ImportTotals(totals["imports"], int(totals["contacts_imported"])),
            activity=activity_of_spans(spans, (row[-_SPAN_COLUMNS:] for row in rows)),
        )


def _nothing(spans: int) -> DashboardCounts:
    return DashboardCounts(
        contacts=ContactStats(0, 0, 0, 0),
        opted_out=0,
        campaigns_by_status=dict.fromkeys(CAMPAIGN_STATUSES, 0),
        messages=NO_ACTIVITY,
        imports=ImportTotals(),
        activity=[NO_ACTIVITY] * spans,
    )
