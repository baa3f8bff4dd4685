"""In-memory implementations of the ports, faithful enough to run every use case."""

from __future__ import annotations

import bisect
import copy
import csv
import dataclasses
import hashlib
import hmac
import secrets
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, BinaryIO, Protocol, Self

from nexus_core.domain.audience import address_for, recipients
from nexus_core.domain.campaign_status import CAMPAIGN_STATUSES, CampaignStatus, next_status
from nexus_core.domain.campaigns import Campaign, CampaignDraft
from nexus_core.domain.contact_files import ContactTable, FileType, SourceRow, UnreadableFile
from nexus_core.domain.contact_import_plan import batch_keys, plan_import
from nexus_core.domain.contact_imports import ImportedRow, OnDuplicate, Settlement
from nexus_core.domain.contact_queries import ContactQuery, search_key
from nexus_core.domain.contact_records import (
    Contact,
    ContactSource,
    ContactStats,
    recent_since,
    revised,
)
from nexus_core.domain.contacts import ContactDraft
from nexus_core.domain.dashboard import (
    MILESTONES,
    Activity,
    DashboardCounts,
    ImportTotals,
    Milestone,
    bucket_of,
    milestone_move,
)
from nexus_core.domain.deliveries import (
    ClaimedDelivery,
    Delivery,
    DeliveryCounts,
    DeliveryStatus,
    Outcome,
    ReceiptStatus,
    after_receipt,
    count_deliveries,
    counter_changes,
)
from nexus_core.domain.import_history import ImportCounts, ImportedFile, ImportStatus
from nexus_core.domain.rate_limits import WindowCount
from nexus_core.domain.send_rate import send_slots, slots_within, spacing
from nexus_core.domain.sessions import Session
from nexus_core.domain.users import Credentials, Preferences, Registration, User
from nexus_core.errors import Conflict
from nexus_core.ports import (
    CampaignRepository,
    ContactRepository,
    DeliveryRepository,
    ImportRepository,
)
from nexus_core.testing.conversation_fakes import FakeAutomation, FakeConversations, Inbox

# The ``Campaign`` fields that count deliveries (what ``counter_totals`` sums).
CAMPAIGN_COUNTER_FIELDS = (
    "total_recipients",
    "pending_count",
    "sent_count",
    "delivered_count",
    "opened_count",
    "clicked_count",
    "failed_count",
    "skipped_count",
)


@dataclasses.dataclass
class _State:
    users: dict[int, User] = dataclasses.field(default_factory=dict)
    sessions: dict[int, Session] = dataclasses.field(default_factory=dict)
    counters: dict[str, WindowCount] = dataclasses.field(default_factory=dict)
    contacts: dict[int, Contact] = dataclasses.field(default_factory=dict)
    imports: dict[int, ImportedFile] = dataclasses.field(default_factory=dict)
    campaigns: dict[int, Campaign] = dataclasses.field(default_factory=dict)
    deliveries: dict[int, Delivery] = dataclasses.field(default_factory=dict)
    # The dispatcher's: delivery id → (worker id, lease expiry); user id → next claim time.
    leases: dict[int, tuple[str, datetime]] = dataclasses.field(default_factory=dict)
    dispatch_next_at: dict[int, datetime] = dataclasses.field(default_factory=dict)
    # The dashboard's: delivery id → when it reached each milestone of its status.
    reached_at: dict[int, dict[Milestone, datetime]] = dataclasses.field(default_factory=dict)
    # Conversations, their messages and the bot activities.
    inbox: Inbox = dataclasses.field(default_factory=Inbox)
    # A plain int, not itertools.count: the unit of work deep-copies the state, and copying
    # itertools objects is deprecated since Python 3.12 and gone in 3.14.
    last_id: int = 0

    def next_id(self) -> int:
        self.last_id += 1
        return self.last_id


