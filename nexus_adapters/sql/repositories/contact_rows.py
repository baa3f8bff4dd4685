"""Contacts in and out of ``contacts`` rows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nexus_core.domain.contact_queries import search_key
from nexus_core.domain.contact_records import Contact
from nexus_core.domain.contacts import ContactDraft

TAG_SEPARATOR = "|"


def stored_tags(tags: tuple[str, ...]) -> str:
    """``("vip", "cliente")`` → ``"|vip|cliente|"``: every tag between separators, so that
    "carries vip" is the substring ``tag_pattern("vip")``; no tags → ``""``."""
    return f"{TAG_SEPARATOR}{TAG_SEPARATOR.join(tags)}{TAG_SEPARATOR}" if tags else ""


def tag_pattern(tag: str) -> str:
    return f"{TAG_SEPARATOR}{tag}{TAG_SEPARATOR}"


def _tags(stored: str) -> tuple[str, ...]:
    return tuple(stored[1:-1].split(TAG_SEPARATOR)) if stored else ()


def draft_values(draft: ContactDraft) -> dict[str, Any]:
    """The columns a contact's writable fields are stored in."""
    return {
        "name": draft.name,
        "name_key": search_key(draft.name),
        "phone": draft.phone,
        "email": draft.email,
        "status": draft.status,
        "tags": stored_tags(draft.tags),
        "notes": draft.notes,
        "opted_out": draft.opted_out,
    }


def contact_from_row(m: Mapping[Any, Any]) -> Contact:
    return Contact(
        id=m["id"],
        user_id=m["user_id"],
        name=m["name"],
        phone=m["phone"],
        email=m["email"],
        status=m["status"],
        tags=_tags(m["tags"]),
        notes=m["notes"],
        opted_out=m["opted_out"],
        source=m["source"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        last_message=m["last_message"],
    )
