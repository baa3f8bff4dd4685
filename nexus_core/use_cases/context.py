"""The ports and policies the use cases share, wired once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from nexus_core.domain.contact_files import ContactFileReader
from nexus_core.domain.rate_limits import IMPORTS_PER_MINUTE, AuthLimits, Limit
from nexus_core.domain.sessions import SessionPolicy
from nexus_core.ports import (
    Clock,
    MessageChannel,
    PasswordHasher,
    TextGenerator,
    TokenGenerator,
    UnitOfWorkFactory,
)


@dataclass(frozen=True, slots=True)
class Ports:
    uow: UnitOfWorkFactory
    hasher: PasswordHasher
    tokens: TokenGenerator
    clock: Clock
    contact_files: ContactFileReader
    sessions: SessionPolicy = field(default_factory=SessionPolicy)
    auth_limits: AuthLimits = field(default_factory=AuthLimits)
    # Imports per client address, and per user, in each window.
    import_limit: Limit = IMPORTS_PER_MINUTE
    # Gemini, and the WhatsApp channel that replies typed in a conversation leave through.
    text_generator: TextGenerator | None = None
    replies: MessageChannel | None = None
