"""``/api/webhooks/whatsapp``: the WhatsApp Cloud API's callback — the subscription handshake,
the signed status callbacks (delivery receipts) and inbound messages.

Meta calls without a session, an ``Origin`` or a cookie: no session is looked up here, and the
CSRF rule serves such requests. A call is cheap: the signature is checked and the body parsed
on the event loop, and the database is touched (in the thread pool) only when the call carries
receipts or messages: the inbound messages of a call are stored before it answers (those of
new senders and the opt-outs together with concurrent calls', ``receive_inbound``), and their
AI replies are left to the dispatch workers.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

import msgspec
from litestar import Controller, get, post
from litestar.concurrency import sync_to_thread
from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import QueryParameter

from nexus_core.domain.whatsapp_webhook import (
    handshake_challenge,
    parse_webhook,
    verify_signature,
)
from nexus_core.use_cases.inbound import receive_inbound
from nexus_core.use_cases.receipts import record_receipts
from nexus_http.controllers.docs import problems
from nexus_http.errors import ProblemException
from nexus_http.request_context import AnyRequest, adapters_of
from nexus_http.schemas.webhooks import WebhookAck

SIGNATURE_HEADER = "x-hub-signature-256"


HubMode = Annotated[
    str | None, QueryParameter(name="hub.mode", required=False, description="Always `subscribe`.")
]
HubVerifyToken = Annotated[
    str | None,
    QueryParameter(
        name="hub.verify_token",
        required=False,
        description="The verify token set in Meta's app dashboard.",
    ),
]
HubChallenge = Annotated[
    str | None,
    QueryParameter(name="hub.challenge", required=False, description="Echoed when accepted."),
]


def _described(specs: dict[int, ResponseSpec], reasons: dict[int, str]) -> dict[int, ResponseSpec]:
    """``problems(…)`` with this endpoint's own reason for each status."""
    return {
        status: dataclasses.replace(spec, description=reasons.get(status, spec.description))
        for status, spec in specs.items()
    }


class WhatsAppWebhookController(Controller):
    path = "/api/webhooks/whatsapp"
    tags = ["Webhooks"]

    @get(
        "/",
        media_type=MediaType.TEXT,
        summary="The Cloud API's subscription handshake: echoes `hub.challenge`",
        description="Answers `hub.challenge` as `text/plain` when `hub.mode` is `subscribe` and "
        "`hub.verify_token` equals `NEXUS_WHATSAPP_VERIFY_TOKEN`.",
        responses=_described(
            problems(400, 403),
            {
                400: "A `hub.*` parameter is missing, or `hub.mode` is not `subscribe`",
                403: "Wrong verify token, or none configured",
            },
        ),
    )
    async def handshake(
        self,
        request: AnyRequest,
        mode: HubMode = None,
        token: HubVerifyToken = None,
        challenge: HubChallenge = None,
    ) -> str:
        verify_token = adapters_of(request).settings.whatsapp_verify_token
        return handshake_challenge(mode, token, challenge, verify_token)

    @post(
        "/",
        status_code=200,
        summary="Status callbacks of sent WhatsApp messages, and inbound messages",
        description="The Cloud API's JSON payload, signed in `X-Hub-Signature-256` "
        "(`sha256=` and the hex HMAC-SHA256 of the raw body with `NEXUS_WHATSAPP_APP_SECRET`). "
        "`sent`, `delivered`, `read` and `failed` statuses move the deliveries they name, never "
        "backwards. Inbound `messages` are stored on the conversation of the user whose "
        "`whatsapp_phone_number_id` received them (once per message id), opt-out words opt "
        "the contact out, and AI replies are queued when the user's automation is on. Other "
        "kinds of payload are acknowledged and ignored.",
        responses=_described(
            problems(400, 401, 403, 413, 415, 503),
            {
                400: "Malformed JSON, or a payload without what it needs where it is read",
                401: "No `X-Hub-Signature-256: sha256=…` header",
                403: "Wrong signature (or a cross-site request refused)",
                503: "No app secret configured: the webhook refuses every call",
            },
        ),
    )
    async def receive(self, request: AnyRequest) -> WebhookAck:
        adapters = adapters_of(request)
        app_secret = adapters.settings.whatsapp_app_secret
        if app_secret is None:
            raise ProblemException(503, "webhook.not_configured")
        body = await request.body()
        verify_signature(app_secret, body, request.headers.get(SIGNATURE_HEADER))
        try:
            payload = msgspec.json.decode(body)
        except (ValueError, RecursionError) as malformed:
            # msgspec's DecodeError, bytes that are not UTF-8, or nesting too deep to decode
            raise ProblemException(400, "http.malformed_json") from malformed
        events = parse_webhook(payload)
        receipts = events.receipts
        ports = adapters.ports
        if events.inbound:
            await sync_to_thread(receive_inbound, ports, events.inbound, ports.clock())
        applied = 0
        if receipts:
            applied = await sync_to_thread(record_receipts, ports, receipts, ports.clock())
        return WebhookAck(ok=True, receipts=len(receipts), applied=applied)
