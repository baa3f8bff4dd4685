"""``/api/conversations``: the WhatsApp inbox — the user's conversations, one conversation's
messages (reading marks them read) and a reply typed by the user."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody

from nexus_core.use_cases import conversations
from nexus_http.controllers.docs import problems
from nexus_http.controllers.list_params import Page, PerPage, given_params
from nexus_http.request_context import (
    AnyRequest,
    adapters_of,
    current_session_in_thread,
    lookup_as_caller,
    say,
)
from nexus_http.schemas.common import PaginationOut
from nexus_http.schemas.conversations import (
    ConversationList,
    ConversationMessageOut,
    ConversationOut,
    MessageList,
    ReplyEnvelope,
    ReplyIn,
)


class ConversationsController(Controller):
    path = "/api/conversations"
    tags = ["Conversations"]

    @get(
        "/",
        summary="One page of the user's WhatsApp conversations, newest activity first",
        description="One per contact who wrote or was written to: the contact, the newest "
        "message, how many inbound messages are unread, and when the 24-hour window for "
        "free-form replies closes (`null` when the contact never wrote).",
        responses=problems(400, 401),
    )
    async def list_conversations(
        self, request: AnyRequest, page: Page = None, per_page: PerPage = None
    ) -> ConversationList:
        params = given_params(page=page, per_page=per_page)
        ports = adapters_of(request).ports
        found = await lookup_as_caller(
            request,
            lambda current: conversations.list_conversations(ports, current.user.id, params),
        )
        return ConversationList(
            conversations=[ConversationOut.of(summary) for summary in found.items],
            pagination=PaginationOut.of(found),
        )

    @get(
        "/{contact_id:int}/messages",
        sync_to_thread=True,
        summary="One page of a conversation's messages, newest first; marks them read",
        description="The page's unread inbound messages turn `read` (and are shown so).",
        responses=problems(400, 401, 404),
    )
    def messages(
        self,
        request: AnyRequest,
        contact_id: FromPath[int],
        page: Page = None,
        per_page: PerPage = None,
    ) -> MessageList:
        current = current_session_in_thread(request)
        found = conversations.read_messages(
            adapters_of(request).ports,
            current.user.id,
            contact_id,
            given_params(page=page, per_page=per_page),
        )
        return MessageList(
            messages=[ConversationMessageOut.of(message) for message in found.items],
            pagination=PaginationOut.of(found),
        )

    @post(
        "/{contact_id:int}/messages",
        status_code=201,
        sync_to_thread=True,
        summary="Reply to a contact through WhatsApp, within the 24-hour window",
        description="Sends `text` (1 to 4,096 characters) as a free-form WhatsApp message. "
        "409 when the window is closed (the contact last wrote more than 24 hours ago, or "
        "never) or the contact opted out; 400 without WhatsApp credentials; 502 when the "
        "Cloud API refused or failed the message (it is kept in the conversation as `failed`).",
        responses=problems(400, 401, 403, 404, 409, 413, 415, 502),
    )
    def reply(
        self, request: AnyRequest, contact_id: FromPath[int], data: JSONBody[ReplyIn]
    ) -> ReplyEnvelope:
        current = current_session_in_thread(request)
        sent = conversations.send_reply(
            adapters_of(request).ports, current.user.id, contact_id, data.text
        )
        return ReplyEnvelope(
            message=say(request, "ok.reply_sent"), sent=ConversationMessageOut.of(sent)
        )
