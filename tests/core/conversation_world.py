"""A user with WhatsApp (and optionally Gemini) on the in-memory fakes, for the use cases of
conversations and the AI automation."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime
from typing import Any

from nexus_core.domain.inbound_messages import InboundMessage
from nexus_core.domain.outbound import ChannelAccount, OutboundMessage, SendResult
from nexus_core.testing.fakes import (
    FakeClock,
    FakeContactFileReader,
    FakeHasher,
    FakeStore,
    FakeTokens,
)
from nexus_core.testing.text_generator_fakes import FakeTextGenerator
from nexus_core.use_cases import accounts, profile
from nexus_core.use_cases.context import Ports

PHONE_NUMBER_ID = "1098765"
WHATSAPP = {"whatsapp_api_key": "EAAG-token-1234", "whatsapp_phone_number_id": PHONE_NUMBER_ID}
GEMINI = {"gemini_api_key": "AIza-test-key-5678", "gemini_auto_reply_enabled": True}
_ids = itertools.count(1)


class RecordingChannel:
    """A ``MessageChannel`` that records every message and answers from a script (then
    ``sent`` with a fresh id)."""

    def __init__(self, *script: SendResult) -> None:
        self.sent: list[tuple[ChannelAccount, OutboundMessage]] = []
        self._script = list(script)

    def send(self, account: ChannelAccount, message: OutboundMessage) -> SendResult:
        self.sent.append((account, message))
        if self._script:
            return self._script.pop(0)
        return SendResult.sent(f"wamid.out.{next(_ids)}")


@dataclasses.dataclass
class World:
    store: FakeStore
    clock: FakeClock
    ports: Ports
    channel: RecordingChannel
    gemini: FakeTextGenerator

    def user(self, email: str = "ana@example.com", **settings: Any) -> int:
        logged_in = accounts.register(
            self.ports, email=email, password="una-clave-larga", name="Ana"
        )
        user_id = logged_in.user.id
        if settings:
            profile.update_profile(self.ports, user_id, settings)
        return user_id

    def message(
        self,
        text: str,
        sender: str = "34600111222",
        *,
        wamid: str | None = None,
        phone_number_id: str = PHONE_NUMBER_ID,
        sent_at: datetime | None = None,
    ) -> InboundMessage:
        return InboundMessage(
            provider_message_id=f"wamid.in.{next(_ids)}" if wamid is None else wamid,
            phone_number_id=phone_number_id,
            business_number="34910000000",
            sender=sender,
            profile_name="Luis",
            kind="text",
            text=text,
            timestamp=sent_at or self.clock(),
        )


def world() -> World:
    store = FakeStore()
    clock = FakeClock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    channel = RecordingChannel()
    gemini = FakeTextGenerator()
    ports = Ports(
        uow=store,
        hasher=FakeHasher(),
        tokens=FakeTokens(),
        clock=clock,
        contact_files=FakeContactFileReader(),
        text_generator=gemini,
        replies=channel,
    )
    return World(store, clock, ports, channel, gemini)
