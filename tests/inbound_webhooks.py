"""Inbound WhatsApp webhook calls as Meta makes them (signed JSON bodies), for the HTTP and
end-to-end tests of conversations and the AI automation."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the core's tests import this module without httpx installed
    import httpx

WEBHOOK_PATH = "/api/webhooks/whatsapp"
BUSINESS_NUMBER = "34910000000"

_ids = itertools.count(1)


def message_id() -> str:
    """A fresh provider message id, as Meta writes them."""
    return f"wamid.HBgLin{next(_ids):08d}"


def text_message(
    sender: str,
    text: str,
    *,
    wamid: str | None = None,
    timestamp: int | None = None,
) -> dict[str, Any]:
    return {
        "from": sender,
        "id": wamid or message_id(),
        "timestamp": str(int(time.time()) if timestamp is None else timestamp),
        "type": "text",
        "text": {"body": text},
    }


def inbound_body(
    phone_number_id: str,
    *messages: dict[str, Any],
    profile_name: str | None = "Luis Gómez",
    business_number: str = BUSINESS_NUMBER,
) -> dict[str, Any]:
    """One call carrying ``messages`` to the business number ``phone_number_id``, with the
    senders' profiles."""
    senders = sorted({m["from"] for m in messages if "from" in m})
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {
            "display_phone_number": business_number,
            "phone_number_id": phone_number_id,
        },
        "contacts": [
            {"profile": {"name": profile_name}, "wa_id": sender}
            for sender in senders
            if profile_name is not None
        ],
        "messages": list(messages),
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }


def signed(app_secret: str, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """The raw body and the headers Meta sends with it."""
    raw = json.dumps(body).encode()
    digest = hmac.new(app_secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}


def post_signed(client: httpx.Client, app_secret: str, body: dict[str, Any]) -> httpx.Response:
    """POST the call without the client's cookies or ``Origin`` (Meta has neither)."""
    raw, headers = signed(app_secret, body)
    request = client.build_request("POST", WEBHOOK_PATH, content=raw, headers=headers)
    request.headers.pop("Origin", None)
    request.headers.pop("Cookie", None)
    return client.send(request)


def post_inbound(client: httpx.Client, app_secret: str, body: dict[str, Any]) -> httpx.Response:
    """``post_signed``, answered 200."""
    response = post_signed(client, app_secret, body)
    assert response.status_code == 200, response.text
    return response
