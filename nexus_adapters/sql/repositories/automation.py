"""Bot activities on ``bot_activities``: the queue of AI replies the dispatch workers claim
with leases (as they claim deliveries), and the record the automation page lists.

A claim looks at the oldest unleased pending activities, locks their users (``SKIP LOCKED`` on
PostgreSQL: a user another worker is claiming for waits for a later round, which keeps the
per-minute pace exact across workers; SQLite's write transaction holds everything), then
leases each user's oldest ones up to the pace, and skips those that may no longer be answered.
A leased activity is only written by its worker (``record``) or the reaper.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    bindparam,
    func,
    insert,
    literal,
    select,
    update,
)

from nexus_adapters.sql.tables import bot_activities as a
from nexus_adapters.sql.tables import contacts, conversations, users
from nexus_adapters.sql.tables import conversation_messages as m
from nexus_core.domain.automation import (
    AUTOMATION_OFF,
    CONTACT_DELETED,
    OPTED_OUT,
    UNKNOWN_OUTCOME,
    WINDOW_CLOSED,
    ActivityStatus,
    BotActivity,
    ClaimedReply,
)
from nexus_core.domain.conversations import window_is_open

PACE_WINDOW = timedelta(minutes=1)
# Candidates read per claim, per activity wanted: room for those skipped or over the pace.
_LOOK_AHEAD = 4


# An inbound message's activity, with the snapshots, in one statement (the webhook's unit of
# work runs it for each message to answer).
_NOW = bindparam("now", type_=a.c.created_at.type)
_ENQUEUE = insert(a).from_select(
    [
        "user_id", "contact_id", "inbound_message_id", "contact_phone", "contact_name",
        "message_content", "status", "created_at", "updated_at",
    ],
    select(
        bindparam("owner_id", type_=Integer),
        contacts.c.id,
        m.c.id,
        func.coalesce(contacts.c.phone, ""),
        contacts.c.name,
        m.c.text,
        literal("pending", a.c.status.type),
        _NOW,
        _NOW,
    )
    .select_from(contacts.join(m, m.c.id == bindparam("message_id", type_=Integer)))
    .where(contacts.c.id == bindparam("contact_id", type_=Integer)),
)  # fmt: skip


def _claimable() -> tuple[Any, ...]:
    return (a.c.status == "pending", a.c.claimed_by.is_(None))


class SqlAutomation:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    @property
    def _locks_rows(self) -> bool:
        return self._c.dialect.name == "postgresql"

    def enqueue(
        self, user_id: int, contact_id: int, inbound_message_id: int, now: datetime
    ) -> None:
        self._c.execute(
            _ENQUEUE,
            {
                "owner_id": user_id,
                "contact_id": contact_id,
                "message_id": inbound_message_id,
                "now": now,
            },
        )

    def claim_due(
        self, now: datetime, lease_seconds: float, limit: int, worker_id: str, per_minute: int
    ) -> list[ClaimedReply]:
        if limit <= 0:
            return []
        waiting = self._c.execute(
            select(a.c.user_id).where(*_claimable()).order_by(a.c.id).limit(limit * _LOOK_AHEAD)
        ).scalars()
        user_ids = sorted(set(waiting))
        if not user_ids:
            return []
        if self._locks_rows:
            user_ids = list(
                self._c.execute(
                    select(users.c.id)
                    .where(users.c.id.in_(user_ids))
                    .order_by(users.c.id)
                    .with_for_update(skip_locked=True)
                ).scalars()
            )
        recent: Counter[int] = Counter(
            dict(
                self._c.execute(
                    select(a.c.user_id, func.count())
                    .where(a.c.user_id.in_(user_ids), a.c.claimed_at > now - PACE_WINDOW)
                    .group_by(a.c.user_id)
                ).all()
            )
        )
        candidates: Select[Any] = (
            select(
                a.c.id,
                a.c.user_id,
                a.c.contact_id,
                a.c.inbound_message_id,
                a.c.message_content,
                a.c.contact_phone,
                users.c.gemini_auto_reply_enabled,
                users.c.gemini_api_key_encrypted.is_not(None).label("has_key"),
                contacts.c.id.label("contact_exists"),
                contacts.c.phone.label("phone"),
                contacts.c.opted_out,
                conversations.c.last_inbound_at,
            )
            .select_from(
                a.join(users, users.c.id == a.c.user_id)
                .outerjoin(contacts, contacts.c.id == a.c.contact_id)
                .outerjoin(
                    conversations,
                    (conversations.c.user_id == a.c.user_id)
                    & (conversations.c.contact_id == a.c.contact_id),
                )
            )
            .where(*_claimable(), a.c.user_id.in_(user_ids))
            .order_by(a.c.id)
            .limit(limit * _LOOK_AHEAD)
        )
        if self._locks_rows:
            candidates = candidates.with_for_update(skip_locked=True, of=a)
        leased: list[ClaimedReply] = []
        skipped: dict[str, list[int]] = {}
        for row in self._c.execute(candidates).all():
            reason = _unanswerable(row, now)
            if reason is not None:
                skipped.setdefault(reason, []).append(row.id)
                continue
            if len(leased) >= limit or recent[row.user_id] >= per_minute:
                continue
            recent[row.user_id] += 1
            leased.append(
                ClaimedReply(
                    activity_id=row.id,
                    user_id=row.user_id,
                    contact_id=row.contact_id,
                    phone=row.phone,
                    message_content=row.message_content,
                    inbound_message_id=row.inbound_message_id,
                )
            )
        for reason, ids in sorted(skipped.items()):
            self._c.execute(
                update(a)
                .where(a.c.id.in_(ids))
                .values(status="skipped", error=reason, updated_at=now)
            )
        if leased:
            self._c.execute(
                update(a)
                .where(a.c.id.in_([reply.activity_id for reply in leased]))
                .values(
                    claimed_by=worker_id,
                    claimed_at=now,
                    lease_expires_at=now + timedelta(seconds=lease_seconds),
                    attempts=a.c.attempts + 1,
                    updated_at=now,
                )
            )
        return leased

    def record(
        self,
        worker_id: str,
        activity_id: int,
        status: ActivityStatus,
        response: str | None,
        error: str | None,
        now: datetime,
    ) -> bool:
        recorded = self._c.execute(
            update(a)
            .where(a.c.id == activity_id, a.c.claimed_by == worker_id, a.c.status == "pending")
            .values(
                status=status,
                response_content=response,
                error=error,
                claimed_by=None,
                lease_expires_at=None,
                updated_at=now,
            )
        ).rowcount
        return recorded == 1

    def reap_expired(self, now: datetime) -> int:
        return int(
            self._c.execute(
                update(a)
                .where(
                    a.c.claimed_by.is_not(None),
                    a.c.lease_expires_at <= now,
                    a.c.status == "pending",
                )
                .values(
                    status="failed",
                    error=UNKNOWN_OUTCOME,
                    claimed_by=None,
                    lease_expires_at=None,
                    updated_at=now,
                )
            ).rowcount
        )

    def page(self, user_id: int, page: int, per_page: int) -> tuple[list[BotActivity], int]:
        total = self._c.execute(
            select(func.count()).select_from(a).where(a.c.user_id == user_id)
        ).scalar_one()
        rows = self._c.execute(
            select(a)
            .where(a.c.user_id == user_id)
            .order_by(a.c.created_at.desc(), a.c.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
        return [_activity(row._mapping) for row in rows], int(total)

    def outcomes_since(self, user_id: int, since: datetime) -> tuple[int, int]:
        counts: dict[str, int] = dict(
            self._c.execute(
                select(a.c.status, func.count())
                .where(
                    a.c.user_id == user_id,
                    a.c.created_at >= since,
                    a.c.status.in_(("sent", "failed")),
                )
                .group_by(a.c.status)
            ).all()
        )
        return int(counts.get("sent", 0)), int(counts.get("failed", 0))


def _unanswerable(row: Any, now: datetime) -> str | None:
    """Why a pending activity may no longer be answered, or ``None``."""
    if not (row.gemini_auto_reply_enabled and row.has_key):
        return AUTOMATION_OFF
    if row.contact_exists is None or row.phone is None:
        return CONTACT_DELETED
    if row.opted_out:
        return OPTED_OUT
    if not window_is_open(row.last_inbound_at, now):
        return WINDOW_CLOSED
    return None


def _activity(row: Any) -> BotActivity:
    return BotActivity(
        id=row["id"],
        user_id=row["user_id"],
        contact_id=row["contact_id"],
        contact_phone=row["contact_phone"],
        contact_name=row["contact_name"],
        message_content=row["message_content"],
        response_content=row["response_content"],
        status=row["status"],
        error=row["error"],
        created_at=row["created_at"],
    )
