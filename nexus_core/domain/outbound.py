"""One message ready to leave through a channel, the account it leaves from, and what the
channel answered (API.md, "Campaigns" and "Channels and delivery receipts").

Everything here is already rendered per contact: placeholders are filled before a message is
built, so a channel only shapes and sends it.
"""

from __future__ import annotations

from dataclasses import dataclass

from nexus_core.domain.api_keys import Secret
from nexus_core.domain.audience import Channel
from nexus_core.domain.campaigns import MediaType
from nexus_core.domain.retry_policy import ChannelOutcome
from nexus_core.domain.users import Credentials


@dataclass(frozen=True, slots=True)
class RenderedTemplate:
    """An approved WhatsApp template with its body parameters rendered for one contact."""

    name: str
    language: str
    body_params: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboundMessage:
    """One message to one recipient.

    ``to`` is an E.164 phone (WhatsApp) or an email address. ``text`` is the rendered body, or
    the caption of a media message. ``subject`` and ``unsubscribe_url`` (the one-click opt-out
    link) are email's; ``media_url``/``media_type`` and ``template`` are WhatsApp's. A
    ``template`` replaces the text: the Cloud API sends only templates outside the 24-hour
    window.
    """

    channel: Channel
    to: str
    text: str
    subject: str | None = None
    media_url: str | None = None
    media_type: MediaType | None = None
    template: RenderedTemplate | None = None
    unsubscribe_url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelAccount:
    """What a channel needs of the sending user. The secrets are ``Secret`` values, so neither
    ``repr`` nor ``str`` ever shows them.

    ``gmail_app_password`` is the profile's ``gmail_api_key``: for SMTP it is the Gmail app
    password.
    """

    whatsapp_token: Secret | None = None
    whatsapp_phone_number_id: str | None = None
    gmail_address: str | None = None
    gmail_app_password: Secret | None = None

    @classmethod
    def from_credentials(cls, credentials: Credentials) -> ChannelAccount:
        return cls(
            whatsapp_token=credentials.whatsapp_api_key,
            whatsapp_phone_number_id=credentials.whatsapp_phone_number_id,
            gmail_address=credentials.gmail_address,
            gmail_app_password=credentials.gmail_api_key,
        )


@dataclass(frozen=True, slots=True)
class SendResult:
    """A channel's answer, classified.

    ``provider_message_id`` is the provider's id of an accepted message (the Cloud API's
    ``wamid.…``, an email's ``Message-ID``), matched later by delivery receipts. ``error`` is a
    short machine-readable code (``131026``, ``http_503``, ``smtp_550``, ``timeout``,
    ``connect_failed``): never a secret, an address or a message body.
    """

    outcome: ChannelOutcome
    provider_message_id: str | None = None
    error: str | None = None

    @classmethod
    def sent(cls, provider_message_id: str | None) -> SendResult:
        return cls("sent", provider_message_id)

    @classmethod
    def failed(cls, outcome: ChannelOutcome, error: str) -> SendResult:
        return cls(outcome, None, error)
