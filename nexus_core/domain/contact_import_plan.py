"""What one batch of imported rows does to a user's contacts, decided before anything is written.

A ``ContactRepository`` looks up the user's contacts that share a phone or an email with the
batch (``batch_keys``), asks ``plan_import``, and writes the plan with a few set-based
statements. Every implementation shares this module, so the fakes and the SQL adapters agree.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from nexus_core.domain.contact_imports import (
    ImportedRow,
    OnDuplicate,
    Settlement,
    merge_update,
)
from nexus_core.domain.contact_records import Contact
from nexus_core.domain.contacts import ContactDraft


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """``settlements`` has one entry per row, in order; ``created`` are the new contacts, in
    the order of the rows that created them; ``changed`` the existing contacts whose fields
    change, each with its new fields (a contact an update leaves as it was is not listed)."""

    settlements: tuple[Settlement, ...]
    created: tuple[ContactDraft, ...]
    changed: tuple[tuple[Contact, ContactDraft], ...]


@dataclass(slots=True)
class _Target:
    """A contact rows of the batch lead to: a stored one, or one the batch creates."""

    stored: Contact | None
    fields: ContactDraft


def batch_keys(rows: Iterable[ImportedRow]) -> tuple[set[str], set[str]]:
    """The phones and the emails of ``rows``: the contacts to look up before planning."""
    phones = {row.contact.phone for row in rows if row.contact.phone is not None}
    emails = {row.contact.email for row in rows if row.contact.email is not None}
    return phones, emails


def plan_import(
    rows: Sequence[ImportedRow], existing: Iterable[Contact], on_duplicate: OnDuplicate
) -> ImportPlan:
    """Apply ``rows`` in order to ``existing`` (at least every contact of the user holding one
    of ``batch_keys(rows)``).

    A row leads to the contact holding its phone, else to the one holding its email, among the
    existing contacts and those earlier rows created; a contact stays reachable through every
    phone and email it had during the batch, and through those of every row that led to it
    (as ``ImportTally`` remembers every row's, skipped ones included). A row leading
    nowhere creates a contact (``imported``). Otherwise, under ``skip`` it changes nothing
    (``duplicate``); under ``update`` it is merged in with ``merge_update`` (``updated``),
    except that a phone or an email held by another contact is never taken from it: the
    contact keeps its own.
    """
    by_phone: dict[str, _Target] = {}
    by_email: dict[str, _Target] = {}

    def reach(target: _Target, phone: str | None, email: str | None) -> None:
        if phone is not None:
            by_phone.setdefault(phone, target)
        if email is not None:
            by_email.setdefault(email, target)

    stored = [_Target(contact, contact.draft) for contact in existing]
    for known in stored:
        reach(known, known.fields.phone, known.fields.email)
    created: list[_Target] = []
    settlements: list[Settlement] = []
    for row in rows:
        phone, email = row.contact.phone, row.contact.email
        target: _Target | None = (by_phone.get(phone) if phone is not None else None) or (
            by_email.get(email) if email is not None else None
        )
        if target is None:
            target = _Target(None, row.contact)
            created.append(target)
            settlements.append("imported")
        elif on_duplicate == "skip":
            settlements.append("duplicate")
        else:
            target.fields = _without_others_keys(
                merge_update(target.fields, row), target, by_phone, by_email
            )
            settlements.append("updated")
        # Whatever became of the row, its phone and email now lead to this contact (unless
        # they led elsewhere already), as ImportTally remembers every row's.
        reach(target, phone, email)
        reach(target, target.fields.phone, target.fields.email)
    return ImportPlan(
        settlements=tuple(settlements),
        created=tuple(new.fields for new in created),
        changed=tuple(
            (known.stored, known.fields)
            for known in stored
            if known.stored is not None and known.fields != known.stored.draft
        ),
    )


def _without_others_keys(
    merged: ContactDraft,
    target: _Target,
    by_phone: dict[str, _Target],
    by_email: dict[str, _Target],
) -> ContactDraft:
    """``merged``, keeping the target's own phone or email where another contact holds the new
    one."""
    phone, email = merged.phone, merged.email
    if phone is not None and by_phone.get(phone, target) is not target:
        phone = target.fields.phone
    if email is not None and by_email.get(email, target) is not target:
        email = target.fields.email
    return dataclasses.replace(merged, phone=phone, email=email)
