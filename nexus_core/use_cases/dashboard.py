"""The dashboard: a user's contacts, campaigns, messages and imports counted, and the last
30 days of activity in the user's timezone.

Every figure comes from the same repository methods as ``GET /api/contacts/stats`` and
``GET /api/campaigns/stats``, so the three agree: counts and sums the database keeps or
computes from its indexes, never rows read to be counted here.
"""

from __future__ import annotations

from nexus_core.domain.dashboard import (
    Activity,
    ContactTotals,
    Dashboard,
    campaigns_by_status,
    daily,
    last_days,
)
from nexus_core.use_cases.context import Ports


def dashboard_stats(ports: Ports, user_id: int, timezone: str) -> Dashboard:
    """The user's dashboard now, its days those of ``timezone`` (an IANA name, the user's
    ``timezone`` preference)."""
    now = ports.clock()
    days = last_days(now, timezone)
    with ports.uow() as uow:
        contacts = uow.contacts.stats(user_id, now)
        opted_out = uow.contacts.count_opted_out(user_id)
        by_status = uow.campaigns.count_by_status(user_id)
        counters = uow.campaigns.counter_totals(user_id)
        imports = uow.imports.totals(user_id)
        activity = uow.deliveries.activity_by_day(user_id, days.starts)
    return Dashboard(
        contacts=ContactTotals(
            total=contacts.total,
            active=contacts.active,
            inactive=contacts.inactive,
            opted_out=opted_out,
            new=contacts.recent,
        ),
        campaigns_by_status=campaigns_by_status(by_status),
        messages=Activity.of_counters(counters),
        imports=imports,
        daily=daily(days, activity),
    )
