"""Server-side login sessions and when they end."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """A session ends after ``idle`` without use or ``absolute`` after login, whichever is first.

    ``touch_every`` bounds how often use is written back, so reads stay reads.
    """

    idle: timedelta = timedelta(days=7)
    absolute: timedelta = timedelta(days=30)
    touch_every: timedelta = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Session:
    """A login. Only a hash of its token is ever stored."""

    id: int
    user_id: int
    token_hash: str
    created_at: datetime
    last_seen_at: datetime

    def expired(self, now: datetime, policy: SessionPolicy) -> bool:
        return now - self.last_seen_at >= policy.idle or now - self.created_at >= policy.absolute

    def needs_touch(self, now: datetime, policy: SessionPolicy) -> bool:
        return now - self.last_seen_at >= policy.touch_every

    def expires_at(self, policy: SessionPolicy) -> datetime:
        """The latest moment the session can live (its absolute end)."""
        return self.created_at + policy.absolute
