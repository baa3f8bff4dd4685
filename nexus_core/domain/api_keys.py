"""Channel credentials: a secret that never leaves as itself, and how a write changes it."""

from __future__ import annotations

from dataclasses import dataclass

MASK_PREFIX = "••••••••"
API_KEY_MAX = 4096
# Shorter secrets are masked whole: their last 4 characters would give too much of them away.
REVEAL_TAIL_FROM_LENGTH = 12


@dataclass(frozen=True, slots=True)
class Secret:
    """A plaintext secret held in memory; its ``repr`` never shows the value."""

    value: str

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    @property
    def masked(self) -> str:
        return mask(self.value)


def mask(secret: str) -> str:
    """What the outside world sees of a secret: a fixed prefix and its last 4 characters
    (only the prefix for a secret under ``REVEAL_TAIL_FROM_LENGTH`` characters)."""
    if len(secret) < REVEAL_TAIL_FROM_LENGTH:
        return MASK_PREFIX
    return MASK_PREFIX + secret[-4:]


def looks_masked(value: str) -> bool:
    return value.startswith(MASK_PREFIX)


def apply_key_write(current: Secret | None, written: str | None) -> Secret | None:
    """The key after a profile write: the mask keeps it, ``""``/``null`` clear it, else replace.

    A mask that does not match the current key's mask is still treated as "unchanged": a client
    echoing back any masked value never means to store the bullets as the key.
    """
    if written is None:
        return None
    cleaned = written.strip()
    if not cleaned:
        return None
    if looks_masked(cleaned):
        return current
    return Secret(cleaned)
