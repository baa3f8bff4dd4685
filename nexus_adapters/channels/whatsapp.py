"""The WhatsApp Cloud API channel: ``POST {base}/{phone_number_id}/messages`` with the user's
bearer token, one pooled ``httpx.Client`` per channel (thread-safe).

How an answer is classified (API.md, "Channels and delivery receipts"):

- 2xx: ``sent``, the id is ``messages[0].id`` (``None`` if the body lacks it);
- a Cloud API error code named here decides: 190 and the other token or permission codes
  (0, 3, 10, 200-299) ``bad_credentials``; 130429, 131016, 131000, 131057 and the other rate
  limits (4, 80007, 131056) ``retryable``; 131026 (not a WhatsApp user) and 131050 (the user
  stopped marketing messages) ``permanent``;
- otherwise the HTTP status decides: 401 ``bad_credentials``, 429 and 5xx ``retryable``,
  anything else (other 4xx) ``permanent``;
- no connection could be opened (refused, DNS, connect or pool timeout): ``retryable``;
- a timeout or a dropped connection once the request was being sent: ``unknown_outcome``.

The error is the Cloud API code (``"131026"``) when the body has one, else ``http_<status>``;
``connect_failed``, ``connect_timeout``, ``timeout`` and ``connection_lost`` name transport
failures, ``missing_credentials`` and ``invalid_token`` an account that cannot be used.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import httpx

from nexus_adapters.config import Settings
from nexus_adapters.http_api import DEFAULT_TIMEOUT, HttpApiClient
from nexus_core.domain.outbound import ChannelAccount, OutboundMessage, SendResult
from nexus_core.domain.retry_policy import ChannelOutcome

DEFAULT_MAX_CONNECTIONS = 32

BAD_CREDENTIAL_CODES = frozenset({0, 3, 10, 190, *range(200, 300)})
RETRYABLE_CODES = frozenset({130429, 131016, 131000, 131057, 4, 80007, 131056})
PERMANENT_CODES = frozenset({131026, 131050})
_TOKEN = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces
# Failures raised before any byte of the request could leave: safe to try again.
_NEVER_LEFT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)


class WhatsAppCloudChannel(HttpApiClient):
    """Sends ``whatsapp`` messages through the Cloud API at ``base_url``
    (``NEXUS_WHATSAPP_API_URL``, e.g. ``https://graph.facebook.com/v21.0``)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        super().__init__(timeout=timeout, max_connections=max_connections)

    @classmethod
    def from_settings(cls, settings: Settings) -> WhatsAppCloudChannel:
        return cls(settings.whatsapp_api_url)

    def send(self, account: ChannelAccount, message: OutboundMessage) -> SendResult:
        if message.channel != "whatsapp":
            raise ValueError(f"a {message.channel} message cannot go through WhatsApp")
        token, phone_number_id = account.whatsapp_token, account.whatsapp_phone_number_id
        if token is None or not token.value or not phone_number_id:
            return SendResult.failed("bad_credentials", "missing_credentials")
        if not _TOKEN.fullmatch(token.value):
            # No access token looks like this; as a header it would not even leave.
            return SendResult.failed("bad_credentials", "invalid_token")
        try:
            response = self._client.post(
                f"{self._base_url}/{quote(phone_number_id, safe='')}/messages",
                content=json.dumps(message_body(message), ensure_ascii=False).encode("utf-8"),
                headers={
                    "Authorization": f"Bearer {token.value}",
                    "Content-Type": "application/json",
                },
            )
        except _NEVER_LEFT as error:
            code = "connect_timeout" if isinstance(error, httpx.TimeoutException) else None
            return SendResult.failed("retryable", code or "connect_failed")
        except httpx.TimeoutException:
            return SendResult.failed("unknown_outcome", "timeout")
        except httpx.HTTPError:
            # Dropped while sending or before the answer, or an answer we could not read.
            return SendResult.failed("unknown_outcome", "connection_lost")
        return classify_response(response.status_code, response.content)


def message_body(message: OutboundMessage) -> dict[str, Any]:
    """The Cloud API's JSON for ``message``: a template, a media message with its caption
    (audio has none), or a text."""
    body: dict[str, Any] = {"messaging_product": "whatsapp", "to": message.to.removeprefix("+")}
    if message.template is not None:
        template: dict[str, Any] = {
            "name": message.template.name,
            "language": {"code": message.template.language},
        }
        if message.template.body_params:
            parameters = [{"type": "text", "text": p} for p in message.template.body_params]
            template["components"] = [{"type": "body", "parameters": parameters}]
        body.update(type="template", template=template)
    elif message.media_url is not None and message.media_type is not None:
        media: dict[str, str] = {"link": message.media_url}
        if message.text and message.media_type != "audio":
            media["caption"] = message.text
        body.update({"type": message.media_type, message.media_type: media})
    else:
        body.update(type="text", text={"body": message.text})
    return body


def classify_response(status: int, content: bytes) -> SendResult:
    """The outcome of an HTTP answer of the Cloud API (see the module's docstring)."""
    payload = _json(content)
    if 200 <= status < 300:
        return SendResult.sent(_message_id(payload))
    code = _error_code(payload)
    error = str(code) if code is not None else f"http_{status}"
    return SendResult.failed(_outcome(status, code), error)


def _outcome(status: int, code: int | None) -> ChannelOutcome:
    # A code the contract names decides; otherwise the HTTP status does.
    if code in BAD_CREDENTIAL_CODES:
        return "bad_credentials"
    if code in RETRYABLE_CODES:
        return "retryable"
    if code in PERMANENT_CODES:
        return "permanent"
    if status == 401:
        return "bad_credentials"
    if status == 429 or status >= 500:
        return "retryable"
    return "permanent"


def _json(content: bytes) -> object:
    try:
        return json.loads(content)
    except ValueError:
        return None


def _message_id(payload: object) -> str | None:
    if isinstance(payload, dict):
        messages = payload.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[0], dict):
            message_id = messages[0].get("id")
            if isinstance(message_id, str) and message_id:
                return message_id
    return None


def _error_code(payload: object) -> int | None:
    if isinstance(payload, dict):
        error = payload.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            if isinstance(code, int) and not isinstance(code, bool):
                return code
    return None
