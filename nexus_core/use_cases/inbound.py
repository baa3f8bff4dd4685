"""The inbound pipeline: the messages of one webhook call stored on their users' contacts.

Each message is matched to the user whose business number received it and to the contact with
the sender's phone (created when unknown), stored once (a repeated provider id changes
nothing: Meta repeats calls), and then either opts the contact out (a message that is only an
opt-out word) or, for a user whose automation is on, queues an AI reply for the dispatch
workers. Messages of a number no user has, from a sender whose id is no phone, or sent by the
business number itself (echoes of our own messages) are left alone. The webhook answers once
everything is committed.

Creating a contact and opting one out also write the owner's row (its contacts version and
counts), which every such write of the owner takes in turn until its commit: a burst of new
senders would queue on it one commit at a time. So a call is stored in two steps. First, in a
short unit of work of its own, the messages of senders with a conversation already (the usual
case, and several calls at once never wait for one another there); then, through the group
writer (``Ports.write``: the writes of concurrent calls share one transaction, so the owner's
row is taken once for all of them), the messages of new senders and the opt-out words, and
after them every later message of the same senders, so that a sender's messages are stored in
the order they were sent. A message and what it does (its opt-out, its queued reply) are
always written together: should the second step fail, Meta repeats the call, and only what
the first step stored is found already. Messages are taken in (number, sender, time) order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from nexus_core.domain.conversations import is_opt_out
from nexus_core.domain.inbound_messages import (
    InboundMessage,
    InboundOwner,
    StoredInbound,
    storable,
)
from nexus_core.domain.phones import to_e164
from nexus_core.domain.text import NAME_MAX, required_text
from nexus_core.domain.whatsapp_webhook import could_be_stored
from nexus_core.errors import ValidationFailed
from nexus_core.ports import UnitOfWork
from nexus_core.use_cases.context import Ports

# Reads a sender's id, which carries its country code (no default country applies).
_ANY_COUNTRY = "ZZ"


def sender_phone(sender: str) -> str | None:
    """The E.164 phone of a WhatsApp id (``34600111222`` → ``+34600111222``), or ``None`` for
    an id that is no phone. WhatsApp has verified the number: one our phone metadata does not
    know yet (a new range) is kept as its digits."""
    if not (sender.isascii() and sender.isdigit()) or not 8 <= len(sender) <= 15:
        return None
    try:
        return to_e164(f"+{sender}", _ANY_COUNTRY)
    except ValidationFailed:
        return f"+{sender}"


def _contact_name(message: InboundMessage, phone: str) -> str:
    """The sender's WhatsApp profile name, as a contact's name may be, else the phone."""
    name = " ".join(storable(message.profile_name or "").split())[:NAME_MAX]
    try:
        return required_text(name, max_length=NAME_MAX)
    except ValidationFailed:
        return phone


def receive_inbound(ports: Ports, messages: Sequence[InboundMessage], now: datetime) -> int:
    """Store the inbound ``messages`` of one webhook call (see the module's docstring); how
    many were new. Without any that could be stored no unit of work is opened."""
    wanted = sorted(
        (m for m in messages if not m.from_business and could_be_stored(m.provider_message_id)),
        key=lambda m: (m.phone_number_id, m.sender, m.timestamp),
    )
    if not wanted:
        return 0
    later: list[_Stored] = []
    with ports.uow(write=True) as uow:
        owners: dict[str, InboundOwner | None] = {}
        deferred: set[tuple[int, str]] = set()  # senders whose messages wait for the second step
        new = 0
        for message in wanted:
            if message.phone_number_id not in owners:
                owners[message.phone_number_id] = uow.conversations.owner_of(
                    message.phone_number_id
                )
            owner = owners[message.phone_number_id]
            phone = sender_phone(message.sender)
            if owner is None or phone is None:
                continue
            sender = (owner.user_id, phone)
            if sender in deferred or is_opt_out(message.text):
                deferred.add(sender)
                later.append(_Stored(owner, phone, message, known=True))
                continue
            done = uow.conversations.store_inbound(*sender, message, now)
            if done is None:  # a new sender, or one without a conversation yet
                deferred.add(sender)
                later.append(_Stored(owner, phone, message, known=False))
                continue
            new += _answer(uow, owner, message, done, now, set())
        uow.commit()
    if later:
        new += ports.write(lambda uow: _store_writing_owners(uow, later, now))
    return new


@dataclass(frozen=True, slots=True)
class _Stored:
    """A message to store in the second step, with its user and its sender's phone.
    ``known``: the sender may have a conversation by then (``False`` when the first step just
    found none, so the creating write is tried at once)."""

    owner: InboundOwner
    phone: str
    message: InboundMessage
    known: bool


def _store_writing_owners(uow: UnitOfWork, messages: Sequence[_Stored], now: datetime) -> int:
    """The second step: ``messages`` stored, contacts created and opted out; how many new."""
    conversations = uow.conversations
    opting_out: set[tuple[int, int]] = set()
    new = 0
    for stored in messages:
        owner, phone, message = stored.owner, stored.phone, stored.message
        done = (
            conversations.store_inbound(owner.user_id, phone, message, now)
            if stored.known
            else None
        )
        if done is None:
            name = _contact_name(message, phone)
            done = conversations.store_inbound_creating(owner.user_id, phone, name, message, now)
        new += _answer(uow, owner, message, done, now, opting_out)
    for user_id, contact_id in sorted(opting_out):
        conversations.opt_out(user_id, contact_id, now)
    return new


def _answer(
    uow: UnitOfWork,
    owner: InboundOwner,
    message: InboundMessage,
    done: StoredInbound,
    now: datetime,
    opting_out: set[tuple[int, int]],
) -> int:
    """What a message just stored does: an opt-out word adds its contact to ``opting_out``;
    otherwise its AI reply is queued when the owner's automation is on and the contact has
    not opted out (nor is opting out). 1 if the message was new, else 0 (it did all that the
    first time)."""
    if done.message_id is None:
        return 0
    contact, key = done.contact, (owner.user_id, done.contact.id)
    if is_opt_out(message.text):
        if not contact.opted_out:
            opting_out.add(key)
    elif owner.auto_reply and not contact.opted_out and key not in opting_out:
        uow.automation.enqueue(owner.user_id, contact.id, done.message_id, now)
    return 1
