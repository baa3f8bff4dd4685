"""Stored contacts: a contact's fields together with who owns it and its history."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from nexus_core.domain.contacts import ContactDraft, ContactStatus

ContactSource = Literal["manual", "import", "whatsapp"]
CONTACT_SOURCES: tuple[ContactSource, ...] = ("manual", "import", "whatsapp")
# A contact counts as recent (the contract's ``recent_contacts``/``new_contacts``) this long.
RECENT = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Contact:
    id: int
    user_id: int
    name: str
    phone: str | None
    email: str | None
    status: ContactStatus
    tags: tuple[str, ...]
    notes: str | None
    opted_out: bool
    source: ContactSource
    created_at: datetime
    updated_at: datetime
    last_message: datetime | None

    @property
    def draft(self) -> ContactDraft:
        """The writable fields alone."""
        return ContactDraft(
            name=self.name,
            phone=self.phone,
            email=self.email,
            status=self.status,
            tags=self.tags,
            notes=self.notes,
            opted_out=self.opted_out,
        )


def revised(contact: Contact, draft: ContactDraft, now: datetime) -> Contact:
    """``contact`` with the writable fields of ``draft``, updated ``now``."""
    return dataclasses.replace(
        contact,
        name=draft.name,
        phone=draft.phone,
        email=draft.email,
        status=draft.status,
        tags=draft.tags,
        notes=draft.notes,
        opted_out=draft.opted_out,
        updated_at=now,
    )


@dataclass(frozen=True, slots=True)
class ContactStats:
    """A user's contacts counted. ``active`` counts ``activo`` contacts whether opted out or
    not; ``recent`` those created at ``recent_since(now)`` or later."""

    total: int
    active: int
    inactive: int
    recent: int


def recent_since(now: datetime) -> datetime:
    """The oldest creation time a recent contact may have, seen at ``now``."""
    return now - RECENT