class FakeUsers:
    def __init__(self, state: _State) -> None:
        self._s = state

    def add(self, registration: Registration, password_hash: str, now: datetime) -> User:
        if self.get_by_email(registration.email) is not None:
            raise Conflict("user.email_taken")
        user = User(
            id=self._s.next_id(),
            email=registration.email,
            password_hash=password_hash,
            name=registration.name,
            phone=registration.phone,
            company=registration.company,
            preferences=Preferences(),
            credentials=Credentials(),
            created_at=now,
            updated_at=now,
            last_login=None,
        )
        self._s.users[user.id] = user
        return user

    def get(self, user_id: int) -> User | None:
        return self._s.users.get(user_id)

    def get_by_email(self, email: str) -> User | None:
        return next((u for u in self._s.users.values() if u.email == email), None)

    def get_for_update(self, user_id: int) -> User | None:
        return self.get(user_id)

    # Like an UPDATE that matches no row, writes to a user who no longer exists do nothing.
    def save(self, user: User) -> None:
        stored = self._s.users.get(user.id)
        if stored is None:
            return
        self._s.users[user.id] = dataclasses.replace(
            user,
            email=stored.email,
            password_hash=stored.password_hash,
            created_at=stored.created_at,
            last_login=stored.last_login,
        )

    def record_login(self, user_id: int, now: datetime) -> None:
        if user_id in self._s.users:
            self._s.users[user_id] = dataclasses.replace(self._s.users[user_id], last_login=now)

    def set_password_hash(self, user_id: int, password_hash: str, now: datetime) -> None:
        if user_id in self._s.users:
            self._s.users[user_id] = dataclasses.replace(
                self._s.users[user_id], password_hash=password_hash, updated_at=now
            )

    def delete(self, user_id: int) -> None:
        self._s.users.pop(user_id, None)
        for owned in (
            self._s.sessions,
            self._s.contacts,
            self._s.imports,
            self._s.campaigns,
            self._s.deliveries,
        ):
            for doomed in [key for key, value in owned.items() if value.user_id == user_id]:
                del owned[doomed]


class FakeSessions:
    def __init__(self, state: _State) -> None:
        self._s = state

    def add(self, user_id: int, token_hash: str, now: datetime) -> Session:
        session = Session(self._s.next_id(), user_id, token_hash, now, now)
        self._s.sessions[session.id] = session
        return session

    def find_with_user(self, token_hash: str) -> tuple[Session, User] | None:
        for session in self._s.sessions.values():
            if session.token_hash == token_hash:
                return session, self._s.users[session.user_id]
        return None

    def touch(self, session_id: int, now: datetime) -> None:
        if session_id in self._s.sessions:
            self._s.sessions[session_id] = dataclasses.replace(
                self._s.sessions[session_id], last_seen_at=now
            )

    def revoke(self, session_id: int) -> None:
        self._s.sessions.pop(session_id, None)

    def revoke_all_for_user(self, user_id: int, except_session_id: int | None = None) -> int:
        doomed = [
            s.id
            for s in self._s.sessions.values()
            if s.user_id == user_id and s.id != except_session_id
        ]
        for sid in doomed:
            del self._s.sessions[sid]
        return len(doomed)

    def purge_expired(self, idle_before: datetime, created_before: datetime) -> int:
        doomed = [
            s.id
            for s in self._s.sessions.values()
            if s.last_seen_at < idle_before or s.created_at < created_before
        ]
        for sid in doomed:
            del self._s.sessions[sid]
        return len(doomed)


class FakeRateCounters:
    def __init__(self, state: _State) -> None:
        self._s = state

    def hit(self, key: str, now: datetime, window: timedelta) -> WindowCount:
        current = self._s.counters.get(key)
        if current is None or now - current.window_started_at >= window:
            current = WindowCount(1, now)
        else:
            current = WindowCount(current.count + 1, current.window_started_at)
        self._s.counters[key] = current
        return current

    def peek(self, key: str) -> WindowCount | None:
        return self._s.counters.get(key)

    def clear(self, key: str) -> None:
        self._s.counters.pop(key, None)


def _matches(contact: Contact, query: ContactQuery) -> bool:
    if query.status is not None and contact.status != query.status:
        return False
    if not set(query.tags) <= set(contact.tags):
        return False
    needle, digits = query.search_key, query.search_digits
    if needle is None:
        return True
    return (
        needle in search_key(contact.name)
        or (contact.email is not None and needle in contact.email)
        or (digits is not None and contact.phone is not None and digits in contact.phone)
    )


