"""Inbound WhatsApp messages as the webhook carries them, and how each kind reads as text.

Meta posts the messages people send to a business number in the ``messages`` list of a change
value, beside ``metadata`` (which number received them: ``phone_number_id``,
``display_phone_number``) and ``contacts`` (the senders' profile names by ``wa_id``). A text
is kept as it is; media (image, video, audio, document, sticker) as a short description with
the media id, which is what the Cloud API gives to fetch the file; other kinds by what they
show (a button's text, a location's coordinates).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from nexus_core.domain.conversations import WHATSAPP_TEXT_MAX

MEDIA_KINDS = frozenset({"image", "video", "audio", "document", "sticker"})
# What a stored inbound text may hold at most (longer is cut: it is what the person sent, and
# the webhook never refuses a message for its length).
INBOUND_TEXT_MAX = WHATSAPP_TEXT_MAX
# NUL (which PostgreSQL refuses in text) and lone surrogates (which no encoding takes).
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message a person sent to a business number.

    ``phone_number_id`` names the receiving number (and so the user); ``sender`` is the
    sender's WhatsApp id (their phone's digits, no ``+``); ``business_number`` the receiving
    number's digits (a message from it is one of ours, echoed, never a person's).
    ``timestamp`` is when it was sent (``None`` when the payload lacks it).
    """

    provider_message_id: str
    phone_number_id: str
    business_number: str | None
    sender: str
    profile_name: str | None
    kind: str
    text: str
    timestamp: datetime | None

    def sent_at(self, now: datetime) -> datetime:
        """When it was sent, as far as we may believe it: never later than ``now`` (when it
        arrived), and ``now`` when the payload does not say."""
        return now if self.timestamp is None else min(self.timestamp, now)

    @property
    def from_business(self) -> bool:
        return self.business_number is not None and self.sender == self.business_number


def digits(text: str | None) -> str | None:
    """Only the digits of a phone as Meta writes it (``+34 600 11 12 22`` → ``34600111222``)."""
    if text is None:
        return None
    kept = "".join(c for c in text if c.isascii() and c.isdigit())
    return kept or None


def describe(kind: str, message: dict[str, Any]) -> str:
    """The text stored for a message of ``kind``: the body of a text, a description of the
    rest. Never fails: an unexpected shape reads as ``[kind]``."""
    part = message.get(kind)
    body = part if isinstance(part, dict) else {}
    if kind == "text":
        text = _string(body.get("body"))
    elif kind in MEDIA_KINDS:
        text = _media(kind, body)
    elif kind == "button":
        text = _string(body.get("text")) or "[button]"
    elif kind == "interactive":
        text = _interactive(body)
    elif kind == "location":
        text = _location(body)
    elif kind == "reaction":
        text = f"[reaction {_string(body.get('emoji'))}]".replace(" ]", "]")
    else:
        text = f"[{kind}]"
    return storable(text)[:INBOUND_TEXT_MAX]


def storable(text: str) -> str:
    """``text`` without the characters no database stores."""
    return _UNSTORABLE.sub("", text)


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""


def _media(kind: str, body: dict[str, Any]) -> str:
    media_id = _string(body.get("id"))
    described = f"[{kind} {media_id}]" if media_id else f"[{kind}]"
    caption = _string(body.get("caption")) or _string(body.get("filename"))
    return f"{described} {caption}" if caption else described


def _interactive(body: dict[str, Any]) -> str:
    for reply in ("button_reply", "list_reply"):
        chosen = body.get(reply)
        if isinstance(chosen, dict) and (title := _string(chosen.get("title"))):
            return title
    return "[interactive]"


def _location(body: dict[str, Any]) -> str:
    latitude, longitude = body.get("latitude"), body.get("longitude")
    where = " ".join(
        str(value) for value in (latitude, longitude) if isinstance(value, int | float)
    )
    name = _string(body.get("name"))
    return " ".join(part for part in ("[location", where + "]", name) if part).replace(" ]", "]")


@dataclass(frozen=True, slots=True)
class InboundOwner:
    """The user a business number belongs to, as the inbound pipeline needs them: whether
    their messages get an AI reply (``automation.replies_automatically``)."""

    user_id: int
    auto_reply: bool


@dataclass(frozen=True, slots=True)
class InboundContact:
    """The contact an inbound message is stored on (found by phone, or just created)."""

    id: int
    opted_out: bool


@dataclass(frozen=True, slots=True)
class StoredInbound:
    """An inbound message as the pipeline stored it: the contact it is on, and its id
    (``None`` when the user had a message with its provider id already: nothing changed)."""

    contact: InboundContact
    message_id: int | None
