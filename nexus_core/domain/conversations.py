"""WhatsApp conversations: the messages exchanged with one contact, the 24-hour window of the
Cloud API, and the opt-out words (API.md, "Conversations and AI automation").

A conversation is one per contact: the inbound messages the contact sent us (through the
webhook) and the outbound ones we sent back (typed by the user, or written by Gemini). The
Cloud API takes free-form messages only within 24 hours of the contact's last inbound
message: ``window_open_until`` says until when.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from nexus_core.domain.contact_records import Contact
from nexus_core.domain.deliveries import ReceiptStatus, after_receipt
from nexus_core.domain.text import required_text
from nexus_core.errors import Collector

Direction = Literal["in", "out"]
# Inbound: ``received``, then ``read`` once the user read it. Outbound: the channel's answer
# (``sent`` or ``failed``), then the receipts' (``moved_by_receipt``).
MessageStatus = Literal["received", "read", "sent", "delivered", "failed"]
# The statuses of an outbound message.
OutboundStatus = Literal["sent", "delivered", "read", "failed"]
OUTBOUND_STATUSES: tuple[OutboundStatus, ...] = ("sent", "delivered", "read", "failed")

# The Cloud API's customer service window.
REPLY_WINDOW = timedelta(hours=24)
# A WhatsApp text message's body is at most 4,096 characters.
WHATSAPP_TEXT_MAX = 4096
# The words that, alone in a message, ask not to be messaged again (compared folded).
OPT_OUT_WORDS = frozenset({"baja", "stop", "cancelar", "no mas"})

_SPACES = re.compile(r"\s+")
# What may surround the word: "¡STOP!", "Baja.", "«no más»".
_SURROUNDING = " \t\r\n.,;:!?¡¿\"'«»()[]-_*~"


@dataclass(frozen=True, slots=True)
class ConversationMessage:
    """One message of a conversation; ``generated_by_ai`` for replies written by Gemini."""

    id: int
    user_id: int
    contact_id: int
    direction: Direction
    text: str
    status: MessageStatus
    provider_message_id: str | None
    generated_by_ai: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """One line of the inbox: the contact, its newest message, how many inbound messages are
    unread, and the last inbound time (``None`` when the contact never wrote)."""

    contact: Contact
    last_message: ConversationMessage | None
    unread_count: int
    last_inbound_at: datetime | None

    @property
    def window_open_until(self) -> datetime | None:
        return window_open_until(self.last_inbound_at)


def window_open_until(last_inbound_at: datetime | None) -> datetime | None:
    """When the window for free-form replies closes (it may have closed already), or
    ``None`` when the contact never wrote: then it was never open."""
    return None if last_inbound_at is None else last_inbound_at + REPLY_WINDOW


def window_is_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    """Whether a free-form message may be sent ``now``."""
    until = window_open_until(last_inbound_at)
    return until is not None and now < until


def moved_by_receipt(receipt: ReceiptStatus) -> tuple[OutboundStatus, ...]:
    """The statuses of an outbound message that ``receipt`` moves (each to ``receipt``): the
    rules of a delivery's receipts (``deliveries.after_receipt``), so never backwards,
    ``failed`` only before the message is known to have arrived, and nothing out of
    ``failed``. A ``sent`` receipt moves nothing: a stored reply is ``sent`` at the least."""
    return tuple(status for status in OUTBOUND_STATUSES if after_receipt(status, receipt))


def fold(text: str) -> str:
    """``text`` compared as a word: accents removed, case folded, runs of spaces one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", bare.casefold()).strip()


def is_opt_out(text: str) -> bool:
    """Whether a message is only an opt-out word (``baja``, ``stop``, ``cancelar``, ``no
    más``), in any case and with or without accents, punctuation around it allowed."""
    return fold(text).strip(_SURROUNDING) in OPT_OUT_WORDS


def check_reply_text(value: str) -> str:
    """The text of a reply typed by the user: trimmed, 1 to 4,096 characters; else a
    ``ValidationFailed`` naming ``text``."""
    errors = Collector()
    text: str = errors.check("text", lambda: required_text(value, max_length=WHATSAPP_TEXT_MAX))
    errors.raise_if_any()
    return text
