"""The inbound pipeline's writes on ``conversations``, ``conversation_messages`` and
``contacts``: the user of a business number, a message stored on its sender's conversation,
the contact and conversation of a new sender, an opt-out (``SqlConversations`` has them).

Each write of a message moves its conversation row in the same transaction (newest message,
activity time, unread count, last inbound time), so the inbox reads one row per contact. A
repeated provider message id inserts nothing (``ON CONFLICT DO NOTHING``): two webhook calls
carrying the same message store it once even when they run at the same time (PostgreSQL makes
the second wait for the first and then do nothing). A contact created here moves the owner's
contacts version, as every write of contacts must (``touch_contacts``).

On PostgreSQL each store is one statement (data-modifying CTEs), so a webhook call is a couple
of round trips and a new sender's transaction holds its owner's row for as short a time as it
can: the row's lock lasts until the commit. SQLite runs the same steps one statement at a time
(one writer at a time: nothing changes in between). Nothing is remembered from one call to the
next: the group writer may undo one caller's work alone (a savepoint).
"""

from __future__ import annotations

import functools
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    String,
    bindparam,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from nexus_adapters.sql.repositories.contact_rows import draft_values
from nexus_adapters.sql.repositories.contacts import touch_contacts
from nexus_adapters.sql.repositories.upsert import insert_for
from nexus_adapters.sql.tables import contacts, users
from nexus_adapters.sql.tables import conversation_messages as m
from nexus_adapters.sql.tables import conversations as c
from nexus_core.domain.contacts import ContactDraft
from nexus_core.domain.inbound_messages import (
    InboundContact,
    InboundMessage,
    InboundOwner,
    StoredInbound,
)


def _contact_row(user_id: int, phone: str, name: str, now: datetime) -> dict[str, Any]:
    """The row of the contact the pipeline creates for a sender it does not know."""
    draft = ContactDraft(name=name, phone=phone, email=None)
    return {
        "user_id": user_id,
        "source": "whatsapp",
        "created_at": now,
        "updated_at": now,
        **draft_values(draft),
    }


def _new_contacts_version() -> int:
    """A new ``users.contacts_version``, drawn as ``touch_contacts`` draws it (for a statement
    that moves it itself)."""
    return secrets.randbits(62) + 1


def _inbound(user_id: int, message: InboundMessage, now: datetime) -> dict[str, Any]:
    """The parameters of the pipeline's statements for one message (and ``sender``, its
    sender's phone, for those that look the contact up)."""
    return {
        "owner_id": user_id,
        "body": message.text,
        "wamid": message.provider_message_id,
        "at": now,
        "sent_at": message.sent_at(now),
    }


# The inbound pipeline's statements, built once: one webhook call runs a handful of them, and
# a statement made anew per call costs more to build than to run.
_OWNER_ID = bindparam("owner_id", type_=Integer)
# Named apart from every column: SQLAlchemy reads a parameter named as a column of a table an
# UPDATE writes as a value to set in it.
_PHONE = bindparam("sender", type_=String)
_PROVIDER_ID = bindparam("wamid", type_=m.c.provider_message_id.type)
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
    .where(contacts.c.user_id == _OWNER_ID, contacts.c.phone == _PHONE)
)
_CONVERSATION = select(c.c.id).where(
    c.c.user_id == _OWNER_ID, c.c.contact_id == bindparam("contact_id", type_=Integer)
)
_AT = bindparam("at", type_=c.c.last_activity_at.type)
_SENT_AT = bindparam("sent_at", type_=c.c.last_inbound_at.type)
_MOVE_INBOUND = (
    update(c)
    .where(c.c.id == bindparam("conversation_id", type_=Integer))
    .values(
        last_activity_at=_AT,
        last_message_id=bindparam("message_id", type_=Integer),
        unread_count=c.c.unread_count + 1,
        last_inbound_at=case(
            (or_(c.c.last_inbound_at.is_(None), c.c.last_inbound_at < _SENT_AT), _SENT_AT),
            else_=c.c.last_inbound_at,
        ),
    )
)
# What an inbound message's row holds besides its conversation (and, on PostgreSQL, its id).
_INBOUND_COLUMNS = (
    "user_id", "direction", "text", "status", "provider_message_id", "generated_by_ai",
    "created_at",
)  # fmt: skip
_INBOUND_VALUES = (
    _OWNER_ID,
    literal("in", m.c.direction.type),
    bindparam("body", type_=m.c.text.type),
    literal("received", m.c.status.type),
    _PROVIDER_ID,
    false(),
    _AT,
)
# The columns of a contact the pipeline creates (``_contact_row``).
_NEW_CONTACT_COLUMNS = tuple(_contact_row(0, "", "", datetime.min))


