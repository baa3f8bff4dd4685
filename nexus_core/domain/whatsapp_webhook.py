"""The WhatsApp Cloud API webhook: what one call carries, its signature and its handshake.

Meta posts ``{"object": "whatsapp_business_account", "entry": [{"id", "changes": [{"field",
"value"}]}]}``. A change of field ``messages`` carries in its ``value`` the ``statuses`` of the
messages we sent (the receipts) and the ``messages`` people sent us (inbound messages, read
with the value's ``metadata`` and the senders' ``contacts``). ``parse_webhook`` takes the
decoded JSON value (the HTTP layer decodes the bytes) and is tolerant of what it does not read
— unknown members, other objects, other change fields, statuses it does not know — and strict
about what it reads: a missing or wrong-typed member it needs is a ``MalformedWebhook`` naming
the place (``entry.0.changes.1.value.statuses.0.id``), and then nothing of the call is applied.

Every call is signed: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body with the
app secret>``. Subscribing the callback is a handshake: ``hub.mode=subscribe``,
``hub.verify_token`` and ``hub.challenge``, whose challenge is echoed when the token matches.
Secrets are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from nexus_core.domain.deliveries import RECEIPT_STATUSES, ReceiptStatus
from nexus_core.domain.inbound_messages import InboundMessage, describe, digits
from nexus_core.errors import FieldError, Forbidden, Unauthenticated, ValidationFailed

WHATSAPP_BUSINESS_ACCOUNT = "whatsapp_business_account"
SIGNATURE_PREFIX = "sha256="
SUBSCRIBE = "subscribe"
# The length of ``deliveries.provider_message_id``: a longer id names no message of ours.
PROVIDER_MESSAGE_ID_MAX = 255

_KNOWN_STATUSES: dict[str, ReceiptStatus] = {status: status for status in RECEIPT_STATUSES}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LATEST_SECONDS = int((datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC) - _EPOCH).total_seconds())
# Control characters (NUL above all, which PostgreSQL refuses in text) and lone surrogates
# (which no database encoding takes) never appear in an id we stored.
_UNSTORABLE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


class MalformedWebhook(ValidationFailed):
    """The payload lacks something it needs, or has it with the wrong type, at ``path``
    (``field.required``, ``field.wrong_type`` or ``field.invalid``): a 400, nothing applied."""

    def __init__(self, path: str, code: str) -> None:
        super().__init__([FieldError(path, code)])


@dataclass(frozen=True, slots=True)
class Receipt:
    """One status callback for a message we sent: its id at the provider (``wamid.…``), the
    status as Meta names it (possibly one we do not handle, e.g. ``deleted``), and when."""

    provider_message_id: str
    status: str
    timestamp: datetime

    @property
    def receipt_status(self) -> ReceiptStatus | None:
        """The status as the delivery rules know it, or ``None`` for one they ignore."""
        return _KNOWN_STATUSES.get(self.status)

    @property
    def could_name_a_message(self) -> bool:
        """Whether the id could be one we stored; any other names no delivery, so it is never
        looked up."""
        return could_be_stored(self.provider_message_id)


def could_be_stored(message_id: str) -> bool:
    """Whether a provider message id fits where we store ids: not empty, not too long, free
    of characters a database refuses."""
    return 0 < len(message_id) <= PROVIDER_MESSAGE_ID_MAX and _UNSTORABLE.search(message_id) is None


@dataclass(frozen=True, slots=True)
class WebhookEvents:
    """What one webhook call carries that we act on, in payload order."""

    receipts: tuple[Receipt, ...] = ()
    inbound: tuple[InboundMessage, ...] = ()


@dataclass(slots=True)
class _Found:
    """What the readers collect while going through one payload, and the change value being
    read (its ``metadata`` and ``contacts`` describe its ``messages``)."""

    receipts: list[Receipt] = field(default_factory=list)
    inbound: list[InboundMessage] = field(default_factory=list)
    value: dict[str, Any] = field(default_factory=dict)


def parse_webhook(payload: object) -> WebhookEvents:
    """The events of a decoded webhook payload; ``MalformedWebhook`` when it is not shaped
    as the Cloud API sends it where we read it. A payload of another ``object`` carries
    nothing for us."""
    root = _object(payload, "")
    if root.get("object") != WHATSAPP_BUSINESS_ACCOUNT:
        return WebhookEvents()
    found = _Found()
    for e, entry in enumerate(_list(root, "entry", "")):
        entry_path = f"entry.{e}"
        changes = _list(_object(entry, entry_path), "changes", entry_path)
        for c, change in enumerate(changes):
            change_path = f"{entry_path}.changes.{c}"
            change_object = _object(change, change_path)
            if _text(change_object, "field", change_path) == "messages":
                value_path = f"{change_path}.value"
                _read_value(_object(change_object.get("value"), value_path), value_path, found)
    return WebhookEvents(receipts=tuple(found.receipts), inbound=tuple(found.inbound))


def _read_value(value: dict[str, Any], path: str, found: _Found) -> None:
    """Each list of the change value we read, item by item; lists we do not read (``contacts``,
    ``errors``) are left alone."""
    found.value = value
    for member, read in _VALUE_READERS.items():
        items = value.get(member)
        if items is None:
            continue
        member_path = f"{path}.{member}"
        if not isinstance(items, list):
            raise MalformedWebhook(member_path, "field.wrong_type")
        for i, item in enumerate(items):
            item_path = f"{member_path}.{i}"
            read(_object(item, item_path), item_path, found)


def _read_status(status: dict[str, Any], path: str, found: _Found) -> None:
    found.receipts.append(
        Receipt(
            provider_message_id=_text(status, "id", path),
            status=_text(status, "status", path),
            timestamp=_timestamp(status.get("timestamp"), f"{path}.timestamp"),
        )
    )


def _read_message(message: dict[str, Any], path: str, found: _Found) -> None:
    """An inbound message, read with the number that received it (the value's ``metadata``)
    and the sender's profile name (the value's ``contacts``, by ``wa_id``)."""
    value_path = path.rsplit(".messages.", 1)[0]
    metadata = _object(found.value.get("metadata"), f"{value_path}.metadata")
    sender = _text(message, "from", path)
    kind = _text(message, "type", path)
    found.inbound.append(
        InboundMessage(
            provider_message_id=_text(message, "id", path),
            phone_number_id=_text(metadata, "phone_number_id", f"{value_path}.metadata"),
            business_number=digits(_optional_text(metadata, "display_phone_number")),
            sender=sender,
            profile_name=_profile_name(found.value.get("contacts"), sender),
            kind=kind,
            text=describe(kind, message),
            timestamp=(
                None
                if message.get("timestamp") is None
                else _timestamp(message["timestamp"], f"{path}.timestamp")
            ),
        )
    )


def _optional_text(parent: dict[str, Any], member: str) -> str | None:
    value = parent.get(member)
    return value if isinstance(value, str) else None


def _profile_name(contacts: object, sender: str) -> str | None:
    """The profile name Meta gives for ``sender`` in the value's ``contacts``, if any."""
    for contact in contacts if isinstance(contacts, list) else ():
        if isinstance(contact, dict) and contact.get("wa_id") == sender:
            profile = contact.get("profile")
            if isinstance(profile, dict):
                return _optional_text(profile, "name")
    return None


