"""The dashboard: a user's contacts, campaigns, messages and imports counted, and the last
30 days of activity in the user's timezone.

Every figure is what ``GET /api/contacts/stats`` and ``GET /api/campaigns/stats`` answer too
(``DashboardRepository.counts`` answers as their repository methods would), read together in
one consistent read: counts and sums the database keeps or computes from its indexes, never
rows read to be counted here.
"""

from __future__ import annotations

from nexus_core.domain.dashboard import (
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
        counts = uow.dashboard.counts(user_id, now, days.starts)
    contacts = counts.contacts
    return Dashboard(
        contacts=ContactTotals(
            total=contacts.total,
            active=contacts.active,
            inactive=contacts.inactive,
            opted_out=counts.opted_out,
            new=contacts.recent,
        ),
        campaigns_by_status=campaigns_by_status(counts.campaigns_by_status),
        messages=counts.messages,
        imports=counts.imports,
        daily=daily(days, counts.activity),
    )
