"""The WhatsApp inbox: a user's conversations, one conversation's messages (reading marks
them read), and a reply typed by the user, sent within the 24-hour window.

A reply is sent at most once: the channel is called outside any unit of work, then the
message is stored with what the channel answered. A channel failure is stored too (the
conversation shows it) and answered as ``UpstreamFailed``.
"""

from __future__ import annotations

from collections.abc import Mapping

from nexus_core.domain.contact_queries import parse_page_request
from nexus_core.domain.conversations import (
    ConversationMessage,
    ConversationSummary,
    check_reply_text,
    window_is_open,
)
from nexus_core.domain.identifiers import could_exist
from nexus_core.domain.outbound import ChannelAccount, OutboundMessage, SendResult
from nexus_core.domain.pagination import Page
from nexus_core.errors import Conflict, NotFound, RuleRefused, UpstreamFailed
from nexus_core.use_cases.context import Ports


def _not_found() -> NotFound:
    return NotFound("contact.not_found")


def list_conversations(
    ports: Ports, user_id: int, params: Mapping[str, str]
) -> Page[ConversationSummary]:
    """One page of the user's conversations, newest activity first."""
    pages = parse_page_request(params)
    with ports.uow() as uow:
        found, total = uow.conversations.page(user_id, pages.page, pages.per_page)
    return Page(found, total, pages.page, pages.per_page)


def read_messages(
    ports: Ports, user_id: int, contact_id: int, params: Mapping[str, str]
) -> Page[ConversationMessage]:
    """One page of the conversation with one of the user's contacts, newest first; its
    unread messages turn read. Another user's contact is ``NotFound``."""
    pages = parse_page_request(params)
    if not could_exist(contact_id):
        raise _not_found()
    with ports.uow(write=True) as uow:
        if uow.contacts.get(user_id, contact_id) is None:
            raise _not_found()
        found, total = uow.conversations.read_messages(
            user_id, contact_id, pages.page, pages.per_page
        )
        uow.commit()
    return Page(found, total, pages.page, pages.per_page)


def send_reply(ports: Ports, user_id: int, contact_id: int, text: str) -> ConversationMessage:
    """Send ``text`` to one of the user's contacts through WhatsApp and store it.

    A contact that is not the user's is ``NotFound``; one who opted out, or whose 24-hour
    window is closed (or never opened), is a ``Conflict``; a user without WhatsApp
    credentials a ``RuleRefused``; a channel that refused or failed an ``UpstreamFailed``
    (after the failed message is stored)."""
    body = check_reply_text(text)
    if not could_exist(contact_id):
        raise _not_found()
    now = ports.clock()
    with ports.uow() as uow:
        contact = uow.contacts.get(user_id, contact_id)
        owner = uow.users.get(user_id)
        if contact is None or owner is None:
            raise _not_found()
        last_inbound = uow.conversations.last_inbound_at(user_id, contact_id)
    if contact.opted_out:
        raise Conflict("conversation.opted_out")
    if contact.phone is None or not window_is_open(last_inbound, now):
        raise Conflict("conversation.window_closed")
    account = ChannelAccount.from_credentials(owner.credentials)
    if account.whatsapp_token is None or not account.whatsapp_phone_number_id:
        raise RuleRefused("conversation.channel_not_configured")
    result = _send(ports, account, OutboundMessage(channel="whatsapp", to=contact.phone, text=body))
    with ports.uow(write=True) as uow:
        message = uow.conversations.add_outbound(
            user_id,
            contact_id,
            body,
            "sent" if result.outcome == "sent" else "failed",
            result.provider_message_id,
            False,
            ports.clock(),
        )
        uow.commit()
    if result.outcome != "sent":
        raise UpstreamFailed("conversation.send_failed", reason=result.error or "unknown")
    return message


def _send(ports: Ports, account: ChannelAccount, message: OutboundMessage) -> SendResult:
    """The channel's answer; a channel that raised may have sent (an unknown outcome)."""
    if ports.replies is None:
        return SendResult.failed("permanent", "channel_unavailable")
    try:
        return ports.replies.send(account, message)
    except Exception:
        return SendResult.failed("unknown_outcome", "send_crashed")
