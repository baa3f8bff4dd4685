"""The ports and policies the use cases share, wired once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass, field

from nexus_core.domain.rate_limits import AuthLimits
from nexus_core.domain.sessions import SessionPolicy
from nexus_core.ports import Clock, PasswordHasher, TokenGenerator, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class Ports:
    uow: UnitOfWorkFactory
    hasher: PasswordHasher
    tokens: TokenGenerator
    clock: Clock
    sessions: SessionPolicy = field(default_factory=SessionPolicy)
    auth_limits: AuthLimits = field(default_factory=AuthLimits)