@functools.cache
def _insert_message(dialect: str) -> Any:
    """An inbound message's insert, which inserts nothing when the user has its provider id."""
    table_insert = postgresql.insert(m) if dialect == "postgresql" else sqlite.insert(m)
    return (
        table_insert.values(
            {
                "conversation_id": bindparam("conversation_id", type_=Integer),
                **dict(zip(_INBOUND_COLUMNS, _INBOUND_VALUES, strict=True)),
            }
        )
        .on_conflict_do_nothing(index_elements=["user_id", "provider_message_id"])
        .returning(m.c.id)
    )


def _store_known() -> Any:
    """PostgreSQL: ``store_inbound`` in one statement. The message goes into the sender's
    conversation (none when the sender has no contact or conversation), and only a message
    inserted moves the conversation; the row says what was found and the new message's id."""
    found = _CONTACT.cte("found")
    stored = (
        postgresql.insert(m)
        .from_select(
            ["conversation_id", *_INBOUND_COLUMNS],
            select(found.c.conversation_id, *_INBOUND_VALUES).where(
                found.c.conversation_id.is_not(None)
            ),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "provider_message_id"])
        .returning(m.c.id, m.c.conversation_id)
        .cte("stored")
    )
    # Concurrent messages of one conversation draw their ids before they queue on its row, so
    # the last to move it may not be the newest: every value only moves forward (GREATEST
    # ignores the NULL of a conversation that had none).
    moved = (
        update(c)
        .where(c.c.id == stored.c.conversation_id)
        .values(
            last_activity_at=func.greatest(c.c.last_activity_at, _AT),
            last_message_id=func.greatest(c.c.last_message_id, stored.c.id),
            unread_count=c.c.unread_count + 1,
            last_inbound_at=func.greatest(c.c.last_inbound_at, _SENT_AT),
        )
        .cte("moved")
    )
    return (
        select(
            found.c.id.label("contact_id"),
            found.c.opted_out,
            found.c.conversation_id,
            stored.c.id.label("message_id"),
        )
        .select_from(found.outerjoin(stored, true()))
        .add_cte(moved)
    )


def _store_creating() -> Any:
    """PostgreSQL: ``store_inbound_creating`` for a sender without a conversation, in one
    statement: the contact when there is none (``ON CONFLICT DO NOTHING``: one created
    meanwhile elsewhere makes no row), with the owner's contacts version; the conversation,
    already moved by the message (``ON CONFLICT DO NOTHING`` too); and the message, whose id is
    drawn first so that the new conversation can name it. A message the user already has
    (``seen``) starts an empty conversation. The owner's row is locked from here to the
    commit (this version, and the count triggers after the statement)."""
    found = (
        select(contacts.c.id, contacts.c.opted_out)
        .where(contacts.c.user_id == _OWNER_ID, contacts.c.phone == _PHONE)
        .cte("found")
    )
    created = (
        postgresql.insert(contacts)
        .from_select(
            list(_NEW_CONTACT_COLUMNS),
            select(
                *(bindparam(f"new_{n}", type_=contacts.c[n].type) for n in _NEW_CONTACT_COLUMNS)
            ).where(~exists(select(found.c.id))),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "phone"])
        .returning(contacts.c.id, contacts.c.opted_out)
        .cte("created")
    )
    touched = (
        update(users)
        .where(users.c.id == _OWNER_ID, exists(select(created.c.id)))
        .values(contacts_version=bindparam("version", type_=BigInteger))
        .cte("touched")
    )
    contact = union_all(
        select(found.c.id, found.c.opted_out), select(created.c.id, created.c.opted_out)
    ).cte("contact")
    seen = select(m.c.id).where(m.c.user_id == _OWNER_ID, m.c.provider_message_id == _PROVIDER_ID)
    drawn = (
        select(func.nextval(func.pg_get_serial_sequence(m.name, m.c.id.name)).label("id"))
        .where(~exists(seen))
        .cte("drawn")
    )
    message_id = drawn.c.id
    started = (
        postgresql.insert(c)
        .from_select(
            ["user_id", "contact_id", "last_activity_at", "last_message_id", "last_inbound_at",
             "unread_count"],
            select(
                _OWNER_ID,
                contact.c.id,
                _AT,
                message_id,
                case((message_id.is_not(None), _SENT_AT)),
                case((message_id.is_not(None), 1), else_=0),
            ).select_from(contact.outerjoin(drawn, true())),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "contact_id"])
        .returning(c.c.id, c.c.last_message_id)
        .cte("started")
    )  # fmt: skip
    stored = (
        postgresql.insert(m)
        .from_select(
            ["id", "conversation_id", *_INBOUND_COLUMNS],
            select(started.c.last_message_id, started.c.id, *_INBOUND_VALUES).where(
                started.c.last_message_id.is_not(None)
            ),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "provider_message_id"])
        .returning(m.c.id)
        .cte("stored")
    )
    return (
        select(
            contact.c.id.label("contact_id"),
            contact.c.opted_out,
            started.c.id.label("conversation_id"),
            started.c.last_message_id.label("drawn_id"),
            stored.c.id.label("message_id"),
        )
        .select_from(contact.outerjoin(started, true()).outerjoin(stored, true()))
        .add_cte(touched)
    )


