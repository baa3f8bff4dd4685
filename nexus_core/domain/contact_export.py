"""Exporting contacts: the columns of the file, and each contact's cells as text.

An exported file imports back as the same contacts (``contact_imports`` reads every column
written here), and a spreadsheet opening it shows every value instead of running it.
"""

from __future__ import annotations

from datetime import UTC

from nexus_core.domain.contact_imports import GUARDED_STARTS
from nexus_core.domain.contact_records import Contact

EXPORT_COLUMNS = ("name", "phone", "email", "status", "tags", "notes", "opted_out", "created_at")
TAG_JOINER = ";"


def guard_formula(text: str) -> str:
    """``text`` with a ``'`` before it when a spreadsheet would run it as a formula (it starts
    with ``=`` ``+`` ``-`` ``@``, E.164 phones included) or when it starts with ``'`` itself;
    ``clean_cell`` removes exactly that ``'`` on import."""
    return "'" + text if text.startswith(GUARDED_STARTS) else text


def export_cells(contact: Contact) -> tuple[str, ...]:
    """One contact's row, in the order of ``EXPORT_COLUMNS``; absent values are empty."""
    created = contact.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    cells = (
        contact.name,
        contact.phone or "",
        contact.email or "",
        contact.status,
        TAG_JOINER.join(contact.tags),
        contact.notes or "",
        "true" if contact.opted_out else "false",
        created,
    )
    return tuple(guard_formula(cell) for cell in cells)
