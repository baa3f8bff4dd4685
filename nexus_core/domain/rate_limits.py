"""Limits on how often something may happen, counted in fixed windows.

Counters live in the database so that every server process sees the same numbers.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Limit:
    """At most ``max_events`` in a window of ``window``; ``max_events == 0`` disables it."""

    max_events: int
    window: timedelta

    @property
    def enabled(self) -> bool:
        return self.max_events > 0


@dataclass(frozen=True, slots=True)
class WindowCount:
    """How many events a key has had in its current window, and when that window began."""

    count: int
    window_started_at: datetime

    def current(self, now: datetime, limit: Limit) -> int:
        """The count that still applies at ``now`` (0 once the window has passed)."""
        return 0 if now - self.window_started_at >= limit.window else self.count

    def retry_after(self, now: datetime, limit: Limit) -> int:
        """Whole seconds until the window ends."""
        remaining = (self.window_started_at + limit.window - now).total_seconds()
        return max(1, math.ceil(remaining))


@dataclass(frozen=True, slots=True)
class AuthLimits:
    """The contract's limits on authentication."""

    failed_logins_per_email: Limit = Limit(10, timedelta(minutes=15))
    auth_requests_per_address: Limit = Limit(300, timedelta(minutes=1))


# The contract's limit on contact imports; counted per client address and per user.
IMPORTS_PER_MINUTE = Limit(30, timedelta(minutes=1))


def _digest(text: str) -> str:
    # Keys hold whatever a client typed: a digest keeps them short and free of odd characters.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def failed_login_key(email: str) -> str:
    return f"login-attempts:{_digest(email)}"


def auth_address_key(address: str) -> str:
    return f"auth-requests:{_digest(address)}"


def import_address_key(address: str) -> str:
    return f"import-requests:{_digest(address)}"


def import_user_key(user_id: int) -> str:
    return f"import-requests:user:{user_id}"
