"""Builds every adapter from the settings: the one place the outside world is wired up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from nexus_adapters.ai.gemini import GeminiTextGenerator
from nexus_adapters.channels.email import SmtpEmailChannel
from nexus_adapters.channels.whatsapp import WhatsAppCloudChannel
from nexus_adapters.config import Settings
from nexus_adapters.files import StreamingContactFileReader
from nexus_adapters.security.passwords import BcryptHasher
from nexus_adapters.security.secret_box import FernetSecretBox
from nexus_adapters.security.tokens import SessionTokens
from nexus_adapters.sql.engine import build_engine
from nexus_adapters.sql.group_commit import GroupCommitWriter
from nexus_adapters.sql.migrate import upgrade
from nexus_adapters.sql.secret_rotation import rotate_stored_secrets
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.audience import Channel
from nexus_core.domain.deliveries import ClaimedDelivery
from nexus_core.domain.rate_limits import AuthLimits, Limit
from nexus_core.domain.unsubscribe_links import UnsubscribeTokens
from nexus_core.ports import MessageChannel
from nexus_core.use_cases.context import Ports
from nexus_core.use_cases.dispatch import UnsubscribeLink


def utc_now() -> datetime:
    return datetime.now(UTC)


# Where the one-click unsubscribe links of campaign emails lead (served by the HTTP layer).
UNSUBSCRIBE_PATH = "/api/unsubscribe"


@dataclass(frozen=True, slots=True)
class Adapters:
    """Everything a process needs, built from one ``Settings``; ``close()`` releases it."""

    settings: Settings
    engine: Engine
    ports: Ports
    units_of_work: SqlUnitOfWorkFactory
    group_writer: GroupCommitWriter
    # Gemini, and the WhatsApp channel of replies typed in a conversation (``ports``' own).
    text_generator: GeminiTextGenerator | None = None
    replies: WhatsAppCloudChannel | None = None

    def database_ready(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    @property
    def unsubscribe_tokens(self) -> UnsubscribeTokens:
        return unsubscribe_tokens(self.settings)

    def close(self) -> None:
        if self.text_generator is not None:
            self.text_generator.close()
        if self.replies is not None:
            self.replies.close()
        self.group_writer.close()
        self.units_of_work.close()
        self.engine.dispose()


def build_adapters(settings: Settings) -> Adapters:
    settings = settings.with_secret_key()
    assert settings.secret_key is not None
    engine = build_engine(settings.database_url, settings.db_pool_size)
    secret_box = FernetSecretBox.from_settings(settings.encryption_keys, settings.secret_key)
    units_of_work = SqlUnitOfWorkFactory(engine, secret_box)
    group_writer = GroupCommitWriter(units_of_work)
    text_generator = GeminiTextGenerator.from_settings(settings)
    replies = WhatsAppCloudChannel.from_settings(settings)
    ports = Ports(
        uow=units_of_work,
        hasher=BcryptHasher(),
        tokens=SessionTokens(),
        clock=utc_now,
        contact_files=StreamingContactFileReader(),
        auth_limits=AuthLimits(
            auth_requests_per_address=Limit(settings.auth_rate_per_minute, timedelta(minutes=1))
        ),
        import_limit=Limit(settings.import_rate_per_minute, timedelta(minutes=1)),
        text_generator=text_generator,
        replies=replies,
        group_writer=group_writer,
    )
    return Adapters(settings, engine, ports, units_of_work, group_writer, text_generator, replies)


def unsubscribe_tokens(settings: Settings) -> UnsubscribeTokens:
    """Signs and reads unsubscribe links under ``SECRET_KEY``: server and workers agree."""
    settings = settings.with_secret_key()
    assert settings.secret_key is not None
    return UnsubscribeTokens(settings.secret_key)


def unsubscribe_links(settings: Settings) -> UnsubscribeLink:
    """The dispatcher's link for an email delivery:
    ``<NEXUS_PUBLIC_URL>/api/unsubscribe/<token>``, naming the delivery's contact."""
    tokens = unsubscribe_tokens(settings)
    prefix = f"{settings.public_base_url}{UNSUBSCRIBE_PATH}/"

    def link(claimed: ClaimedDelivery) -> str | None:
        contact_id = claimed.delivery.contact_id
        return None if contact_id is None else prefix + tokens.issue(claimed.user_id, contact_id)

    return link


@dataclass(frozen=True, slots=True)
class Channels:
    """The ways out, built from the settings (``NEXUS_WHATSAPP_API_URL``, ``NEXUS_SMTP_*``);
    ``close()`` releases WhatsApp's connection pool."""

    whatsapp: WhatsAppCloudChannel
    email: SmtpEmailChannel

    @property
    def by_channel(self) -> dict[Channel, MessageChannel]:
        return {"whatsapp": self.whatsapp, "email": self.email}

    def close(self) -> None:
        self.whatsapp.close()


def build_channels(settings: Settings) -> Channels:
    return Channels(
        whatsapp=WhatsAppCloudChannel.from_settings(settings),
        email=SmtpEmailChannel.from_settings(settings),
    )


def rotate_secrets(settings: Settings) -> int:
    """Re-encrypt stored API keys under the newest key (``nexus db rotate-keys``)."""
    settings = settings.with_secret_key()
    assert settings.secret_key is not None
    box = FernetSecretBox.from_settings(settings.encryption_keys, settings.secret_key)
    engine = build_engine(settings.database_url, 1)
    try:
        return rotate_stored_secrets(engine, box)
    finally:
        engine.dispose()


def migrate(settings: Settings) -> None:
    """Apply the schema migrations (``nexus db upgrade``; ``nexus serve`` runs it first)."""
    engine = build_engine(settings.database_url, 1)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
