"""The sending queue: what the dispatcher does to deliveries, each call its own short write
unit of work (SQLite: ``BEGIN IMMEDIATE`` serialises them; PostgreSQL: row locks).

Leases: a claimed delivery stays ``pending`` and carries ``claimed_by`` and
``lease_expires_at``; a leased row is never claimed again. Its worker records the outcome
(clearing the lease), or the lease expires and ``reap_expired`` fails the delivery with
``unknown_outcome``: it may have been sent, so it is never sent again by itself. Hence a
leased delivery is always ``pending``, and nothing else ever writes to a leased row
(``skip_pending`` and ``fail_campaign`` leave them to their workers).

Counters: every move of a delivery's status applies ``counter_changes`` to its campaign's
counters in the same transaction (``UPDATE … SET sent_count = sent_count + 1``), which keeps
them equal to a recount without reading every delivery, and stays right under concurrency
(PostgreSQL re-reads the row it waited for).

Locks (PostgreSQL): transactions that move statuses lock the campaign row before its
deliveries, as the campaign actions do (``get_for_update``, then ``skip_pending``), so they
never deadlock with them. The one exception, the claim's skipping of opted-out recipients,
holds delivery locks already; it takes the campaigns with ``SKIP LOCKED`` and leaves the rows
of a busy campaign for a later claim, so it never waits either.

Pace: a claim serves a user only when the user's ``dispatch_next_at`` has come, and gives the
deliveries it takes send times ``send_slots`` apart, as many as fit before ``now +
horizon_seconds`` (one at least); ``dispatch_next_at`` then moves one ``spacing`` past the last.
Send times are thus at least ``spacing`` apart across every worker (the users row is locked,
``SKIP LOCKED``, while claiming), so no 60-second window holds more than
``send_rate_per_minute`` of them. The worker holds each message until its send time; a lease
lasts from the last send time of its claim.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Select,
    bindparam,
    func,
    or_,
    select,
    update,
)

from nexus_adapters.sql.repositories.campaign_rows import stored_template
from nexus_adapters.sql.repositories.contacts import touch_contacts
from nexus_adapters.sql.repositories.delivery_activity import (
    ActivityChanges,
    stamp_column,
    stamps,
)
from nexus_adapters.sql.repositories.delivery_rows import delivery_from_row
from nexus_adapters.sql.tables import campaigns, contacts, users
from nexus_adapters.sql.tables import deliveries as d
from nexus_core.domain.campaign_status import next_status
from nexus_core.domain.dashboard import MILESTONES, milestone_move, reached
from nexus_core.domain.deliveries import (
    ClaimedDelivery,
    Outcome,
    ReceiptStatus,
    after_receipt,
    counter_changes,
)
from nexus_core.domain.send_rate import send_slots, slots_within, spacing

OPTED_OUT = "opted_out"
UNKNOWN_OUTCOME = "unknown_outcome"
# The error of a delivery a ``failed`` receipt fails (the callback's own code is not kept).
RECEIPT_FAILED = "receipt_failed"
_COMPLETED = next_status("active", "complete")
_FAILED = next_status("active", "fail")

# Pending, due, unleased deliveries of active campaigns: what a claim looks at.
_JOINED = d.join(campaigns, campaigns.c.id == d.c.campaign_id).outerjoin(
    contacts, contacts.c.id == d.c.contact_id
)


def _waiting(now: datetime) -> list[ColumnElement[bool]]:
    return [
        d.c.status == "pending",
        d.c.next_attempt_at <= now,
        d.c.claimed_by.is_(None),
        campaigns.c.status == "active",
    ]


# One outcome, written for each delivery of a batch (``executemany``); built once.
_RECORD = (
    update(d)
    .where(d.c.id == bindparam("delivery_id"))
    .values(
        status=bindparam("new_status"),
        error=bindparam("new_error"),
        provider_message_id=bindparam("message_id"),
        next_attempt_at=bindparam("retry_at", type_=d.c.next_attempt_at.type),
        claimed_by=None,
        lease_expires_at=None,
        updated_at=bindparam("at", type_=d.c.updated_at.type),
        # A leased delivery is pending, so it had reached nothing: it reaches now the
        # milestones of its new status.
        **{stamp_column(m): bindparam(f"{m}_stamp", type_=d.c.updated_at.type) for m in MILESTONES},
    )
)


class SqlDeliveryQueue:
    _c: Connection

    @property
    def _locks_rows(self) -> bool:
        """PostgreSQL locks rows; SQLite's write unit of work holds the whole database."""
        return self._c.dialect.name == "postgresql"

    def _lock_campaigns(
        self, campaign_ids: Collection[int], *, skip_locked: bool = False
    ) -> set[int]:
        """Lock these campaign rows, in id order (no deadlock between two lockers); which were
        locked (with ``skip_locked``, those another transaction holds are left out)."""
        if not campaign_ids:
            return set()
        if not self._locks_rows:
            return set(campaign_ids)
        statement = (
            select(campaigns.c.id)
            .where(campaigns.c.id.in_(sorted(campaign_ids)))
            .order_by(campaigns.c.id)
            .with_for_update(skip_locked=skip_locked)
        )
        return set(self._c.execute(statement).scalars())

    def _shift(self, campaign_id: int, changes: Mapping[str, int], times: int = 1) -> None:
        """Add ``changes`` (``counter_changes``), ``times`` over, to the campaign's counters."""
        if not changes or times == 0:
            return
        values = {name: campaigns.c[name] + delta * times for name, delta in changes.items()}
        self._c.execute(update(campaigns).where(campaigns.c.id == campaign_id).values(values))

    # -- claiming ------------------------------------------------------------------------------

    def claim_due(
        self,
        now: datetime,
        lease_seconds: float,
        limit: int,
        worker_id: str,
        horizon_seconds: float = 0.0,
    ) -> list[ClaimedDelivery]:
        if limit <= 0:
            return []
        horizon = timedelta(seconds=horizon_seconds)
        oldest = (
            select(func.min(d.c.next_attempt_at))
            .select_from(_JOINED)
            .where(d.c.user_id == users.c.id, *_waiting(now))
            .scalar_subquery()
        )
        ready: Select[Any] = (
            select(users.c.id, users.c.send_rate_per_minute)
            .where(
                or_(users.c.dispatch_next_at.is_(None), users.c.dispatch_next_at <= now),
                oldest.is_not(None),
            )
            .order_by(oldest, users.c.id)
            .limit(limit)
        )
        if self._locks_rows:
            ready = ready.with_for_update(skip_locked=True, of=users)
        claimed: list[ClaimedDelivery] = []
        unreachable: list[tuple[int, int]] = []  # (delivery id, campaign id)
        for user_id, rate in self._c.execute(ready).all():
            wanted = min(slots_within(rate, horizon), limit - len(claimed))
            if wanted <= 0:
                break
            rows = self._rows_for_user(user_id, now, wanted, unreachable, skip_budget=limit)
            if not rows:
                continue
            slots = send_slots(rate, len(rows), now)
            claimed.extend(
                self._lease(
                    rows, slots, slots[-1] + timedelta(seconds=lease_seconds), worker_id, now
                )
            )
            self._c.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(dispatch_next_at=slots[-1] + spacing(rate))
            )
        self._skip_unreachable(unreachable, now)
        claimed.sort(key=lambda c: (c.send_at, c.delivery.id))
        return claimed

    def _rows_for_user(
        self,
        user_id: int,
        now: datetime,
        wanted: int,
        unreachable: list[tuple[int, int]],
        skip_budget: int,
    ) -> list[Row[Any]]:
        """Up to ``wanted`` of the user's oldest due deliveries whose contact is reachable
        (locked, on PostgreSQL); the unreachable ones met on the way (at most ``skip_budget``
        in all) go to ``unreachable``."""
        taken: list[Row[Any]] = []
        while len(taken) < wanted:
            passed = [delivery_id for delivery_id, _ in unreachable]
            passed.extend(row.id for row in taken)
            candidates: Select[Any] = (
                select(
                    d,
                    campaigns.c.channel,
                    campaigns.c.subject,
                    campaigns.c.message,
                    campaigns.c.media_url,
                    campaigns.c.media_type,
                    campaigns.c.whatsapp_template,
                    contacts.c.phone.label("contact_phone"),
                    contacts.c.email.label("contact_email"),
                    contacts.c.opted_out.label("contact_opted_out"),
                )
                .select_from(_JOINED)
                .where(d.c.user_id == user_id, *_waiting(now))
                .order_by(d.c.next_attempt_at, d.c.id)
                .limit(wanted - len(taken))
            )
            if passed:
                candidates = candidates.where(d.c.id.not_in(passed))
            if self._locks_rows:
                candidates = candidates.with_for_update(skip_locked=True, of=d)
            rows = self._c.execute(candidates).all()
            if not rows:
                break
            for row in rows:
                if row.contact_id is not None and not row.contact_opted_out:
                    taken.append(row)
                elif len(unreachable) < skip_budget:
                    unreachable.append((row.id, row.campaign_id))
                else:
                    return taken
        return taken

    def _lease(
        self,
        rows: list[Row[Any]],
        slots: list[datetime],
        lease_until: datetime,
        worker_id: str,
        now: datetime,
    ) -> list[ClaimedDelivery]:
        """Lease ``rows`` to ``worker_id`` (one more attempt each), to leave at ``slots``."""
        self._c.execute(
            update(d)
            .where(d.c.id.in_([row.id for row in rows]))
            .values(
                claimed_by=worker_id,
                lease_expires_at=lease_until,
                attempts=d.c.attempts + 1,
                updated_at=now,
            )
        )
        leased: list[ClaimedDelivery] = []
        for row, send_at in zip(rows, slots, strict=True):
            m = row._mapping
            delivery = delivery_from_row(m)  # as read: pending, unleased
            leased.append(
                ClaimedDelivery(
                    delivery=dataclasses.replace(
                        delivery, attempts=delivery.attempts + 1, updated_at=now
                    ),
                    worker_id=worker_id,
                    lease_expires_at=lease_until,
                    send_at=send_at,
                    channel=m["channel"],
                    subject=m["subject"],
                    message=m["message"],
                    media_url=m["media_url"],
                    media_type=m["media_type"],
                    whatsapp_template=stored_template(m["whatsapp_template"]),
                    phone=m["contact_phone"],
                    email=m["contact_email"],
                )
            )
        return leased

    def _skip_unreachable(self, unreachable: list[tuple[int, int]], now: datetime) -> None:
        """Skip (``opted_out``) the deliveries met whose contact is gone or opted out, in the
        campaigns that can be locked without waiting (the others' wait for a later claim)."""
        by_campaign: dict[int, list[int]] = {}
        for delivery_id, campaign_id in unreachable:
            by_campaign.setdefault(campaign_id, []).append(delivery_id)
        locked = self._lock_campaigns(by_campaign, skip_locked=True)
        changes = counter_changes("pending", "skipped")
        for campaign_id in sorted(locked):
            skipped = self._c.execute(
                update(d)
                .where(
                    d.c.id.in_(by_campaign[campaign_id]),
                    d.c.status == "pending",
                    d.c.claimed_by.is_(None),
                )
                .values(status="skipped", error=OPTED_OUT, next_attempt_at=None, updated_at=now)
            ).rowcount
            self._shift(campaign_id, changes, int(skipped))

    # -- outcomes ------------------------------------------------------------------------------

    def record_outcomes(
        self, worker_id: str, outcomes: Sequence[Outcome], now: datetime
    ) -> set[int]:
        if not outcomes:
            return set()
        by_id = {outcome.delivery_id: outcome for outcome in outcomes}
        leased = (
            d.c.id.in_(sorted(by_id)),
            d.c.claimed_by == worker_id,
            d.c.status == "pending",
        )
        # The campaigns first (the lock order of every status move), then the rows they
        # guard, read again: a reaper may have taken some meanwhile.
        self._lock_campaigns(set(self._c.execute(select(d.c.campaign_id).where(*leased)).scalars()))
        rows = self._c.execute(
            select(d.c.id, d.c.campaign_id, d.c.user_id, d.c.contact_id).where(*leased)
        ).all()
        if not rows:
            return set()
        self._c.execute(
            _RECORD,
            [
                {
                    "delivery_id": row.id,
                    "new_status": by_id[row.id].status,
                    "new_error": by_id[row.id].error,
                    "message_id": by_id[row.id].provider_message_id,
                    "retry_at": by_id[row.id].next_attempt_at
                    if by_id[row.id].status == "pending"
                    else None,
                    "at": now,
                    **{
                        f"{m}_stamp": now if m in reached(by_id[row.id].status) else None
                        for m in MILESTONES
                    },
                }
                for row in rows
            ],
        )
        changes: dict[int, Counter[str]] = {}
        activity = ActivityChanges()
        for row in rows:
            changes.setdefault(row.campaign_id, Counter()).update(
                counter_changes("pending", by_id[row.id].status)
            )
            activity.moved(row.user_id, milestone_move("pending", by_id[row.id].status), now)
        for campaign_id, change in sorted(changes.items()):
            self._shift(campaign_id, change)
        activity.write(self._c)
        messaged = [row for row in rows if by_id[row.id].status == "sent" and row.contact_id]
        if messaged:
            self._c.execute(
                update(contacts)
                .where(contacts.c.id.in_(sorted(row.contact_id for row in messaged)))
                .values(last_message=now)
            )
            for user_id in sorted({row.user_id for row in messaged}):
                touch_contacts(self._c, user_id)
        return {row.id for row in rows}

    def reap_expired(self, now: datetime) -> int:
        expired = (
            d.c.claimed_by.is_not(None),
            d.c.lease_expires_at <= now,
            d.c.status == "pending",
        )
        campaign_ids = set(self._c.execute(select(d.c.campaign_id).where(*expired)).scalars())
        self._lock_campaigns(campaign_ids)
        move = milestone_move("pending", "failed")
        reaped = self._c.execute(
            update(d)
            .where(*expired, d.c.campaign_id.in_(sorted(campaign_ids)))
            .values(
                status="failed",
                error=UNKNOWN_OUTCOME,
                next_attempt_at=None,
                claimed_by=None,
                lease_expires_at=None,
                updated_at=now,
                **stamps(move, now),
            )
            .returning(d.c.campaign_id, d.c.user_id)
        ).all()
        per_campaign = Counter(row.campaign_id for row in reaped)
        changes = counter_changes("pending", "failed")
        for campaign_id, how_many in sorted(per_campaign.items()):
            self._shift(campaign_id, changes, how_many)
        activity = ActivityChanges()
        for user_id, how_many in sorted(Counter(row.user_id for row in reaped).items()):
            activity.moved(user_id, move, now, times=how_many)
        activity.write(self._c)
        return sum(per_campaign.values())

    def complete_finished(self, now: datetime) -> list[int]:
        pending = select(d.c.id).where(d.c.campaign_id == campaigns.c.id, d.c.status == "pending")
        completed = self._c.execute(
            update(campaigns)
            .where(campaigns.c.status == "active", ~pending.exists())
            .values(status=_COMPLETED, completed_at=now, updated_at=now)
            .returning(campaigns.c.id)
        ).scalars()
        return sorted(completed)

    def fail_campaign(self, campaign_id: int, error: str, now: datetime) -> bool:
        status_of = select(campaigns.c.status, campaigns.c.user_id).where(
            campaigns.c.id == campaign_id
        )
        if self._locks_rows:
            status_of = status_of.with_for_update()
        found = self._c.execute(status_of).first()
        if found is None or found.status != "active":
            return False
        move = milestone_move("pending", "failed")
        failed = self._c.execute(
            update(d)
            .where(
                d.c.campaign_id == campaign_id,
                d.c.status == "pending",
                d.c.claimed_by.is_(None),
            )
            .values(
                status="failed",
                error=error,
                next_attempt_at=None,
                updated_at=now,
                **stamps(move, now),
            )
        ).rowcount
        activity = ActivityChanges()
        activity.moved(found.user_id, move, now, times=int(failed))
        activity.write(self._c)
        self._c.execute(
            update(campaigns)
            .where(campaigns.c.id == campaign_id)
            .values(status=_FAILED, updated_at=now)
        )
        self._shift(campaign_id, counter_changes("pending", "failed"), int(failed))
        return True

    def apply_receipt(
        self, provider_message_id: str, receipt: ReceiptStatus, now: datetime
    ) -> bool:
        known = d.c.provider_message_id == provider_message_id
        campaign_id = self._c.execute(select(d.c.campaign_id).where(known)).scalar()
        if campaign_id is None:
            return False
        self._lock_campaigns([campaign_id])
        current_of = select(
            d.c.id,
            d.c.status,
            d.c.error,
            d.c.user_id,
            *(d.c[stamp_column(m)] for m in MILESTONES),
        ).where(known)
        if self._locks_rows:
            current_of = current_of.with_for_update()
        row = self._c.execute(current_of).first()
        if row is None:
            return False
        new = after_receipt(row.status, receipt)
        if new is None:
            return False
        move = milestone_move(row.status, new)
        values: dict[str, Any] = {
            "status": new,
            "next_attempt_at": None,
            "claimed_by": None,
            "lease_expires_at": None,
            "updated_at": now,
            **stamps(move, now),
        }
        if new == "failed":
            values["error"] = RECEIPT_FAILED
        self._c.execute(update(d).where(d.c.id == row.id, d.c.status == row.status).values(values))
        self._shift(campaign_id, counter_changes(row.status, new))
        activity = ActivityChanges()
        lost_at = {m: row._mapping[stamp_column(m)] for m in move.lost}
        activity.moved(row.user_id, move, now, lost_at)
        activity.write(self._c)
        return True