def _sorted(contacts: list[Contact], query: ContactQuery) -> list[Contact]:
    def key(contact: Contact) -> tuple[Any, int]:
        if query.sort.endswith("name"):
            return search_key(contact.name), contact.id
        return contact.created_at, contact.id

    return sorted(contacts, key=key, reverse=query.sort.startswith("-"))


class FakeContacts:
    def __init__(self, state: _State) -> None:
        self._s = state

    def _holder(self, user_id: int, field: str, value: str | None, other_than: int) -> bool:
        return value is not None and any(
            c.user_id == user_id and c.id != other_than and getattr(c, field) == value
            for c in self._s.contacts.values()
        )

    def _check_unique(self, user_id: int, draft: ContactDraft, contact_id: int = 0) -> None:
        if self._holder(user_id, "phone", draft.phone, contact_id):
            raise Conflict("contact.phone_taken")
        if self._holder(user_id, "email", draft.email, contact_id):
            raise Conflict("contact.email_taken")

    def _create(
        self, user_id: int, draft: ContactDraft, source: ContactSource, now: datetime
    ) -> Contact:
        contact = Contact(
            id=self._s.next_id(),
            user_id=user_id,
            source=source,
            created_at=now,
            updated_at=now,
            last_message=None,
            **dataclasses.asdict(draft),
        )
        self._s.contacts[contact.id] = contact
        return contact

    def add(
        self, user_id: int, draft: ContactDraft, source: ContactSource, now: datetime
    ) -> Contact:
        self._check_unique(user_id, draft)
        return self._create(user_id, draft, source, now)

    def get(self, user_id: int, contact_id: int) -> Contact | None:
        contact = self._s.contacts.get(contact_id)
        return contact if contact is not None and contact.user_id == user_id else None

    def save(self, contact: Contact) -> None:
        stored = self.get(contact.user_id, contact.id)
        if stored is None:
            return
        self._check_unique(contact.user_id, contact.draft, contact.id)
        self._s.contacts[contact.id] = revised(stored, contact.draft, contact.updated_at)

    def delete(self, user_id: int, contact_id: int) -> bool:
        if self.get(user_id, contact_id) is None:
            return False
        del self._s.contacts[contact_id]
        for delivery in list(self._s.deliveries.values()):  # ON DELETE SET NULL
            if delivery.contact_id == contact_id:
                self._s.deliveries[delivery.id] = dataclasses.replace(delivery, contact_id=None)
        return True

    def delete_many(self, user_id: int, contact_ids: Collection[int]) -> int:
        return sum(self.delete(user_id, contact_id) for contact_id in set(contact_ids))

    def owned_ids(self, user_id: int, contact_ids: Collection[int]) -> set[int]:
        return {i for i in contact_ids if self.get(user_id, i) is not None}

    def _matching(self, user_id: int, query: ContactQuery) -> list[Contact]:
        mine = [c for c in self._s.contacts.values() if c.user_id == user_id]
        return _sorted([c for c in mine if _matches(c, query)], query)

    def page(self, user_id: int, query: ContactQuery) -> tuple[list[Contact], int]:
        matching = self._matching(user_id, query)
        return matching[query.offset : query.offset + query.per_page], len(matching)

    def stream(self, user_id: int, query: ContactQuery) -> Iterator[Contact]:
        return iter(self._matching(user_id, query))

    def stats(self, user_id: int, now: datetime) -> ContactStats:
        mine = [c for c in self._s.contacts.values() if c.user_id == user_id]
        since = recent_since(now)
        return ContactStats(
            total=len(mine),
            active=sum(c.status == "activo" for c in mine),
            inactive=sum(c.status == "inactivo" for c in mine),
            recent=sum(c.created_at >= since for c in mine),
        )

    def count_opted_out(self, user_id: int) -> int:
        return sum(c.opted_out for c in self._s.contacts.values() if c.user_id == user_id)

    def import_batch(
        self,
        user_id: int,
        rows: Sequence[ImportedRow],
        on_duplicate: OnDuplicate,
        now: datetime,
    ) -> list[Settlement]:
        phones, emails = batch_keys(rows)
        existing = [
            c
            for c in self._s.contacts.values()
            if c.user_id == user_id and (c.phone in phones or c.email in emails)
        ]
        plan = plan_import(rows, existing, on_duplicate)
        for stored, fields in plan.changed:
            self._s.contacts[stored.id] = revised(stored, fields, now)
        for draft in plan.created:
            self._create(user_id, draft, "import", now)
        return list(plan.settlements)


