"""Delivery receipts: the channel's status callbacks move the deliveries they name, and the
conversation replies (sent from the inbox or by the automation) they name.

The rules of one receipt are ``deliveries.after_receipt`` (never backwards; ``failed`` only
before the message is known to have arrived), applied by ``apply_receipt`` with the campaign's
counters; a reply's status follows the same rules (``conversations.moved_by_receipt``). A
provider id names a delivery or a reply, never both. Here: the receipts of one webhook call,
oldest first, each in a unit of work of its own. Applying one locks its campaign (PostgreSQL);
one transaction for a whole call would hold several campaigns' locks in payload order, and two
calls naming the same campaigns in opposite orders could deadlock. Should one fail, those
before it stay applied: Meta repeats a call that did not answer 200, and a repeated receipt
changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from operator import attrgetter

from nexus_core.domain.whatsapp_webhook import Receipt
from nexus_core.use_cases.context import Ports


def record_receipts(ports: Ports, receipts: Sequence[Receipt], now: datetime) -> int:
    """Apply ``receipts`` (updated ``now``); how many changed a delivery or a reply.

    They are applied in the order they happened (their timestamps; the payload's order among
    equal ones), so a ``delivered`` and a ``failed`` of one message in one call end as they
    would have arrived one by one. A status the delivery rules do not know, an id that names
    neither a delivery nor a reply, a repeated or late receipt change nothing. Without anything
    to apply no unit of work is opened.
    """
    wanted = [
        (receipt.provider_message_id, status)
        for receipt in sorted(receipts, key=attrgetter("timestamp"))
        if (status := receipt.receipt_status) is not None and receipt.could_name_a_message
    ]
    applied = 0
    for message_id, status in wanted:
        with ports.uow(write=True) as uow:
            moved = uow.deliveries.apply_receipt(message_id, status, now)
            if not moved:
                moved = uow.conversations.apply_receipt(message_id, status)
            uow.commit()
        applied += moved
    return applied
