"""Users' WhatsApp conversations on ``conversations`` and ``conversation_messages``, and the
inbound pipeline's writes (the user of a business number, the contact of a sender).

Each write of a message moves its conversation row in the same transaction (newest message,
activity time, unread count, last inbound time), so the inbox reads one row per contact. A
repeated provider message id inserts nothing (``ON CONFLICT DO NOTHING``): two webhook calls
carrying the same message store it once even when they run at the same time (PostgreSQL makes
the second wait for the first and then do nothing). A contact created here moves the owner's
contacts version (``touch_contacts``), as every write of contacts must.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, String, bindparam, case, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from nexus_adapters.sql.repositories.contact_rows import contact_from_row, draft_values
from nexus_adapters.sql.repositories.contacts import touch_contacts
from nexus_adapters.sql.repositories.upsert import insert_for
from nexus_adapters.sql.tables import contacts, users
from nexus_adapters.sql.tables import conversation_messages as m
from nexus_adapters.sql.tables import conversations as c
from nexus_core.domain.contacts import ContactDraft
from nexus_core.domain.conversations import (
    ConversationMessage,
    ConversationSummary,
    MessageStatus,
)
from nexus_core.domain.inbound_messages import InboundContact, InboundMessage, InboundOwner

_LAST = m.alias("last_message")
_LAST_COLUMNS = [column.label(f"last_{column.name}") for column in _LAST.c]


def message_from_row(
    row: Mapping[Any, Any], contact_id: int, prefix: str = ""
) -> ConversationMessage:
    """A message of a ``conversation_messages`` row (its columns named ``prefix`` + name)."""
    return ConversationMessage(
        id=row[f"{prefix}id"],
        user_id=row[f"{prefix}user_id"],
        contact_id=contact_id,
        direction=row[f"{prefix}direction"],
        text=row[f"{prefix}text"],
        status=row[f"{prefix}status"],
        provider_message_id=row[f"{prefix}provider_message_id"],
        generated_by_ai=row[f"{prefix}generated_by_ai"],
        created_at=row[f"{prefix}created_at"],
    )


# The inbound pipeline's statements, built once: one webhook call runs a handful of them, and
# a statement made anew per call costs more to build than to run.
_OWNER = (
    select(
        users.c.id,
        users.c.gemini_auto_reply_enabled,
        users.c.gemini_api_key_encrypted.is_not(None).label("has_key"),
    )
    .where(users.c.whatsapp_phone_number_id == bindparam("phone_number_id", type_=String))
    .order_by(users.c.id)
    .limit(1)
)
# The contact of a phone, with its conversation (if any) in the same lookup.
_CONTACT = (
    select(contacts.c.id, contacts.c.opted_out, c.c.id.label("conversation_id"))
    .select_from(
        contacts.outerjoin(
            c, (c.c.user_id == contacts.c.user_id) & (c.c.contact_id == contacts.c.id)
        )
    )
    .where(
        contacts.c.user_id == bindparam("owner_id", type_=Integer),
        contacts.c.phone == bindparam("phone", type_=String),
    )
)
_CONVERSATION = select(c.c.id).where(
    c.c.user_id == bindparam("owner_id", type_=Integer),
    c.c.contact_id == bindparam("contact_id", type_=Integer),
)
_SENT_AT = bindparam("sent_at", type_=c.c.last_inbound_at.type)
_MOVE_INBOUND = (
    update(c)
    .where(c.c.id == bindparam("conversation_id", type_=Integer))
    .values(
        last_activity_at=bindparam("at", type_=c.c.last_activity_at.type),
        last_message_id=bindparam("message_id", type_=Integer),
        unread_count=c.c.unread_count + 1,
        last_inbound_at=case(
            (or_(c.c.last_inbound_at.is_(None), c.c.last_inbound_at < _SENT_AT), _SENT_AT),
            else_=c.c.last_inbound_at,
        ),
    )
)


@functools.cache
def _insert_message(dialect: str) -> Any:
    """An inbound message's insert, which inserts nothing when the user has its provider id."""
    table_insert = postgresql.insert(m) if dialect == "postgresql" else sqlite.insert(m)
    return (
        table_insert.values(
            {
                name: bindparam(name, type_=m.c[name].type)
                for name in (
                    "conversation_id", "user_id", "direction", "text", "status",
                    "provider_message_id", "generated_by_ai", "created_at",
                )
            }
        )
        .on_conflict_do_nothing(index_elements=["user_id", "provider_message_id"])
        .returning(m.c.id)
    )  # fmt: skip


