"""Contact bodies, and the contact as the API shows it."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from nexus_adapters.memo import Memo
from nexus_core.domain.contact_records import Contact, ContactSource, ContactStats
from nexus_core.domain.contacts import ContactStatus
from nexus_http.schemas.common import PaginationOut, rfc3339


class ContactOut(msgspec.Struct):
    id: int
    user_id: int
    name: str
    phone: str | None
    email: str | None
    status: ContactStatus
    tags: list[str]
    notes: str | None
    opted_out: bool
    source: ContactSource
    created_at: str | None
    updated_at: str | None
    last_message: str | None

    @classmethod
    def of(cls, contact: Contact) -> ContactOut:
        # A page of the list read again while unchanged holds the same Contact objects (see
        # the contacts repository), so each is converted once (keyed by identity: the memo
        # holds the contact, so its id cannot be reused meanwhile).
        return _SHOWN.get(id(contact), (contact,), lambda: cls._convert(contact))

    @classmethod
    def _convert(cls, contact: Contact) -> ContactOut:
        return cls(
            id=contact.id,
            user_id=contact.user_id,
            name=contact.name,
            phone=contact.phone,
            email=contact.email,
            status=contact.status,
            tags=list(contact.tags),
            notes=contact.notes,
            opted_out=contact.opted_out,
            source=contact.source,
            created_at=rfc3339(contact.created_at),
            updated_at=rfc3339(contact.updated_at),
            last_message=rfc3339(contact.last_message),
        )


# Enough for the pages the repository remembers (256 of 50) to be converted once each.
_SHOWN: Memo[ContactOut] = Memo(capacity=16384)


class ContactEnvelope(msgspec.Struct):
    contact: ContactOut


class ContactMessageEnvelope(msgspec.Struct):
    message: str
    contact: ContactOut


class ContactList(msgspec.Struct):
    contacts: list[ContactOut]
    pagination: PaginationOut


class ContactIn(msgspec.Struct):
    """A contact's writable fields. To create one, ``name`` and a ``phone`` or an ``email``
    are required; a ``PUT`` changes only the fields sent (``null`` or ``""`` clears phone,
    email or notes). Read-only fields (``id``, ``user_id``, ``source``, timestamps) and
    unknown ones are ignored."""

    name: str | UnsetType | None = UNSET
    phone: str | UnsetType | None = UNSET
    email: str | UnsetType | None = UNSET
    status: str | UnsetType | None = UNSET
    tags: list[str] | UnsetType | None = UNSET
    notes: str | UnsetType | None = UNSET
    opted_out: bool | UnsetType | None = UNSET

    def written(self) -> dict[str, Any]:
        """Only the fields the client actually sent."""
        return {
            name: value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not UNSET
        }


class BulkDeleteIn(msgspec.Struct):
    contact_ids: list[int]


class BulkDeleteOut(msgspec.Struct):
    message: str
    deleted_count: int


class ContactStatsOut(msgspec.Struct):
    total_contacts: int
    active_contacts: int
    inactive_contacts: int
    recent_contacts: int

    @classmethod
    def of(cls, stats: ContactStats) -> ContactStatsOut:
        return cls(
            total_contacts=stats.total,
            active_contacts=stats.active,
            inactive_contacts=stats.inactive,
            recent_contacts=stats.recent,
        )


class ContactStatsEnvelope(msgspec.Struct):
    stats: ContactStatsOut
