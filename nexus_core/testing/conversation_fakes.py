"""In-memory conversations and bot activities (``FakeConversations``, ``FakeAutomation``),
kept in the fake database's ``inbox``: the same rules as the SQL repositories."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import datetime, timedelta
from typing import Protocol

from nexus_core.domain.automation import (
    AUTOMATION_OFF,
    CONTACT_DELETED,
    OPTED_OUT,
    UNKNOWN_OUTCOME,
    WINDOW_CLOSED,
    ActivityStatus,
    BotActivity,
    ClaimedReply,
    replies_automatically,
)
from nexus_core.domain.contact_records import Contact
from nexus_core.domain.conversations import (
    ConversationMessage,
    ConversationSummary,
    MessageStatus,
    moved_by_receipt,
    window_is_open,
)
from nexus_core.domain.deliveries import ReceiptStatus
from nexus_core.domain.inbound_messages import (
    InboundContact,
    InboundMessage,
    InboundOwner,
    StoredInbound,
)
from nexus_core.domain.users import User

PACE_WINDOW = timedelta(minutes=1)


@dataclasses.dataclass
class _Conversation:
    id: int
    user_id: int
    contact_id: int
    last_activity_at: datetime
    last_message_id: int | None = None
    last_inbound_at: datetime | None = None
    unread_count: int = 0


@dataclasses.dataclass
class _Lease:
    worker_id: str
    expires_at: datetime


@dataclasses.dataclass
class Inbox:
    """The fake database's conversations, messages and activities."""

    conversations: dict[tuple[int, int], _Conversation] = dataclasses.field(default_factory=dict)
    messages: dict[int, ConversationMessage] = dataclasses.field(default_factory=dict)
    activities: dict[int, BotActivity] = dataclasses.field(default_factory=dict)
    # activity id → the inbound message it answers; → its lease; → when it was claimed.
    answers: dict[int, int] = dataclasses.field(default_factory=dict)
    leases: dict[int, _Lease] = dataclasses.field(default_factory=dict)
    claimed_at: dict[int, datetime] = dataclasses.field(default_factory=dict)


class _Store(Protocol):
    users: dict[int, User]
    contacts: dict[int, Contact]
    inbox: Inbox

    def next_id(self) -> int: ...