class FakeImports:
    def __init__(self, state: _State) -> None:
        self._s = state

    def start(self, user_id: int, filename: str, file_type: FileType | None, now: datetime) -> int:
        record = ImportedFile(
            id=self._s.next_id(),
            user_id=user_id,
            filename=filename,
            file_type=file_type,
            status="processing",
            counts=ImportCounts(),
            error_message=None,
            created_at=now,
            completed_at=None,
        )
        self._s.imports[record.id] = record
        return record.id

    def finish(
        self,
        import_id: int,
        counts: ImportCounts,
        status: ImportStatus,
        error_message: str | None,
        now: datetime,
    ) -> None:
        record = self._s.imports.get(import_id)
        if record is not None:
            self._s.imports[import_id] = dataclasses.replace(
                record, counts=counts, status=status, error_message=error_message, completed_at=now
            )

    def get(self, user_id: int, import_id: int) -> ImportedFile | None:
        record = self._s.imports.get(import_id)
        return record if record is not None and record.user_id == user_id else None

    def page(self, user_id: int, page: int, per_page: int) -> tuple[list[ImportedFile], int]:
        mine = sorted(
            (r for r in self._s.imports.values() if r.user_id == user_id),
            key=lambda record: (record.created_at, record.id),
            reverse=True,
        )
        offset = (page - 1) * per_page
        return mine[offset : offset + per_page], len(mine)

    def totals(self, user_id: int) -> ImportTotals:
        done = [
            r for r in self._s.imports.values() if r.user_id == user_id and r.status == "completed"
        ]
        return ImportTotals(len(done), sum(r.counts.imported for r in done))


class FakeCampaigns:
    def __init__(self, state: _State) -> None:
        self._s = state

    def add(self, user_id: int, draft: CampaignDraft, now: datetime) -> Campaign:
        campaign = Campaign(
            id=self._s.next_id(),
            user_id=user_id,
            status="draft",
            sent_at=None,
            completed_at=None,
            created_at=now,
            updated_at=now,
            # Field by field: ``asdict`` would turn the audience and template into dicts.
            **{field.name: getattr(draft, field.name) for field in dataclasses.fields(draft)},
        )
        self._s.campaigns[campaign.id] = campaign
        return campaign

    def get(self, user_id: int, campaign_id: int) -> Campaign | None:
        campaign = self._s.campaigns.get(campaign_id)
        return campaign if campaign is not None and campaign.user_id == user_id else None

    def get_for_update(self, user_id: int, campaign_id: int) -> Campaign | None:
        return self.get(user_id, campaign_id)

    def save(self, campaign: Campaign) -> None:
        stored = self.get(campaign.user_id, campaign.id)
        if stored is not None:
            self._s.campaigns[campaign.id] = dataclasses.replace(
                campaign, created_at=stored.created_at
            )

    def delete(self, user_id: int, campaign_id: int) -> bool:
        if self.get(user_id, campaign_id) is None:
            return False
        del self._s.campaigns[campaign_id]
        for delivery in list(self._s.deliveries.values()):  # ON DELETE CASCADE
            if delivery.campaign_id == campaign_id:
                del self._s.deliveries[delivery.id]
                self._s.leases.pop(delivery.id, None)
                self._s.reached_at.pop(delivery.id, None)
        return True

    def _mine(self, user_id: int) -> list[Campaign]:
        return [c for c in self._s.campaigns.values() if c.user_id == user_id]

    def page(
        self, user_id: int, status: CampaignStatus | None, page: int, per_page: int
    ) -> tuple[list[Campaign], int]:
        matching = sorted(
            (c for c in self._mine(user_id) if status is None or c.status == status),
            key=lambda campaign: (campaign.created_at, campaign.id),
            reverse=True,
        )
        offset = (page - 1) * per_page
        return matching[offset : offset + per_page], len(matching)

    def count_by_status(self, user_id: int) -> dict[CampaignStatus, int]:
        statuses = [c.status for c in self._mine(user_id)]
        return {status: statuses.count(status) for status in CAMPAIGN_STATUSES}

    def due_scheduled(self, now: datetime, limit: int) -> list[Campaign]:
        due = [
            c
            for c in self._s.campaigns.values()
            if c.status == "scheduled" and c.scheduled_at is not None and c.scheduled_at <= now
        ]
        due.sort(key=lambda c: (c.scheduled_at or now, c.id))
        return due[: max(limit, 0)]

    def counter_totals(self, user_id: int) -> dict[str, int]:
        mine = self._mine(user_id)
        return {name: sum(getattr(c, name) for c in mine) for name in CAMPAIGN_COUNTER_FIELDS}


