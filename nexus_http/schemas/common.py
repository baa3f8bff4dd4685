"""Envelopes shared by every resource."""

from __future__ import annotations

from datetime import datetime

import msgspec


class MessageOut(msgspec.Struct):
    message: str


def rfc3339(moment: datetime | None) -> str | None:
    """``2026-11-26T14:03:00Z``: UTC, seconds precision, ``Z`` suffix."""
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