class FakeConversations:
    def __init__(self, state: _Store) -> None:
        self._s = state
        self._in = state.inbox

    def owner_of(self, phone_number_id: str) -> InboundOwner | None:
        owners = sorted(
            (u for u in self._s.users.values()
             if u.credentials.whatsapp_phone_number_id == phone_number_id),
            key=lambda u: u.id,
        )  # fmt: skip
        if not owners:
            return None
        return InboundOwner(owners[0].id, replies_automatically(owners[0].credentials))

    def _contact(self, user_id: int, phone: str) -> InboundContact | None:
        for contact in self._s.contacts.values():
            if contact.user_id == user_id and contact.phone == phone:
                return InboundContact(contact.id, contact.opted_out)
        return None

    def store_inbound(
        self, user_id: int, phone: str, message: InboundMessage, now: datetime
    ) -> StoredInbound | None:
        contact = self._contact(user_id, phone)
        if contact is None or (user_id, contact.id) not in self._in.conversations:
            return None
        return StoredInbound(contact, self._record(user_id, contact.id, message, now))

    def store_inbound_creating(
        self, user_id: int, phone: str, name: str, message: InboundMessage, now: datetime
    ) -> StoredInbound:
        contact = self._contact(user_id, phone)
        if contact is None:
            created = Contact(
                id=self._s.next_id(),
                user_id=user_id,
                name=name,
                phone=phone,
                email=None,
                status="activo",
                tags=(),
                notes=None,
                opted_out=False,
                source="whatsapp",
                created_at=now,
                updated_at=now,
                last_message=None,
            )
            self._s.contacts[created.id] = created
            contact = InboundContact(created.id, False)
        self._conversation(user_id, contact.id, now)
        return StoredInbound(contact, self._record(user_id, contact.id, message, now))

    def _conversation(self, user_id: int, contact_id: int, now: datetime) -> _Conversation:
        key = (user_id, contact_id)
        if key not in self._in.conversations:
            self._in.conversations[key] = _Conversation(self._s.next_id(), user_id, contact_id, now)
        return self._in.conversations[key]

    def _record(
        self, user_id: int, contact_id: int, message: InboundMessage, now: datetime
    ) -> int | None:
        if any(
            m.user_id == user_id and m.provider_message_id == message.provider_message_id
            for m in self._in.messages.values()
        ):
            return None
        conversation = self._conversation(user_id, contact_id, now)
        stored = ConversationMessage(
            id=self._s.next_id(),
            user_id=user_id,
            contact_id=contact_id,
            direction="in",
            text=message.text,
            status="received",
            provider_message_id=message.provider_message_id,
            generated_by_ai=False,
            created_at=now,
        )
        self._in.messages[stored.id] = stored
        sent_at = message.sent_at(now)
        conversation.last_activity_at = now
        conversation.last_message_id = stored.id
        conversation.unread_count += 1
        if conversation.last_inbound_at is None or conversation.last_inbound_at < sent_at:
            conversation.last_inbound_at = sent_at
        return stored.id

    def opt_out(self, user_id: int, contact_id: int, now: datetime) -> None:
        contact = self._s.contacts.get(contact_id)
        if contact is not None and contact.user_id == user_id:
            self._s.contacts[contact_id] = dataclasses.replace(
                contact, opted_out=True, updated_at=now
            )

    def add_outbound(
        self,
        user_id: int,
        contact_id: int,
        text: str,
        status: MessageStatus,
        provider_message_id: str | None,
        generated_by_ai: bool,
        now: datetime,
    ) -> ConversationMessage:
        conversation = self._conversation(user_id, contact_id, now)
        stored = ConversationMessage(
            id=self._s.next_id(),
            user_id=user_id,
            contact_id=contact_id,
            direction="out",
            text=text,
            status=status,
            provider_message_id=provider_message_id,
            generated_by_ai=generated_by_ai,
            created_at=now,
        )
        self._in.messages[stored.id] = stored
        conversation.last_activity_at = now
        conversation.last_message_id = stored.id
        return stored

    def apply_receipt(self, provider_message_id: str, receipt: ReceiptStatus) -> bool:
        moved = moved_by_receipt(receipt)
        named = [
            m
            for m in self._in.messages.values()
            if m.direction == "out"
            and m.provider_message_id == provider_message_id
            and m.status in moved
        ]
        for message in named:
            self._in.messages[message.id] = dataclasses.replace(message, status=receipt)
        return bool(named)

    def _live(self, user_id: int, contact_id: int) -> _Conversation | None:
        """The conversation, unless its contact is gone (the database cascades)."""
        contact = self._s.contacts.get(contact_id)
        if contact is None or contact.user_id != user_id:
            return None
        return self._in.conversations.get((user_id, contact_id))

    def last_inbound_at(self, user_id: int, contact_id: int) -> datetime | None:
        conversation = self._live(user_id, contact_id)
        return None if conversation is None else conversation.last_inbound_at

    def page(self, user_id: int, page: int, per_page: int) -> tuple[list[ConversationSummary], int]:
        mine = sorted(
            (
                conversation
                for (owner, contact_id), conversation in self._in.conversations.items()
                if owner == user_id and self._live(user_id, contact_id) is not None
            ),
            key=lambda conversation: (conversation.last_activity_at, conversation.id),
            reverse=True,
        )
        shown = mine[(page - 1) * per_page : page * per_page]
        return [
            ConversationSummary(
                contact=self._s.contacts[conversation.contact_id],
                last_message=(
                    None
                    if conversation.last_message_id is None
                    else self._in.messages[conversation.last_message_id]
                ),
                unread_count=conversation.unread_count,
                last_inbound_at=conversation.last_inbound_at,
            )
            for conversation in shown
        ], len(mine)

    def _messages(self, user_id: int, contact_id: int) -> list[ConversationMessage]:
        """Newest first."""
        if self._live(user_id, contact_id) is None:
            return []
        return sorted(
            (
                m
                for m in self._in.messages.values()
                if m.user_id == user_id and m.contact_id == contact_id
            ),
            key=lambda m: m.id,
            reverse=True,
        )

    def read_messages(
        self, user_id: int, contact_id: int, page: int, per_page: int
    ) -> tuple[list[ConversationMessage], int]:
        every = self._messages(user_id, contact_id)
        shown = every[(page - 1) * per_page : page * per_page]
        read = []
        for message in shown:
            if message.status == "received":
                message = dataclasses.replace(message, status="read")
                self._in.messages[message.id] = message
            read.append(message)
        if every:
            self._in.conversations[(user_id, contact_id)].unread_count = sum(
                1 for m in self._messages(user_id, contact_id) if m.status == "received"
            )
        return read, len(every)

    def recent(self, user_id: int, contact_id: int, limit: int) -> list[ConversationMessage]:
        return list(reversed(self._messages(user_id, contact_id)[:limit]))


