"""A user's campaigns: single writes, the list and the counts by status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from nexus_adapters.sql.repositories.campaign_rows import (
    campaign_from_row,
    draft_values,
    saved_values,
)
from nexus_adapters.sql.repositories.delivery_activity import forget_campaign
from nexus_adapters.sql.tables import CAMPAIGN_COUNTERS
from nexus_adapters.sql.tables import campaigns as t
from nexus_core.domain.campaign_status import CAMPAIGN_STATUSES, CampaignStatus
from nexus_core.domain.campaigns import Campaign, CampaignDraft

_BY_ID = select(t).where(t.c.id == bindparam("campaign_id"), t.c.user_id == bindparam("user_id"))
# SQLite has no row locks (a write unit of work already holds the database's); PostgreSQL does.
_BY_ID_FOR_UPDATE = _BY_ID.with_for_update()


# The counts of the stats (and the dashboard's) in one pass over the user's campaigns: how
# many are in each status (``<status>_campaigns``), then each counter's sum (by its name).
# Built once: a statement made anew per call costs more to build than to run.
CAMPAIGN_TOTALS = select(
    *(
        func.count().filter(t.c.status == status).label(f"{status}_campaigns")
        for status in CAMPAIGN_STATUSES
    ),
    *(func.coalesce(func.sum(t.c[name]), 0).label(name) for name in CAMPAIGN_COUNTERS),
).where(t.c.user_id == bindparam("owner_id"))


class SqlCampaigns:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def add(self, user_id: int, draft: CampaignDraft, now: datetime) -> Campaign:
        values = {
            "user_id": user_id,
            "status": "draft",
            "created_at": now,
            "updated_at": now,
            **draft_values(draft),
        }
        row = self._c.execute(insert(t).values(values).returning(*t.c)).one()
        return campaign_from_row(row._mapping)

    def get(self, user_id: int, campaign_id: int) -> Campaign | None:
        row = self._c.execute(_BY_ID, {"campaign_id": campaign_id, "user_id": user_id}).first()
        return None if row is None else campaign_from_row(row._mapping)

    def get_for_update(self, user_id: int, campaign_id: int) -> Campaign | None:
        parameters = {"campaign_id": campaign_id, "user_id": user_id}
        row = self._c.execute(_BY_ID_FOR_UPDATE, parameters).first()
        return None if row is None else campaign_from_row(row._mapping)

    def save(self, campaign: Campaign) -> None:
        self._c.execute(
            update(t)
            .where(t.c.id == campaign.id, t.c.user_id == campaign.user_id)
            .values(saved_values(campaign))
        )

    def delete(self, user_id: int, campaign_id: int) -> bool:
        # Its deliveries go with it (ON DELETE CASCADE), and out of the dashboard's counts.
        forget_campaign(self._c, user_id, campaign_id)
        statement = delete(t).where(t.c.id == campaign_id, t.c.user_id == user_id)
        return bool(self._c.execute(statement).rowcount)

    def page(
        self, user_id: int, status: CampaignStatus | None, page: int, per_page: int
    ) -> tuple[list[Campaign], int]:
        conditions = [t.c.user_id == user_id]
        if status is not None:
            conditions.append(t.c.status == status)
        total = self._c.execute(select(func.count()).select_from(t).where(*conditions)).scalar_one()
        offset = (page - 1) * per_page
        if offset >= total:
            return [], total
        rows = self._c.execute(
            select(t)
            .where(*conditions)
            .order_by(t.c.created_at.desc(), t.c.id.desc())
            .limit(per_page)
            .offset(offset)
        )
        return [campaign_from_row(row._mapping) for row in rows], total

    def count_by_status(self, user_id: int) -> dict[CampaignStatus, int]:
        row = self._c.execute(CAMPAIGN_TOTALS, {"owner_id": user_id}).one()
        return {status: row._mapping[f"{status}_campaigns"] for status in CAMPAIGN_STATUSES}

    def due_scheduled(self, now: datetime, limit: int) -> list[Campaign]:
        if limit <= 0:
            return []
        rows = self._c.execute(
            select(t)
            .where(t.c.status == "scheduled", t.c.scheduled_at <= now)
            .order_by(t.c.scheduled_at, t.c.id)
            .limit(limit)
        )
        return [campaign_from_row(row._mapping) for row in rows]

    def counter_totals(self, user_id: int) -> dict[str, int]:
        row = self._c.execute(CAMPAIGN_TOTALS, {"owner_id": user_id}).one()
        return {name: int(row._mapping[name]) for name in CAMPAIGN_COUNTERS}
