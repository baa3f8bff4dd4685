"""What a channel's answer means for a delivery, and when a retryable failure is tried again.

A channel classifies each call (API.md, "Channels and delivery receipts"):

- ``sent``: accepted; the delivery is ``sent``;
- ``retryable``: HTTP 429/5xx, Cloud API 130429, 131016, 131000, 131057, SMTP 4xx, or no
  connection could be opened. Tried again after a wait, at most ``MAX_ATTEMPTS`` calls in all;
- ``permanent``: invalid number, Cloud API 131026, 131050, SMTP 5xx. The delivery fails;
- ``bad_credentials``: Cloud API 190, SMTP 535. The delivery fails and so does the campaign;
- ``unknown_outcome``: a timeout or crash after the request left. Never retried automatically
  (it may have arrived): the delivery fails with error ``unknown_outcome``.

``attempts_made`` always counts calls to the channel, the one just answered included (the
dispatcher records an attempt before it calls). Waits start near ``FIRST_WAIT`` and double:
about 2 s, 4 s and 8 s, each stretched or shrunk by at most ``JITTER`` so that deliveries that
failed together (a 429 burst) do not come back together. The jitter comes from a random source
passed in (``random.Random(seed)`` in tests), so the rule itself stays deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from nexus_core.domain.deliveries import DeliveryStatus

ChannelOutcome = Literal["sent", "retryable", "permanent", "bad_credentials", "unknown_outcome"]
CHANNEL_OUTCOMES: tuple[ChannelOutcome, ...] = (
    "sent",
    "retryable",
    "permanent",
    "bad_credentials",
    "unknown_outcome",
)

MAX_ATTEMPTS = 4
FIRST_WAIT = timedelta(seconds=2)
# Each wait is its nominal value times a factor in [1 - JITTER, 1 + JITTER]. Below 1/3, a
# wait is always longer than the one before it, whatever the draws.
JITTER = 0.2


class RandomSource(Protocol):
    """Anything with ``random() -> float`` in [0, 1): ``random.Random(seed)``,
    ``random.SystemRandom()`` or the ``random`` module itself."""

    def random(self) -> float: ...


def retry_wait(attempts_made: int, rng: RandomSource) -> timedelta | None:
    """How long to wait before the next call after ``attempts_made`` calls (no wait before the
    first), or ``None`` once ``MAX_ATTEMPTS`` calls have been made: give up."""
    if attempts_made < 0:
        raise ValueError(f"attempts_made must not be negative, got {attempts_made}")
    if attempts_made == 0:
        return timedelta(0)
    if attempts_made >= MAX_ATTEMPTS:
        return None
    draw = min(max(rng.random(), 0.0), 1.0)
    factor = 1.0 + JITTER * (2.0 * draw - 1.0)
    return FIRST_WAIT * (1 << (attempts_made - 1)) * factor


def next_attempt_at(attempts_made: int, now: datetime, rng: RandomSource) -> datetime | None:
    """When a delivery whose last call (of ``attempts_made``) failed retryably at ``now`` may be
    tried again; ``None`` means give up: the delivery fails."""
    wait = retry_wait(attempts_made, rng)
    return None if wait is None else now + wait


@dataclass(frozen=True, slots=True)
class Verdict:
    """What becomes of a delivery after a call to its channel.

    ``status`` is ``sent``, ``pending`` (tried again at ``retry_at``) or ``failed``;
    ``fails_campaign`` when the channel refused the credentials. The error stored on a failed
    delivery is the channel's own, except ``unknown_outcome``, which the contract names.
    """

    status: DeliveryStatus
    retry_at: datetime | None = None
    fails_campaign: bool = False


def after_outcome(
    outcome: ChannelOutcome, attempts_made: int, now: datetime, rng: RandomSource
) -> Verdict:
    """The delivery's fate after the call number ``attempts_made`` answered ``outcome`` at
    ``now`` (``attempts_made`` is at least 1: an answer needs a call)."""
    if attempts_made < 1:
        raise ValueError(f"an outcome follows at least one call, got {attempts_made}")
    if outcome == "sent":
        return Verdict("sent")
    if outcome == "retryable":
        retry_at = next_attempt_at(attempts_made, now, rng)
        return Verdict("failed") if retry_at is None else Verdict("pending", retry_at)
    if outcome == "bad_credentials":
        return Verdict("failed", fails_campaign=True)
    return Verdict("failed")  # permanent, unknown_outcome
