"""The inbound pipeline: the messages of one webhook call stored on their users' contacts.

One short write unit of work per call (the webhook answers at once): each message is matched
to the user whose business number received it and to the contact with the sender's phone
(created when unknown), stored once (a repeated provider id changes nothing: Meta repeats
calls), and then either opts the contact out (a message that is only an opt-out word) or, for
a user whose automation is on, queues an AI reply for the dispatch workers. Messages are taken
in (number, sender, time) order, so two calls touching the same contacts lock them in the same
order. Messages of a number no user has, from a sender whose id is no phone, or sent by the
business number itself (echoes of our own messages) are left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from nexus_core.domain.conversations import is_opt_out
from nexus_core.domain.inbound_messages import InboundMessage, InboundOwner, storable
from nexus_core.domain.phones import to_e164
from nexus_core.domain.text import NAME_MAX, required_text
from nexus_core.domain.whatsapp_webhook import could_be_stored
from nexus_core.errors import ValidationFailed
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
    stored = 0
    with ports.uow(write=True) as uow:
        owners: dict[str, InboundOwner | None] = {}
        for message in wanted:
            if message.phone_number_id not in owners:
                owners[message.phone_number_id] = uow.conversations.owner_of(
                    message.phone_number_id
                )
            owner = owners[message.phone_number_id]
            phone = sender_phone(message.sender)
            if owner is None or phone is None:
                continue
            user_id = owner.user_id
            contact = uow.conversations.contact_for(
                user_id, phone, _contact_name(message, phone), now
            )
            message_id = uow.conversations.record_inbound(user_id, contact.id, message, now)
            if message_id is None:
                continue
            stored += 1
            if is_opt_out(message.text):
                if not contact.opted_out:
                    uow.conversations.opt_out(user_id, contact.id, now)
            elif owner.auto_reply and not contact.opted_out:
                uow.automation.enqueue(user_id, contact.id, message_id, now)
        uow.commit()
    return stored