class FakeAutomation:
    def __init__(self, state: _Store) -> None:
        self._s = state
        self._in = state.inbox

    def enqueue(
        self, user_id: int, contact_id: int, inbound_message_id: int, now: datetime
    ) -> None:
        contact = self._s.contacts[contact_id]
        activity = BotActivity(
            id=self._s.next_id(),
            user_id=user_id,
            contact_id=contact_id,
            contact_phone=contact.phone or "",
            contact_name=contact.name,
            message_content=self._in.messages[inbound_message_id].text,
            response_content=None,
            status="pending",
            error=None,
            created_at=now,
        )
        self._in.activities[activity.id] = activity
        self._in.answers[activity.id] = inbound_message_id

    def _unanswerable(self, activity: BotActivity, now: datetime) -> str | None:
        user = self._s.users.get(activity.user_id)
        if user is None or not replies_automatically(user.credentials):
            return AUTOMATION_OFF
        contact = self._s.contacts.get(activity.contact_id or 0)
        if contact is None or contact.phone is None:
            return CONTACT_DELETED
        if contact.opted_out:
            return OPTED_OUT
        conversation = self._in.conversations.get((activity.user_id, contact.id))
        last_inbound = None if conversation is None else conversation.last_inbound_at
        if not window_is_open(last_inbound, now):
            return WINDOW_CLOSED
        return None

    def claim_due(
        self, now: datetime, lease_seconds: float, limit: int, worker_id: str, per_minute: int
    ) -> list[ClaimedReply]:
        recent = Counter(
            self._in.activities[activity_id].user_id
            for activity_id, at in self._in.claimed_at.items()
            if at > now - PACE_WINDOW and activity_id in self._in.activities
        )
        leased: list[ClaimedReply] = []
        for activity in sorted(self._in.activities.values(), key=lambda a: a.id):
            if activity.status != "pending" or activity.id in self._in.leases:
                continue
            reason = self._unanswerable(activity, now)
            if reason is not None:
                self._in.activities[activity.id] = dataclasses.replace(
                    activity, status="skipped", error=reason
                )
                continue
            if len(leased) >= limit or recent[activity.user_id] >= per_minute:
                continue
            recent[activity.user_id] += 1
            self._in.leases[activity.id] = _Lease(worker_id, now + timedelta(seconds=lease_seconds))
            self._in.claimed_at[activity.id] = now
            contact = self._s.contacts[activity.contact_id or 0]
            leased.append(
                ClaimedReply(
                    activity_id=activity.id,
                    user_id=activity.user_id,
                    contact_id=contact.id,
                    phone=contact.phone or "",
                    message_content=activity.message_content,
                    inbound_message_id=self._in.answers[activity.id],
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
        lease = self._in.leases.get(activity_id)
        if lease is None or lease.worker_id != worker_id:
            return False
        del self._in.leases[activity_id]
        activity = self._in.activities[activity_id]
        self._in.activities[activity_id] = dataclasses.replace(
            activity, status=status, response_content=response, error=error
        )
        return True

    def reap_expired(self, now: datetime) -> int:
        expired = [i for i, lease in self._in.leases.items() if lease.expires_at <= now]
        for activity_id in expired:
            del self._in.leases[activity_id]
            activity = self._in.activities[activity_id]
            self._in.activities[activity_id] = dataclasses.replace(
                activity, status="failed", error=UNKNOWN_OUTCOME
            )
        return len(expired)

    def page(self, user_id: int, page: int, per_page: int) -> tuple[list[BotActivity], int]:
        mine = sorted(
            (a for a in self._in.activities.values() if a.user_id == user_id),
            key=lambda a: (a.created_at, a.id),
            reverse=True,
        )
        return mine[(page - 1) * per_page : page * per_page], len(mine)

    def outcomes_since(self, user_id: int, since: datetime) -> tuple[int, int]:
        counts = Counter(
            a.status
            for a in self._in.activities.values()
            if a.user_id == user_id and a.created_at >= since
        )
        return counts["sent"], counts["failed"]
