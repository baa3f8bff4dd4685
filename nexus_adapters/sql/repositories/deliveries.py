"""A campaign's deliveries: the snapshot of its recipients (one set-based statement), the
list, the recount, and the bulk moves of cancel and retry-failed; the dispatcher's queue
operations come from ``delivery_queue``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, func, literal, select, update

from nexus_adapters.sql.repositories.contact_rows import contact_from_row
from nexus_adapters.sql.repositories.delivery_activity import (
    ActivityChanges,
    activity_by_span,
    stamp_column,
    stamps,
)
from nexus_adapters.sql.repositories.delivery_queue import SqlDeliveryQueue
from nexus_adapters.sql.repositories.delivery_rows import delivery_from_row, recipients
from nexus_adapters.sql.repositories.upsert import insert_for
from nexus_adapters.sql.statistics import refresh_after_bulk_write
from nexus_adapters.sql.tables import contacts
from nexus_adapters.sql.tables import deliveries as t
from nexus_core.domain.campaigns import Campaign
from nexus_core.domain.contact_records import Contact
from nexus_core.domain.dashboard import Activity, milestone_move
from nexus_core.domain.deliveries import (
    Delivery,
    DeliveryCounts,
    DeliveryStatus,
    counts_from_tally,
)

# The columns ``snapshot`` fills, in the order of its SELECT.
_SNAPSHOT_COLUMNS = (
    "campaign_id",
    "user_id",
    "contact_id",
    "address",
    "name",
    "status",
    "next_attempt_at",
    "created_at",
    "updated_at",
)


class SqlDeliveries(SqlDeliveryQueue):
    """The campaign actions' side here; the dispatcher's queue in ``SqlDeliveryQueue``."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def snapshot(self, campaign: Campaign, now: datetime) -> int:
        rule = recipients(campaign, self._c.dialect.name)
        moment = literal(now, t.c.created_at.type)
        chosen = (
            select(
                literal(campaign.id, t.c.campaign_id.type),
                literal(campaign.user_id, t.c.user_id.type),
                contacts.c.id,
                rule.address,
                contacts.c.name,
                literal("pending", t.c.status.type),
                moment,
                moment,
                moment,
            )
            # A WHERE (always present here) keeps SQLite's parser from reading the ON of
            # ON CONFLICT as a join's.
            .where(*rule.where)
            .order_by(contacts.c.id)
        )
        statement = (
            insert_for(self._c, t)
            .from_select(_SNAPSHOT_COLUMNS, chosen)
            .on_conflict_do_nothing(index_elements=["campaign_id", "contact_id"])
        )
        if self._c.dialect.name == "sqlite":
            return int(self._c.execute(statement, rule.parameters).rowcount)
        # psycopg reports no row count for this INSERT … SELECT through SQLAlchemy (-1): count
        # what it returns, in the database, without sending the rows back.
        added = statement.returning(t.c.id).cte("added")
        counted = select(func.count()).select_from(added)
        how_many = int(self._c.execute(counted, rule.parameters).scalar_one())
        refresh_after_bulk_write(self._c, t, how_many)
        return how_many

    def page(
        self,
        user_id: int,
        campaign_id: int,
        status: DeliveryStatus | None,
        page: int,
        per_page: int,
    ) -> tuple[list[Delivery], int]:
        conditions = [t.c.campaign_id == campaign_id, t.c.user_id == user_id]
        if status is not None:
            conditions.append(t.c.status == status)
        total = self._c.execute(select(func.count()).select_from(t).where(*conditions)).scalar_one()
        offset = (page - 1) * per_page
        if offset >= total:
            return [], total
        rows = self._c.execute(
            select(t).where(*conditions).order_by(t.c.id).limit(per_page).offset(offset)
        )
        return [delivery_from_row(row._mapping) for row in rows], total

    def counts(self, campaign_id: int) -> DeliveryCounts:
        rows = self._c.execute(
            select(t.c.status, func.count())
            .where(t.c.campaign_id == campaign_id)
            .group_by(t.c.status)
        )
        return counts_from_tally({status: count for status, count in rows})

    def activity_by_day(self, user_id: int, starts: Sequence[int]) -> list[Activity]:
        return activity_by_span(self._c, user_id, starts)

    def skip_pending(self, campaign_id: int, error: str, now: datetime) -> int:
        # Leased deliveries are being sent: their workers record what became of them.
        statement = (
            update(t)
            .where(
                t.c.campaign_id == campaign_id,
                t.c.status == "pending",
                t.c.claimed_by.is_(None),
            )
            .values(status="skipped", error=error, next_attempt_at=None, updated_at=now)
        )
        return int(self._c.execute(statement).rowcount)

    def reset_failed(self, campaign_id: int, now: datetime) -> int:
        failed = (t.c.campaign_id == campaign_id, t.c.status == "failed")
        move = milestone_move("failed", "pending")
        # They leave the failures of the days they failed on: counted there, by moment.
        activity = ActivityChanges()
        for milestone in move.lost:
            stamp = t.c[stamp_column(milestone)]
            grouped = self._c.execute(
                select(t.c.user_id, stamp, func.count())
                .where(*failed, stamp.is_not(None))
                .group_by(t.c.user_id, stamp)
            )
            for user_id, moment, how_many in grouped:
                activity.lost(user_id, milestone, moment, how_many)
        # The failed message's id goes too: its late receipts must not move the new attempt.
        statement = (
            update(t)
            .where(*failed)
            .values(
                status="pending",
                error=None,
                provider_message_id=None,
                next_attempt_at=now,
                updated_at=now,
                **stamps(move, now),
            )
        )
        reset = int(self._c.execute(statement).rowcount)
        activity.write(self._c)
        return reset

    def preview_recipient(self, campaign: Campaign) -> Contact | None:
        rule = recipients(campaign, self._c.dialect.name)
        statement = select(contacts).where(*rule.where).order_by(contacts.c.id).limit(1)
        row = self._c.execute(statement, rule.parameters).first()
        return None if row is None else contact_from_row(row._mapping)

    def count_recipients(self, campaign: Campaign) -> int:
        rule = recipients(campaign, self._c.dialect.name)
        statement = select(func.count()).select_from(contacts).where(*rule.where)
        return int(self._c.execute(statement, rule.parameters).scalar_one())
