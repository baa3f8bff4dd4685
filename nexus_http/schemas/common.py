"""Envelopes shared by every resource."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec


class MessageOut(msgspec.Struct):
    message: str


def rfc3339(moment: datetime | None) -> str | None:
    """``2026-11-26T14:03:00Z``: UTC, seconds precision, ``Z`` suffix."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # naive values are UTC already
        return moment.isoformat(timespec="seconds") + "Z"
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")[:-6] + "Z"  # without "+00:00"
