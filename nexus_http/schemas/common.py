"""Envelopes shared by every resource."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from nexus_core.domain.pagination import Page


class MessageOut(msgspec.Struct):
    message: str


class PaginationOut(msgspec.Struct):
    page: int
    per_page: int
    total: int
    pages: int
    has_next: bool
    has_prev: bool

    @classmethod
    def of(cls, page: Page[object]) -> PaginationOut:
        return cls(
            page=page.page,
            per_page=page.per_page,
            total=page.total,
            pages=page.pages,
            has_next=page.has_next,
            has_prev=page.has_prev,
        )


def rfc3339(moment: datetime | None) -> str | None:
    """``2026-11-26T14:03:00Z``: UTC, seconds precision, ``Z`` suffix."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # naive values are UTC already
        return moment.isoformat(timespec="seconds") + "Z"
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")[:-6] + "Z"  # without "+00:00"
