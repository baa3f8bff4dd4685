"""The answer to a WhatsApp webhook call."""

from __future__ import annotations

import msgspec


class WebhookAck(msgspec.Struct):
    """``receipts``: the status receipts the call carried; ``applied``: how many of them moved
    a delivery (the others were unknown, repeated, late or of a status we do not handle)."""

    ok: bool
    receipts: int
    applied: int
