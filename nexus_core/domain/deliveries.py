"""Deliveries: one per campaign and recipient; their statuses, receipts, and the counters.

Statuses: ``pending`` (not sent yet, or waiting for a retry), ``sent``, ``delivered``,
``read``, ``failed`` and ``skipped`` (never attempted: opted out after the snapshot, or the
campaign was cancelled).

Receipts (the channel's status callbacks) only move a delivery forward along
``pending < sent < delivered < read``: a late or repeated one changes nothing. A ``failed``
receipt moves a ``pending`` or ``sent`` delivery to ``failed``; once ``delivered`` or ``read``
the message is known to have arrived, so a ``failed`` receipt is ignored (the counters of a
delivered message never fall back). ``failed`` and ``skipped`` are final for receipts: only the
user's ``retry-failed`` turns ``failed`` back to ``pending``. A receipt for a ``pending``
delivery is applied: it proves the message left, and keeping it pending could send it twice.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from nexus_core.domain.audience import Channel
from nexus_core.domain.campaigns import MediaType, WhatsAppTemplate

DeliveryStatus = Literal["pending", "sent", "delivered", "read", "failed", "skipped"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = (
    "pending",
    "sent",
    "delivered",
    "read",
    "failed",
    "skipped",
)
ReceiptStatus = Literal["sent", "delivered", "read", "failed"]
RECEIPT_STATUSES: tuple[ReceiptStatus, ...] = ("sent", "delivered", "read", "failed")
# Statuses no receipt changes.
FINAL_STATUSES: frozenset[DeliveryStatus] = frozenset({"failed", "skipped"})

# How far along the way to the reader a delivery is; failed and skipped are off the way.
_PROGRESS: dict[str, int] = {"pending": 0, "sent": 1, "delivered": 2, "read": 3}
_MAY_FAIL: frozenset[str] = frozenset({"pending", "sent"})


def after_receipt(current: DeliveryStatus, receipt: ReceiptStatus) -> DeliveryStatus | None:
    """The delivery's status after ``receipt``, or ``None`` when the receipt is ignored
    (it would move the status backwards, repeats it, or the status is final)."""
    if current in FINAL_STATUSES:
        return None
    if receipt == "failed":
        return "failed" if current in _MAY_FAIL else None
    return receipt if _PROGRESS[receipt] > _PROGRESS[current] else None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One campaign's message to one recipient: the row the dispatcher works through.

    ``to`` and ``name`` are snapshots of the contact's address for the campaign's channel and
    of its name, taken when the campaign started (the message is rendered from them, even if
    the contact changes later). ``contact_id`` is ``None`` once the contact is deleted.
    ``attempts`` counts calls to the channel. A ``pending`` delivery is due at
    ``next_attempt_at``; other statuses have none.
    """

    id: int
    campaign_id: int
    user_id: int
    contact_id: int | None
    to: str
    name: str
    status: DeliveryStatus
    error: str | None
    attempts: int
    provider_message_id: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    """A campaign's counters, as the contract defines them from its deliveries.

    Each delivery counts once in ``pending_count``, ``sent_count`` (sent, delivered or read),
    ``failed_count`` or ``skipped_count``; ``delivered_count`` (delivered or read) and
    ``opened_count`` (read) are parts of ``sent_count``. ``clicked_count`` has no delivery
    status behind it and is not counted here.
    """

    pending_count: int = 0
    sent_count: int = 0
    delivered_count: int = 0
    opened_count: int = 0
    failed_count: int = 0
    skipped_count: int = 0

    @property
    def total_recipients(self) -> int:
        return self.pending_count + self.sent_count + self.failed_count + self.skipped_count

    @property
    def nothing_pending(self) -> bool:
        """True when an active campaign with these counts is complete."""
        return self.pending_count == 0

    def shifted(self, changes: Mapping[str, int]) -> DeliveryCounts:
        """These counts with ``changes`` (as ``counter_changes`` gives them) added."""
        return dataclasses.replace(
            self, **{name: getattr(self, name) + delta for name, delta in changes.items()}
        )


COUNTERS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(DeliveryCounts))

# The counters one delivery in each status adds to.
_COUNTED_IN: dict[str, tuple[str, ...]] = {
    "pending": ("pending_count",),
    "sent": ("sent_count",),
    "delivered": ("sent_count", "delivered_count"),
    "read": ("sent_count", "delivered_count", "opened_count"),
    "failed": ("failed_count",),
    "skipped": ("skipped_count",),
}


def counts_from_tally(tally: Mapping[DeliveryStatus, int]) -> DeliveryCounts:
    """The counters from how many deliveries there are in each status (a ``GROUP BY``)."""
    totals = dict.fromkeys(COUNTERS, 0)
    for status, how_many in tally.items():
        for name in _COUNTED_IN[status]:
            totals[name] += how_many
    return DeliveryCounts(**totals)


def count_deliveries(statuses: Iterable[DeliveryStatus]) -> DeliveryCounts:
    """The counters of deliveries with these statuses: the reference for a recount."""
    return counts_from_tally(Counter(statuses))


def counter_changes(old: DeliveryStatus | None, new: DeliveryStatus) -> dict[str, int]:
    """How the counters move when one delivery goes from ``old`` to ``new`` (``old`` is
    ``None`` for a new delivery): only the counters that change, each by +1 or -1.

    Applied to the stored counters in the same transaction as the delivery's change, they keep
    them equal to a recount without reading every delivery.
    """
    changes = dict.fromkeys(_COUNTED_IN[new], 1)
    for name in _COUNTED_IN[old] if old is not None else ():
        changes[name] = changes.get(name, 0) - 1
    return {name: delta for name, delta in changes.items() if delta}


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery the dispatcher has claimed, with what sending it needs.

    ``delivery`` is the row as claimed: still ``pending``, its ``attempts`` already counting
    the call about to be made (the attempt is recorded before the channel is called: send at
    most once). The campaign's content is copied as it was at claim time; ``phone`` and
    ``email`` are the contact's current ones, for the ``{phone}`` and ``{email}``
    placeholders (``delivery.to`` is the snapshot the message goes to). It may leave at
    ``send_at`` (the user's pace), not before. The claim holds until ``lease_expires_at``: after
    that, the delivery is reaped as ``unknown_outcome``.
    """

    delivery: Delivery
    worker_id: str
    lease_expires_at: datetime
    send_at: datetime
    channel: Channel
    subject: str | None
    message: str
    media_url: str | None
    media_type: MediaType | None
    whatsapp_template: WhatsAppTemplate | None
    phone: str | None
    email: str | None

    @property
    def user_id(self) -> int:
        """The campaign's owner, whose credentials and pace the sending uses."""
        return self.delivery.user_id

    @property
    def to(self) -> str:
        return self.delivery.to

    @property
    def name(self) -> str:
        return self.delivery.name


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a claimed delivery once its channel answered: ``status`` ``sent``,
    ``failed``, or ``pending`` to be tried again at ``next_attempt_at``; the ``error`` and the
    ``provider_message_id`` to keep."""

    delivery_id: int
    status: DeliveryStatus
    error: str | None = None
    provider_message_id: str | None = None
    next_attempt_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.status == "pending" and self.next_attempt_at is None:
            raise ValueError("a delivery tried again needs its next_attempt_at")
