"""AI automation: Gemini's replies to inbound WhatsApp messages, and the record of each
exchange (a bot activity).

An inbound message of a user with ``gemini_auto_reply_enabled`` and a ``gemini_api_key``
queues one ``pending`` activity; a dispatch worker claims it, asks Gemini, sends the reply
and records the activity ``sent``, or ``failed`` with why (nothing is sent then), or
``skipped`` when, by the time it is claimed, the automation was turned off, the contact opted
out or the 24-hour window closed. Claims are paced per user: at most
``AUTO_REPLIES_PER_MINUTE`` a minute; the rest wait for later rounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from nexus_core.domain.users import Credentials

ActivityStatus = Literal["pending", "sent", "failed", "skipped"]
ACTIVITY_STATUSES: tuple[ActivityStatus, ...] = ("pending", "sent", "failed", "skipped")

# Replies one user's automation sends at most in any minute.
AUTO_REPLIES_PER_MINUTE = 20
# A reply is a chat message, not an essay: longer answers are cut (at a word) to this.
AUTO_REPLY_MAX = 1000
ELLIPSIS = "…"

# Why a pending activity was skipped, or failed without an answer from Gemini.
AUTOMATION_OFF = "automation_off"
OPTED_OUT = "opted_out"
WINDOW_CLOSED = "window_closed"
CONTACT_DELETED = "contact_deleted"
UNKNOWN_OUTCOME = "unknown_outcome"


@dataclass(frozen=True, slots=True)
class BotActivity:
    """One exchange: the inbound message, Gemini's reply (``None`` until there is one), how it
    ended, and why when it failed or was skipped. ``contact_phone`` and ``contact_name`` are
    snapshots taken when the message arrived."""

    id: int
    user_id: int
    contact_id: int | None
    contact_phone: str
    contact_name: str
    message_content: str
    response_content: str | None
    status: ActivityStatus
    error: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ClaimedReply:
    """A pending activity leased to a worker: who wrote what, to be answered."""

    activity_id: int
    user_id: int
    contact_id: int
    phone: str
    message_content: str
    inbound_message_id: int


@dataclass(frozen=True, slots=True)
class AutomationStatus:
    enabled: bool
    configured: bool
    replies_today: int
    failures_today: int


def is_configured(credentials: Credentials) -> bool:
    """Whether Gemini can be asked: a key is stored."""
    return credentials.gemini_api_key is not None and bool(credentials.gemini_api_key.value)


def replies_automatically(credentials: Credentials) -> bool:
    """Whether inbound messages get an AI reply: turned on, with a key."""
    return credentials.gemini_auto_reply_enabled and is_configured(credentials)


def cap_reply(text: str, limit: int = AUTO_REPLY_MAX) -> str:
    """``text`` trimmed, and cut to at most ``limit`` characters (at the last space when there
    is one in its second half, ending in an ellipsis) when longer."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space >= len(cut) // 2:
        cut = cut[:space]
    return cut.rstrip() + ELLIPSIS