# The lists of a ``messages`` change value that we read, and how to read one item of each.
_VALUE_READERS: dict[str, Callable[[dict[str, Any], str, _Found], None]] = {
    "statuses": _read_status,
    "messages": _read_message,
}


def _object(value: object, path: str) -> dict[str, Any]:
    if value is None:
        raise MalformedWebhook(path, "field.required")
    if not isinstance(value, dict):
        raise MalformedWebhook(path, "field.wrong_type")
    return value


def _list(parent: dict[str, Any], member: str, path: str) -> list[Any]:
    value = parent.get(member)
    member_path = f"{path}.{member}" if path else member
    if value is None:
        raise MalformedWebhook(member_path, "field.required")
    if not isinstance(value, list):
        raise MalformedWebhook(member_path, "field.wrong_type")
    return value


def _text(parent: dict[str, Any], member: str, path: str) -> str:
    value = parent.get(member)
    member_path = f"{path}.{member}"
    if value is None:
        raise MalformedWebhook(member_path, "field.required")
    if not isinstance(value, str):
        raise MalformedWebhook(member_path, "field.wrong_type")
    return value


def _timestamp(value: object, path: str) -> datetime:
    """Unix seconds, as the Cloud API writes them (a string of digits; a number is taken too)."""
    if value is None:
        raise MalformedWebhook(path, "field.required")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedWebhook(path, "field.wrong_type")
    if isinstance(value, int):
        seconds = value
    elif value.isascii() and value.isdigit() and len(value) <= 12:
        seconds = int(value)
    else:
        raise MalformedWebhook(path, "field.invalid")
    if not 0 <= seconds <= _LATEST_SECONDS:
        raise MalformedWebhook(path, "field.invalid")
    return _EPOCH + timedelta(seconds=seconds)


def _bytes(text: str) -> bytes:
    # Any string, even one with lone surrogates, becomes bytes that only it becomes.
    return text.encode("utf-8", "surrogatepass")


def signature(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with ``body``."""
    digest = hmac.new(_bytes(app_secret), body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_PREFIX}{digest}"


def verify_signature(app_secret: str, body: bytes, header: str | None) -> None:
    """Accept ``body`` only when ``header`` is its signature with ``app_secret``: without a
    ``sha256=`` one, ``Unauthenticated`` (401); with a wrong one, ``Forbidden`` (403)."""
    if header is None or not header.startswith(SIGNATURE_PREFIX):
        raise Unauthenticated("webhook.signature_missing")
    given = _bytes(header[len(SIGNATURE_PREFIX) :].lower())
    expected = _bytes(signature(app_secret, body)[len(SIGNATURE_PREFIX) :])
    if not hmac.compare_digest(given, expected):
        raise Forbidden("webhook.signature_invalid")


def handshake_challenge(
    mode: str | None, token: str | None, challenge: str | None, verify_token: str | None
) -> str:
    """The challenge to echo when subscribing the callback. A missing parameter (or a mode
    other than ``subscribe``) is a 400 naming it; a token other than ``verify_token``, or no
    ``verify_token`` configured at all, is ``Forbidden`` (403)."""
    given = {"hub.mode": mode, "hub.verify_token": token, "hub.challenge": challenge}
    errors = [FieldError(name, "field.required") for name, value in given.items() if not value]
    if mode and mode != SUBSCRIBE:
        errors.append(FieldError("hub.mode", "field.invalid"))
    if errors or not token or not challenge:
        raise ValidationFailed(errors)
    if verify_token is None or not hmac.compare_digest(_bytes(token), _bytes(verify_token)):
        raise Forbidden("webhook.verify_token_invalid")
    return challenge
