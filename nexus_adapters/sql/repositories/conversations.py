"""Users' WhatsApp conversations on ``conversations`` and ``conversation_messages``: the
replies we send and their receipts, and the inbox's reads; the inbound pipeline's writes come
from ``inbound_writes``.

Each write of a message moves its conversation row in the same transaction (newest message,
activity time), so the inbox reads one row per contact.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, literal_column, select, update

from nexus_adapters.sql.repositories.contact_rows import contact_from_row
from nexus_adapters.sql.repositories.inbound_writes import SqlInboundWrites
from nexus_adapters.sql.tables import contacts
from nexus_adapters.sql.tables import conversation_messages as m
from nexus_adapters.sql.tables import conversations as c
from nexus_core.domain.conversations import (
    ConversationMessage,
    ConversationSummary,
    MessageStatus,
    moved_by_receipt,
)
from nexus_core.domain.deliveries import ReceiptStatus

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


@functools.cache
def receipt_move(receipt: ReceiptStatus) -> Any:
    """The update a receipt makes to the outbound message it names (``None``: it moves none).
    ``direction = 'out'`` is written out, so that the partial index of outbound provider ids
    serves it on both databases (a bound value would not match the index's condition)."""
    moved = moved_by_receipt(receipt)
    if not moved:
        return None
    return (
        update(m)
        .where(
            m.c.direction == literal_column("'out'"),
            m.c.provider_message_id == bindparam("wamid", type_=m.c.provider_message_id.type),
            m.c.status.in_(moved),
        )
        .values(status=receipt)
    )


class SqlConversations(SqlInboundWrites):
    """The inbound pipeline's writes (``SqlInboundWrites``), replies, receipts and reads."""

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

    def apply_receipt(self, provider_message_id: str, receipt: ReceiptStatus) -> bool:
        statement = receipt_move(receipt)
        if statement is None:
            return False
        moved = self._c.execute(statement, {"wamid": provider_message_id})
        return bool(moved.rowcount)

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
