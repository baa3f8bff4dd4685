"""The dashboard's response (``GET /api/stats``), as API.md's "Statistics" shapes it."""

from __future__ import annotations

import functools
from datetime import date

import msgspec

from nexus_core.domain.dashboard import Dashboard, DayActivity

# The same 30 days are written on every request of a day: remembered, they cost a lookup.
_iso_date = functools.lru_cache(maxsize=1024)(date.isoformat)


class DayOut(msgspec.Struct):
    date: str
    sent: int
    delivered: int
    read: int
    failed: int

    @classmethod
    def rows(cls, days: list[DayActivity]) -> list[DayOut]:
        """A row per day (the dashboard's 30 rows are built on every request)."""
        rows = []
        for day in days:
            done = day.activity
            rows.append(cls(_iso_date(day.day), done.sent, done.delivered, done.read, done.failed))
        return rows


class DashboardOut(msgspec.Struct):
    total_contacts: int
    active_contacts: int
    inactive_contacts: int
    opted_out_contacts: int
    new_contacts: int
    total_campaigns: int
    active_campaigns: int
    completed_campaigns: int
    campaigns_by_status: dict[str, int]
    total_messages_sent: int
    delivered: int
    read: int
    failed: int
    delivery_rate: float
    read_rate: float
    imports: int
    contacts_imported: int
    daily: list[DayOut]

    @classmethod
    def of(cls, dashboard: Dashboard) -> DashboardOut:
        contacts, messages = dashboard.contacts, dashboard.messages
        by_status: dict[str, int] = {k: v for k, v in dashboard.campaigns_by_status.items()}
        return cls(
            total_contacts=contacts.total,
            active_contacts=contacts.active,
            inactive_contacts=contacts.inactive,
            opted_out_contacts=contacts.opted_out,
            new_contacts=contacts.new,
            total_campaigns=dashboard.total_campaigns,
            active_campaigns=by_status["active"],
            completed_campaigns=by_status["completed"],
            campaigns_by_status=by_status,
            total_messages_sent=messages.sent,
            delivered=messages.delivered,
            read=messages.read,
            failed=messages.failed,
            delivery_rate=dashboard.delivery_rate,
            read_rate=dashboard.read_rate,
            imports=dashboard.imports.imports,
            contacts_imported=dashboard.imports.contacts_imported,
            daily=DayOut.rows(dashboard.daily),
        )


class DashboardEnvelope(msgspec.Struct):
    stats: DashboardOut