class FakeDeliveries:
    """Recipients by ``audience.recipients`` itself: the reference the SQL is tested against."""

    def __init__(self, state: _State) -> None:
        self._s = state

    def _recipients(self, campaign: Campaign) -> list[Contact]:
        mine = sorted(
            (c for c in self._s.contacts.values() if c.user_id == campaign.user_id),
            key=lambda contact: contact.id,
        )
        return list(recipients(campaign.audience, campaign.channel, mine))

    def _of(self, campaign_id: int) -> list[Delivery]:
        return sorted(
            (d for d in self._s.deliveries.values() if d.campaign_id == campaign_id),
            key=lambda delivery: delivery.id,
        )

    def snapshot(self, campaign: Campaign, now: datetime) -> int:
        reached = {d.contact_id for d in self._of(campaign.id)}
        added = 0
        for contact in self._recipients(campaign):
            if contact.id in reached:
                continue
            address = address_for(contact, campaign.channel)
            assert address is not None  # a recipient has one
            delivery = Delivery(
                id=self._s.next_id(),
                campaign_id=campaign.id,
                user_id=campaign.user_id,
                contact_id=contact.id,
                to=address,
                name=contact.name,
                status="pending",
                error=None,
                attempts=0,
                provider_message_id=None,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
            self._s.deliveries[delivery.id] = delivery
            added += 1
        return added

    def page(
        self,
        user_id: int,
        campaign_id: int,
        status: DeliveryStatus | None,
        page: int,
        per_page: int,
    ) -> tuple[list[Delivery], int]:
        matching = [
            d
            for d in self._of(campaign_id)
            if d.user_id == user_id and (status is None or d.status == status)
        ]
        offset = (page - 1) * per_page
        return matching[offset : offset + per_page], len(matching)

    def counts(self, campaign_id: int) -> DeliveryCounts:
        return count_deliveries(d.status for d in self._of(campaign_id))

    def activity_by_day(self, user_id: int, starts: Sequence[int]) -> list[Activity]:
        found = [dict.fromkeys(MILESTONES, 0) for _ in starts[1:]]
        for delivery in self._s.deliveries.values():
            if delivery.user_id != user_id:
                continue
            for milestone, moment in self._s.reached_at.get(delivery.id, {}).items():
                span = bisect.bisect_right(starts, bucket_of(moment)) - 1
                if 0 <= span < len(found):
                    found[span][milestone] += 1
        return [Activity.of(counts) for counts in found]

    def _restamp(
        self, delivery_id: int, old: DeliveryStatus, new: DeliveryStatus, now: datetime
    ) -> None:
        """Forget the milestones the move loses; those it gains are reached ``now``."""
        move = milestone_move(old, new)
        moments = self._s.reached_at.setdefault(delivery_id, {})
        for milestone in move.lost:
            moments.pop(milestone, None)
        for milestone in move.gained:
            moments[milestone] = now

    def _move(self, campaign_id: int, current: DeliveryStatus, **changes: Any) -> int:
        moving = [d for d in self._of(campaign_id) if d.status == current]
        for delivery in moving:
            self._s.deliveries[delivery.id] = dataclasses.replace(delivery, **changes)
            self._restamp(delivery.id, current, changes["status"], changes["updated_at"])
        return len(moving)

    def skip_pending(self, campaign_id: int, error: str, now: datetime) -> int:
        moving = [
            d for d in self._of(campaign_id) if d.status == "pending" and d.id not in self._s.leases
        ]
        for delivery in moving:
            self._s.deliveries[delivery.id] = dataclasses.replace(
                delivery, status="skipped", error=error, next_attempt_at=None, updated_at=now
            )
        return len(moving)

    def reset_failed(self, campaign_id: int, now: datetime) -> int:
        return self._move(
            campaign_id,
            "failed",
            status="pending",
            error=None,
            provider_message_id=None,
            next_attempt_at=now,
            updated_at=now,
        )

    def preview_recipient(self, campaign: Campaign) -> Contact | None:
        return next(iter(self._recipients(campaign)), None)

    def count_recipients(self, campaign: Campaign) -> int:
        return len(self._recipients(campaign))

    # -- the sending queue: ``SqlDeliveryQueue``'s semantics, without its locks --------------

    def _shift(self, campaign_id: int, changes: dict[str, int], times: int = 1) -> None:
        campaign = self._s.campaigns.get(campaign_id)
        if campaign is None or not changes or times == 0:
            return
        self._s.campaigns[campaign_id] = dataclasses.replace(
            campaign,
            **{name: getattr(campaign, name) + delta * times for name, delta in changes.items()},
        )

    def _move_one(
        self, delivery: Delivery, status: DeliveryStatus, now: datetime, **changes: Any
    ) -> None:
        self._s.deliveries[delivery.id] = dataclasses.replace(
            delivery, status=status, updated_at=now, **changes
        )
        self._s.leases.pop(delivery.id, None)
        self._shift(delivery.campaign_id, counter_changes(delivery.status, status))
        self._restamp(delivery.id, delivery.status, status, now)

    def _waiting(self, user_id: int, now: datetime) -> list[Delivery]:
        """The user's pending, due, unleased deliveries of active campaigns, oldest first."""
        found = []
        for d in self._s.deliveries.values():
            campaign = self._s.campaigns.get(d.campaign_id)
            if (
                d.user_id == user_id
                and d.status == "pending"
                and d.next_attempt_at is not None
                and d.next_attempt_at <= now
                and d.id not in self._s.leases
                and campaign is not None
                and campaign.status == "active"
            ):
                found.append(d)
        return sorted(found, key=lambda d: (d.next_attempt_at or now, d.id))

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
        ready = []
        for user_id in self._s.users:
            next_at = self._s.dispatch_next_at.get(user_id)
            waiting = self._waiting(user_id, now)
            if waiting and (next_at is None or next_at <= now):
                ready.append((waiting[0].next_attempt_at or now, user_id))
        claimed: list[ClaimedDelivery] = []
        skipped = 0
        for _, user_id in sorted(ready)[:limit]:
            rate = self._s.users[user_id].preferences.send_rate_per_minute
            wanted = min(
                slots_within(rate, timedelta(seconds=horizon_seconds)), limit - len(claimed)
            )
            if wanted <= 0:
                break
            taken: list[tuple[Delivery, Contact]] = []
            for delivery in self._waiting(user_id, now):
                if len(taken) == wanted:
                    break
                contact = (
                    None
                    if delivery.contact_id is None
                    else self._s.contacts.get(delivery.contact_id)
                )
                if contact is None or contact.opted_out:
                    if skipped >= limit:
                        break
                    skipped += 1
                    self._move_one(
                        delivery, "skipped", now, error="opted_out", next_attempt_at=None
                    )
                    continue
                taken.append((delivery, contact))
            if not taken:
                continue
            slots = send_slots(rate, len(taken), now)
            lease_until = slots[-1] + timedelta(seconds=lease_seconds)
            self._s.dispatch_next_at[user_id] = slots[-1] + spacing(rate)
            for (delivery, contact), send_at in zip(taken, slots, strict=True):
                campaign = self._s.campaigns[delivery.campaign_id]
                leased = dataclasses.replace(
                    delivery, attempts=delivery.attempts + 1, updated_at=now
                )
                self._s.deliveries[delivery.id] = leased
                self._s.leases[delivery.id] = (worker_id, lease_until)
                claimed.append(
                    ClaimedDelivery(
                        delivery=leased,
                        worker_id=worker_id,
                        lease_expires_at=lease_until,
                        send_at=send_at,
                        channel=campaign.channel,
                        subject=campaign.subject,
                        message=campaign.message,
                        media_url=campaign.media_url,
                        media_type=campaign.media_type,
                        whatsapp_template=campaign.whatsapp_template,
                        phone=contact.phone,
                        email=contact.email,
                    )
                )
        claimed.sort(key=lambda c: (c.send_at, c.delivery.id))
        return claimed

    def record_outcomes(
        self, worker_id: str, outcomes: Sequence[Outcome], now: datetime
    ) -> set[int]:
        recorded: set[int] = set()
        for outcome in outcomes:
            lease = self._s.leases.get(outcome.delivery_id)
            delivery = self._s.deliveries.get(outcome.delivery_id)
            if lease is None or lease[0] != worker_id or delivery is None:
                continue
            self._move_one(
                delivery,
                outcome.status,
                now,
                error=outcome.error,
                provider_message_id=outcome.provider_message_id,
                next_attempt_at=outcome.next_attempt_at if outcome.status == "pending" else None,
            )
            contact = self._s.contacts.get(delivery.contact_id or 0)
            if outcome.status == "sent" and contact is not None:
                self._s.contacts[contact.id] = dataclasses.replace(contact, last_message=now)
            recorded.add(outcome.delivery_id)
        return recorded

    def reap_expired(self, now: datetime) -> int:
        expired = [i for i, (_, until) in self._s.leases.items() if until <= now]
        for delivery_id in expired:
            self._move_one(
                self._s.deliveries[delivery_id],
                "failed",
                now,
                error="unknown_outcome",
                next_attempt_at=None,
            )
        return len(expired)

    def complete_finished(self, now: datetime) -> list[int]:
        done = []
        for campaign in list(self._s.campaigns.values()):
            if campaign.status != "active":
                continue
            if any(d.status == "pending" for d in self._of(campaign.id)):
                continue
            self._s.campaigns[campaign.id] = dataclasses.replace(
                campaign,
                status=next_status("active", "complete"),
                completed_at=now,
                updated_at=now,
            )
            done.append(campaign.id)
        return sorted(done)

    def fail_campaign(self, campaign_id: int, error: str, now: datetime) -> bool:
        campaign = self._s.campaigns.get(campaign_id)
        if campaign is None or campaign.status != "active":
            return False
        self._s.campaigns[campaign_id] = dataclasses.replace(
            campaign, status=next_status("active", "fail"), updated_at=now
        )
        for delivery in self._of(campaign_id):
            if delivery.status == "pending" and delivery.id not in self._s.leases:
                self._move_one(delivery, "failed", now, error=error, next_attempt_at=None)
        return True

    def apply_receipt(
        self, provider_message_id: str, receipt: ReceiptStatus, now: datetime
    ) -> bool:
        delivery = next(
            (
                d
                for d in self._s.deliveries.values()
                if d.provider_message_id == provider_message_id
            ),
            None,
        )
        if delivery is None:
            return False
        new = after_receipt(delivery.status, receipt)
        if new is None:
            return False
        changes: dict[str, Any] = {"next_attempt_at": None}
        if new == "failed":
            changes["error"] = "receipt_failed"
        self._move_one(delivery, new, now, **changes)
        return True


class _CountingRepositories(Protocol):
    """The repositories whose answers make a dashboard (a unit of work has them)."""

    @property
    def contacts(self) -> ContactRepository: ...
    @property
    def campaigns(self) -> CampaignRepository: ...
    @property
    def imports(self) -> ImportRepository: ...
    @property
    def deliveries(self) -> DeliveryRepository: ...


def counts_of_repositories(
    uow: _CountingRepositories, user_id: int, now: datetime, starts: Sequence[int]
) -> DashboardCounts:
    """The dashboard's counts as the repositories answer them one by one: what
    ``DashboardRepository.counts`` answers at once."""
    return DashboardCounts(
        contacts=uow.contacts.stats(user_id, now),
        opted_out=uow.contacts.count_opted_out(user_id),
        campaigns_by_status=uow.campaigns.count_by_status(user_id),
        messages=Activity.of_counters(uow.campaigns.counter_totals(user_id)),
        imports=uow.imports.totals(user_id),
        activity=uow.deliveries.activity_by_day(user_id, starts),
    )


class FakeDashboard:
    """The other fakes' answers, one by one (``counts_of_repositories``)."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    def counts(self, user_id: int, now: datetime, starts: Sequence[int]) -> DashboardCounts:
        return counts_of_repositories(self._uow, user_id, now, starts)


class FakeUnitOfWork:
    """Works on a copy of the state and publishes it only on ``commit()``."""

    def __init__(self, store: FakeStore) -> None:
        self._store = store

    def __enter__(self) -> Self:
        self._state = copy.deepcopy(self._store.state)
        self.users = FakeUsers(self._state)
        self.sessions = FakeSessions(self._state)
        self.rate_counters = FakeRateCounters(self._state)
        self.contacts = FakeContacts(self._state)
        self.imports = FakeImports(self._state)
        self.campaigns = FakeCampaigns(self._state)
        self.deliveries = FakeDeliveries(self._state)
        self.conversations = FakeConversations(self._state)
        self.automation = FakeAutomation(self._state)
        self.dashboard = FakeDashboard(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        del self._state

    def commit(self) -> None:
        # Publish a snapshot: work done after the commit stays private to this unit of work
        # and is dropped when it ends, as a database drops what follows its COMMIT.
        self._store.state = copy.deepcopy(self._state)


class FakeStore:
    """The fake database: call it to get a unit of work."""

    def __init__(self) -> None:
        self.state = _State()

    def __call__(self, *, write: bool = False) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)


class FakeHasher:
    """A fast, salted stand-in for bcrypt with the same interface."""

    def hash(self, password: str) -> str:
        salt = secrets.token_hex(4)
        return f"fake${salt}${hashlib.sha256((salt + password).encode()).hexdigest()}"

    def verify(self, password: str, password_hash: str) -> bool:
        try:
            _, salt, digest = password_hash.split("$")
        except ValueError:
            return False
        expected = hashlib.sha256((salt + password).encode()).hexdigest()
        return hmac.compare_digest(expected, digest)

    @property
    def decoy_hash(self) -> str:
        return "fake$00000000$" + "0" * 64


class FakeTokens:
    def new_token(self) -> str:
        return secrets.token_urlsafe(32)

    def hash_token(self, token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class FakeSecretBox:
    """Reversible and visibly not plaintext; no real secrecy."""

    def encrypt(self, plaintext: str) -> str:
        return "enc:" + plaintext[::-1]

    def decrypt(self, ciphertext: str) -> str:
        return ciphertext.removeprefix("enc:")[::-1]


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class FakeContactFileReader:
    """Reads comma-separated UTF-8 files named ``*.csv``, lazily, as the real reader does:
    an empty file is ``import.empty``, another name ``import.unsupported_type``, and a line
    that is not UTF-8 raises ``import.undecodable`` when the rows reach it."""

    def open(self, filename: str, content: BinaryIO) -> ContactTable:
        if not filename.lower().endswith(".csv"):
            raise UnreadableFile("import.unsupported_type", None)
        records = csv.reader(_text_lines(content))
        header = next(records, None)
        if header is None:
            raise UnreadableFile("import.empty", "csv")
        return ContactTable("csv", tuple(header), _source_rows(records))


def _text_lines(content: BinaryIO) -> Iterator[str]:
    for line in content:
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError:
            raise UnreadableFile("import.undecodable", "csv") from None


def _source_rows(records: Iterator[list[str]]) -> Iterator[SourceRow]:
    """Data rows numbered as a spreadsheet shows them (header = 1); empty records skipped."""
    for number, record in enumerate(records, start=2):
        if record:
            yield SourceRow(number, tuple(record))
