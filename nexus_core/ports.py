"""What the use cases need from the outside world, as Protocols.

Adapters implement these; ``nexus_core.testing`` has in-memory fakes of each.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol, Self

from nexus_core.domain.rate_limits import WindowCount
from nexus_core.domain.sessions import Session
from nexus_core.domain.users import Registration, User


class UserRepository(Protocol):
    def add(self, registration: Registration, password_hash: str, now: datetime) -> User:
        """Store a new user; raise ``Conflict("user.email_taken")`` if the email is taken."""
        ...

    def get(self, user_id: int) -> User | None: ...

    def get_by_email(self, email: str) -> User | None:
        """Look a user up by normalised email."""
        ...

    def get_for_update(self, user_id: int) -> User | None:
        """Like ``get``, and no other unit of work may change the user until this one ends."""
        ...

    def save(self, user: User) -> None:
        """Write back the profile, preferences and credentials of an existing user.

        Email, password hash and timestamps other than ``updated_at`` have their own methods,
        so a save from a stale copy can never restore an old password.
        """
        ...

    def record_login(self, user_id: int, now: datetime) -> None: ...

    def set_password_hash(self, user_id: int, password_hash: str, now: datetime) -> None: ...

    def delete(self, user_id: int) -> None:
        """Remove the user and everything they own."""
        ...


class SessionRepository(Protocol):
    def add(self, user_id: int, token_hash: str, now: datetime) -> Session: ...

    def find_with_user(self, token_hash: str) -> tuple[Session, User] | None:
        """The session with this token hash and its user, in one lookup."""
        ...

    def touch(self, session_id: int, now: datetime) -> None: ...

    def revoke(self, session_id: int) -> None: ...

    def revoke_all_for_user(self, user_id: int, except_session_id: int | None = None) -> int:
        """Revoke the user's sessions but one; return how many were revoked."""
        ...

    def purge_expired(self, idle_before: datetime, created_before: datetime) -> int: ...


class RateCounterRepository(Protocol):
    def hit(self, key: str, now: datetime, window: timedelta) -> WindowCount:
        """Count one event for ``key`` atomically, starting a new window if the last one ended."""
        ...

    def peek(self, key: str) -> WindowCount | None: ...

    def clear(self, key: str) -> None: ...


class UnitOfWork(Protocol):
    """One transaction over the repositories; rolls back unless ``commit()`` was called."""

    users: UserRepository
    sessions: SessionRepository
    rate_counters: RateCounterRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self, *, write: bool = False) -> UnitOfWork:
        """A new unit of work; ``write=True`` takes the write lock up front where that matters.

        A reader (``write=False``) must only read: the SQL adapters run its statements as
        separate snapshots, so writes made through it would not be transactional.
        """
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password: str, password_hash: str) -> bool:
        """Compare in constant time; a malformed hash is simply ``False``."""
        ...

    @property
    def decoy_hash(self) -> str:
        """A valid hash of no one's password, verified against when the email is unknown."""
        ...


class TokenGenerator(Protocol):
    def new_token(self) -> str:
        """A fresh 256-bit random token, URL-safe."""
        ...

    def hash_token(self, token: str) -> str:
        """The stored form of a token (a one-way digest)."""
        ...


class SecretBox(Protocol):
    def encrypt(self, plaintext: str) -> str: ...

    def decrypt(self, ciphertext: str) -> str: ...


Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware UTC."""
