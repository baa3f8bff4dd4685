"""The ports and policies the use cases share, wired once by the composition root."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from nexus_core.domain.contact_files import ContactFileReader
from nexus_core.domain.rate_limits import IMPORTS_PER_MINUTE, AuthLimits, Limit
from nexus_core.domain.sessions import SessionPolicy
from nexus_core.ports import (
    Clock,
    GroupWriter,
    MessageChannel,
    PasswordHasher,
    TextGenerator,
    TokenGenerator,
    UnitOfWork,
    UnitOfWorkFactory,
)

T = TypeVar("T")


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
    # Commits the short writes of concurrent requests together; without it each is its own.
    group_writer: GroupWriter | None = None

    def write(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run ``work`` in a write unit of work and commit it: ``work`` gets the unit of work,
        must not commit it, and may share its transaction with other callers' works (each in
        a savepoint of its own, undone alone when it raises). For short writes of one request
        whose only effects are in the database."""
        if self.group_writer is not None:
            return self.group_writer.run(work)
        with self.uow(write=True) as uow:
            result = work(uow)
            uow.commit()
        return result
