"""The WhatsApp inbox as the API shows it: conversations, messages, a reply."""

from __future__ import annotations

import msgspec

from nexus_core.domain.conversations import (
    ConversationMessage,
    ConversationSummary,
    Direction,
    MessageStatus,
)
from nexus_http.schemas.common import PaginationOut, rfc3339
from nexus_http.schemas.contacts import ContactOut


class ConversationMessageOut(msgspec.Struct):
    id: int
    direction: Direction
    text: str
    status: MessageStatus
    created_at: str | None
    generated_by_ai: bool

    @classmethod
    def of(cls, message: ConversationMessage) -> ConversationMessageOut:
        return cls(
            id=message.id,
            direction=message.direction,
            text=message.text,
            status=message.status,
            created_at=rfc3339(message.created_at),
            generated_by_ai=message.generated_by_ai,
        )


class ConversationOut(msgspec.Struct):
    """One line of the inbox. ``window_open_until`` is when free-form replies stop being
    possible (in the past once the window closed; ``null`` when the contact never wrote)."""

    contact: ContactOut
    last_message: ConversationMessageOut | None
    unread_count: int
    window_open_until: str | None

    @classmethod
    def of(cls, summary: ConversationSummary) -> ConversationOut:
        last = summary.last_message
        return cls(
            contact=ContactOut.of(summary.contact),
            last_message=None if last is None else ConversationMessageOut.of(last),
            unread_count=summary.unread_count,
            window_open_until=rfc3339(summary.window_open_until),
        )


class ConversationList(msgspec.Struct):
    conversations: list[ConversationOut]
    pagination: PaginationOut


class MessageList(msgspec.Struct):
    messages: list[ConversationMessageOut]
    pagination: PaginationOut


class ReplyIn(msgspec.Struct):
    """A reply typed by the user: 1 to 4,096 characters (trimmed)."""

    text: str


class ReplyEnvelope(msgspec.Struct):
    message: str
    sent: ConversationMessageOut