_STORE_KNOWN = _store_known()
_STORE_CREATING = _store_creating()
# An empty conversation: what one started for a message that turned out to be stored already.
_EMPTIED = (
    update(c)
    .where(c.c.id == bindparam("conversation_id", type_=Integer))
    .values(last_message_id=None, last_inbound_at=None, unread_count=0)
)
# How often a creation that met a concurrent one (contact or conversation) is tried again.
_CREATION_ATTEMPTS = 3


class SqlInboundWrites:
    """The inbound pipeline's side of ``ConversationRepository`` (see the module's docstring)."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection
        self._postgresql = connection.dialect.name == "postgresql"

    def owner_of(self, phone_number_id: str) -> InboundOwner | None:
        row = self._c.execute(_OWNER, {"phone_number_id": phone_number_id}).first()
        if row is None:
            return None
        return InboundOwner(row.id, bool(row.gemini_auto_reply_enabled and row.has_key))

    def store_inbound(
        self, user_id: int, phone: str, message: InboundMessage, now: datetime
    ) -> StoredInbound | None:
        if self._postgresql:
            parameters = {**_inbound(user_id, message, now), "sender": phone}
            row = self._c.execute(_STORE_KNOWN, parameters).first()
            if row is None or row.conversation_id is None:
                return None
            return StoredInbound(InboundContact(row.contact_id, row.opted_out), row.message_id)
        row = self._c.execute(_CONTACT, {"owner_id": user_id, "sender": phone}).first()
        if row is None or row.conversation_id is None:
            return None
        contact = InboundContact(row.id, bool(row.opted_out))
        return StoredInbound(contact, self._record(user_id, row.conversation_id, message, now))

    def store_inbound_creating(
        self, user_id: int, phone: str, name: str, message: InboundMessage, now: datetime
    ) -> StoredInbound:
        if not self._postgresql:
            contact = self._contact_for(user_id, phone, name, now)
            conversation_id = self._conversation_id(user_id, contact.id, now)
            return StoredInbound(contact, self._record(user_id, conversation_id, message, now))
        values = {
            **_inbound(user_id, message, now),
            "sender": phone,
            **{f"new_{n}": v for n, v in _contact_row(user_id, phone, name, now).items()},
            "version": _new_contacts_version(),
        }
        for _ in range(_CREATION_ATTEMPTS):
            row = self._c.execute(_STORE_CREATING, values).first()
            if row is not None and row.conversation_id is not None:
                if row.message_id is None and row.drawn_id is not None:
                    # The message was being stored meanwhile by another call, elsewhere.
                    self._c.execute(_EMPTIED, {"conversation_id": row.conversation_id})
                contact = InboundContact(row.contact_id, row.opted_out)
                return StoredInbound(contact, row.message_id)
            # Another call created the contact or the conversation first (and committed).
            known = self.store_inbound(user_id, phone, message, now)
            if known is not None:
                return known
        raise RuntimeError("the sender's contact and conversation kept changing")

    # SQLite, one statement at a time (and ``add_outbound``'s conversation).

    def _contact(self, user_id: int, phone: str) -> InboundContact | None:
        row = self._c.execute(_CONTACT, {"owner_id": user_id, "sender": phone}).first()
        return None if row is None else InboundContact(row.id, bool(row.opted_out))

    def _contact_for(self, user_id: int, phone: str, name: str, now: datetime) -> InboundContact:
        found = self._contact(user_id, phone)
        if found is not None:
            return found
        created = self._c.execute(
            insert_for(self._c, contacts)
            .values(_contact_row(user_id, phone, name, now))
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
        return int(found)

    def _record(
        self, user_id: int, conversation_id: int, message: InboundMessage, now: datetime
    ) -> int | None:
        """Insert the message (unless the user has it) and move its conversation; its id."""
        parameters = {"conversation_id": conversation_id, **_inbound(user_id, message, now)}
        message_id = self._c.execute(_insert_message(self._c.dialect.name), parameters).scalar()
        if message_id is None:
            return None
        self._c.execute(_MOVE_INBOUND, {**parameters, "message_id": message_id})
        return int(message_id)

    def opt_out(self, user_id: int, contact_id: int, now: datetime) -> None:
        self._c.execute(
            update(contacts)
            .where(contacts.c.id == contact_id, contacts.c.user_id == user_id)
            .values(opted_out=True, updated_at=now)
        )
        touch_contacts(self._c, user_id)