class SqlConversations:
    def __init__(self, connection: Connection) -> None:
        self._c = connection
        # (user, contact) → conversation id, as met in this unit of work.
        self._conversations: dict[tuple[int, int], int] = {}

    # -- the inbound pipeline ------------------------------------------------------------------

    def owner_of(self, phone_number_id: str) -> InboundOwner | None:
        row = self._c.execute(_OWNER, {"phone_number_id": phone_number_id}).first()
        if row is None:
            return None
        return InboundOwner(row.id, bool(row.gemini_auto_reply_enabled and row.has_key))

    def _contact(self, user_id: int, phone: str) -> InboundContact | None:
        row = self._c.execute(_CONTACT, {"owner_id": user_id, "phone": phone}).first()
        if row is None:
            return None
        if row.conversation_id is not None:
            self._conversations[(user_id, row.id)] = row.conversation_id
        return InboundContact(row.id, bool(row.opted_out))

    def contact_for(self, user_id: int, phone: str, name: str, now: datetime) -> InboundContact:
        found = self._contact(user_id, phone)
        if found is not None:
            return found
        values = {
            "user_id": user_id,
            "source": "whatsapp",
            "created_at": now,
            "updated_at": now,
            **draft_values(ContactDraft(name=name, phone=phone, email=None)),
        }
        created = self._c.execute(
            insert_for(self._c, contacts)
            .values(values)
            .on_conflict_do_nothing(index_elements=["user_id", "phone"])
            .returning(contacts.c.id)
        ).scalar()
        if created is not None:
            touch_contacts(self._c, user_id)
            return InboundContact(created, False)
        found = self._contact(user_id, phone)  # created meanwhile by another transaction
        assert found is not None
        return found

    def _conversation_id(self, user_id: int, contact_id: int, now: datetime) -> int:
        """The conversation of the user with the contact, started ``now`` when new."""
        key = (user_id, contact_id)
        known = self._conversations.get(key)
        if known is not None:
            return known
        ids = {"owner_id": user_id, "contact_id": contact_id}
        found = self._c.execute(_CONVERSATION, ids).scalar()
        if found is None:
            found = self._c.execute(
                insert_for(self._c, c)
                .values(user_id=user_id, contact_id=contact_id, last_activity_at=now)
                .on_conflict_do_nothing(index_elements=["user_id", "contact_id"])
                .returning(c.c.id)
            ).scalar()
        if found is None:  # started meanwhile by another transaction
            found = self._c.execute(_CONVERSATION, ids).scalar_one()
        self._conversations[key] = int(found)
        return int(found)

    def record_inbound(
        self, user_id: int, contact_id: int, message: InboundMessage, now: datetime
    ) -> int | None:
        conversation_id = self._conversation_id(user_id, contact_id, now)
        message_id = self._c.execute(
            _insert_message(self._c.dialect.name),
            {
                "conversation_id": conversation_id,
                "user_id": user_id,
                "direction": "in",
                "text": message.text,
                "status": "received",
                "provider_message_id": message.provider_message_id,
                "generated_by_ai": False,
                "created_at": now,
            },
        ).scalar()
        if message_id is None:
            return None
        self._c.execute(
            _MOVE_INBOUND,
            {
                "conversation_id": conversation_id,
                "at": now,
                "message_id": message_id,
                "sent_at": message.sent_at(now),
            },
        )
        return int(message_id)

    def opt_out(self, user_id: int, contact_id: int, now: datetime) -> None:
        self._c.execute(
            update(contacts)
            .where(contacts.c.id == contact_id, contacts.c.user_id == user_id)
            .values(opted_out=True, updated_at=now)
        )
        touch_contacts(self._c, user_id)

    # -- replies -------------------------------------------------------------------------------

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
        conversation_id = self._conversation_id(user_id, contact_id, now)
        row = self._c.execute(
            m.insert()
            .values(
                conversation_id=conversation_id,
                user_id=user_id,
                direction="out",
                text=text,
                status=status,
                provider_message_id=provider_message_id,
                generated_by_ai=generated_by_ai,
                created_at=now,
            )
            .returning(*m.c)
        ).one()
        self._c.execute(
            update(c)
            .where(c.c.id == conversation_id)
            .values(last_activity_at=now, last_message_id=row.id)
        )
        return message_from_row(row._mapping, contact_id)

    def last_inbound_at(self, user_id: int, contact_id: int) -> datetime | None:
        found: datetime | None = self._c.execute(
            select(c.c.last_inbound_at).where(c.c.user_id == user_id, c.c.contact_id == contact_id)
        ).scalar()
        return found

    # -- reading -------------------------------------------------------------------------------

    def page(self, user_id: int, page: int, per_page: int) -> tuple[list[ConversationSummary], int]:
        total = self._c.execute(
            select(func.count()).select_from(c).where(c.c.user_id == user_id)
        ).scalar_one()
        rows = self._c.execute(
            select(
                contacts,
                c.c.unread_count.label("conversation_unread_count"),
                c.c.last_inbound_at.label("conversation_last_inbound_at"),
                *_LAST_COLUMNS,
            )
            .select_from(
                c.join(contacts, contacts.c.id == c.c.contact_id).outerjoin(
                    _LAST, _LAST.c.id == c.c.last_message_id
                )
            )
            .where(c.c.user_id == user_id)
            .order_by(c.c.last_activity_at.desc(), c.c.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
        found = []
        for row in rows:
            r = row._mapping
            contact = contact_from_row(r)
            last = None if r["last_id"] is None else message_from_row(r, contact.id, "last_")
            found.append(
                ConversationSummary(
                    contact=contact,
                    last_message=last,
                    unread_count=r["conversation_unread_count"],
                    last_inbound_at=r["conversation_last_inbound_at"],
                )
            )
        return found, int(total)

    def _conversation_of(self, user_id: int, contact_id: int) -> int | None:
        found = self._c.execute(
            select(c.c.id).where(c.c.user_id == user_id, c.c.contact_id == contact_id)
        ).scalar()
        return None if found is None else int(found)

    def read_messages(
        self, user_id: int, contact_id: int, page: int, per_page: int
    ) -> tuple[list[ConversationMessage], int]:
        conversation_id = self._conversation_of(user_id, contact_id)
        if conversation_id is None:
            return [], 0
        total = self._c.execute(
            select(func.count()).select_from(m).where(m.c.conversation_id == conversation_id)
        ).scalar_one()
        rows = self._c.execute(
            select(m)
            .where(m.c.conversation_id == conversation_id)
            .order_by(m.c.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
        found = [message_from_row(row._mapping, contact_id) for row in rows]
        unread = [message.id for message in found if message.status == "received"]
        if unread:
            self._c.execute(
                update(m).where(m.c.id.in_(unread), m.c.status == "received").values(status="read")
            )
            still_unread = (
                select(func.count())
                .select_from(m)
                .where(m.c.conversation_id == conversation_id, m.c.status == "received")
                .scalar_subquery()
            )
            self._c.execute(
                update(c).where(c.c.id == conversation_id).values(unread_count=still_unread)
            )
            found = [
                _read(message) if message.status == "received" else message for message in found
            ]
        return found, int(total)

    def recent(self, user_id: int, contact_id: int, limit: int) -> list[ConversationMessage]:
        conversation_id = self._conversation_of(user_id, contact_id)
        if conversation_id is None:
            return []
        rows = self._c.execute(
            select(m)
            .where(m.c.conversation_id == conversation_id)
            .order_by(m.c.id.desc())
            .limit(limit)
        ).all()
        return [message_from_row(row._mapping, contact_id) for row in reversed(rows)]


def _read(message: ConversationMessage) -> ConversationMessage:
    return dataclasses.replace(message, status="read")
