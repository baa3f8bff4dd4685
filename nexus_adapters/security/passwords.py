"""bcrypt password hashing (cost 12)."""

from __future__ import annotations

import threading

import bcrypt

from nexus_core.domain.passwords import PASSWORD_MAX_BYTES

BCRYPT_COST = 12
# A cost-12 hash of a random password nobody kept: what an unknown email is checked against,
# so that it takes as long as a wrong password from the very first request of a process.
_DECOY_COST_12 = "$2b$12$6VX6DzmcgCUu0K4nyyTprOm6bhyFFhs41VYHI6y8RCiRSBslVABx."


class BcryptHasher:
    """bcrypt with a bounded number of concurrent hashes per process.

    A hash costs about a quarter of a second of CPU (bcrypt releases the GIL meanwhile);
    bounding how many run at once leaves CPU for the rest of the API while logins run at full
    speed.
    """

    def __init__(self, cost: int = BCRYPT_COST, max_concurrent: int = 1) -> None:
        self._cost = cost
        self._slots = threading.BoundedSemaphore(max_concurrent)
        self._decoy: str | None = _DECOY_COST_12 if cost == BCRYPT_COST else None

    def hash(self, password: str) -> str:
        secret = _encode(password)
        with self._slots:
            return bcrypt.hashpw(secret, bcrypt.gensalt(self._cost)).decode("ascii")

    def verify(self, password: str, password_hash: str) -> bool:
        try:
            secret = _encode(password)
            stored = password_hash.encode("ascii")
        except (ValueError, UnicodeError):
            return False
        try:
            with self._slots:
                return bcrypt.checkpw(secret, stored)
        except ValueError:  # not a bcrypt hash
            return False

    @property
    def decoy_hash(self) -> str:
        """A hash of the same cost as real ones (made on first use for other costs)."""
        if self._decoy is None:
            self._decoy = self.hash("decoy password that matches no account")
        return self._decoy


def _encode(password: str) -> bytes:
    """UTF-8 bytes, refusing (never truncating) anything bcrypt would cut."""
    secret = password.encode("utf-8")
    if len(secret) > PASSWORD_MAX_BYTES:
        raise ValueError("password longer than bcrypt accepts")
    return secret
