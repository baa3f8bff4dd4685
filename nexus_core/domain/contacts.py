"""Contacts: the people a user messages, and the rules every write to one must pass."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from nexus_core.domain.emails import normalise_email
from nexus_core.domain.phones import to_e164
from nexus_core.domain.text import NAME_MAX, check_text_type, optional_text, required_text
from nexus_core.domain.written_fields import check_written_fields
from nexus_core.errors import Collector, ValidationFailed

ContactStatus = Literal["activo", "inactivo"]
CONTACT_STATUSES: tuple[ContactStatus, ...] = ("activo", "inactivo")
NOTES_MAX = 5000
TAGS_MAX = 20
TAG_MAX_LENGTH = 40
# A tag may not hold these: a cell of an import (or an export, which joins tags with `;`)
# splits on them, and an exported file must import back as the same tags.
_TAG_SEPARATORS = re.compile(r"[,;|]")


class ContactFields(Protocol):
    """A contact's writable fields, whether stored or only validated."""

    @property
    def name(self) -> str: ...
    @property
    def phone(self) -> str | None: ...
    @property
    def email(self) -> str | None: ...
    @property
    def status(self) -> ContactStatus: ...
    @property
    def tags(self) -> tuple[str, ...]: ...
    @property
    def notes(self) -> str | None: ...
    @property
    def opted_out(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ContactDraft:
    """A contact's writable fields, validated and normalised, before it is stored."""

    name: str
    phone: str | None
    email: str | None
    status: ContactStatus = "activo"
    tags: tuple[str, ...] = ()
    notes: str | None = None
    opted_out: bool = False


def check_status(value: object) -> ContactStatus:
    if not isinstance(value, str):
        raise ValidationFailed.single("status", "field.wrong_type")
    if value not in CONTACT_STATUSES:
        raise ValidationFailed.single("status", "contact.status_invalid", allowed=CONTACT_STATUSES)
    return value


def split_tag_cell(cell: str) -> tuple[str, ...]:
    """The tags written in one cell, separated by ``,`` ``;`` or ``|`` (blank pieces dropped)."""
    return tuple(piece.strip() for piece in _TAG_SEPARATORS.split(cell) if piece.strip())


def normalise_tags(values: Iterable[str]) -> tuple[str, ...]:
    """Trimmed, lower-cased, de-duplicated in first-seen order, blanks dropped; at most
    ``TAGS_MAX`` tags of at most ``TAG_MAX_LENGTH`` characters, else a ``tags`` field error."""
    tags: dict[str, None] = {}
    for value in values:
        try:
            tag = check_text_type(value).strip().lower()
        except ValidationFailed as failure:
            raise ValidationFailed.single("tags", failure.errors[0].code) from None
        if not tag:
            continue
        if len(tag) > TAG_MAX_LENGTH:
            raise ValidationFailed.single("tags", "contact.tag_too_long", max=TAG_MAX_LENGTH)
        if _TAG_SEPARATORS.search(tag):
            raise ValidationFailed.single("tags", "contact.tag_separator")
        tags[tag] = None
        if len(tags) > TAGS_MAX:
            raise ValidationFailed.single("tags", "contact.too_many_tags", max=TAGS_MAX)
    return tuple(tags)


def _name(value: object, _country: str) -> str:
    return required_text(check_text_type(value), max_length=NAME_MAX)


def _phone(value: object, country: str) -> str | None:
    text = check_text_type(value)
    return to_e164(text, country) if text.strip() else None


def _email(value: object, _country: str) -> str | None:
    text = check_text_type(value)
    return normalise_email(text) if text.strip() else None


def _status(value: object, _country: str) -> ContactStatus:
    return check_status(value)


def _tags(value: object, _country: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise ValidationFailed.single("tags", "field.wrong_type")
    return normalise_tags(value)


def _notes(value: object, _country: str) -> str | None:
    return optional_text(check_text_type(value), max_length=NOTES_MAX)


def _flag(value: object, _country: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationFailed.single("opted_out", "field.wrong_type")
    return value


# Each writable field's rule, in the order errors are reported; a rule takes (value, country),
# though only the phone's needs the country.
_RULES: dict[str, Callable[[object, str], object]] = {
    "name": _name,
    "phone": _phone,
    "email": _email,
    "status": _status,
    "tags": _tags,
    "notes": _notes,
    "opted_out": _flag,
}
CONTACT_FIELDS = frozenset(_RULES)
# Optional fields: null (or a blank string) clears them. The others refuse null.
_CLEARABLE = frozenset({"phone", "email", "notes"})


def _check_fields(written: Mapping[str, object], country: str, errors: Collector) -> dict[str, Any]:
    """The clean value of each written writable field; broken rules go to ``errors``."""
    return check_written_fields(written, _RULES, _CLEARABLE, country, errors)


def _require_phone_or_email(
    fields: Mapping[str, Any], errors: Collector, blame: str = "phone"
) -> None:
    failed = {error.field for error in errors.errors}
    if {"phone", "email"} & failed:
        return  # the user already has a better message for the field they got wrong
    if fields["phone"] is None and fields["email"] is None:
        errors.add(blame, "contact.phone_or_email_required")


def validate_contact(
    *,
    name: object = None,
    phone: object = None,
    email: object = None,
    status: object = "activo",
    tags: object = (),
    notes: object = None,
    opted_out: object = False,
    default_country: str,
) -> ContactDraft:
    """A new contact from raw values (as decoded from JSON); every bad field is reported at once.

    Phones written without a country prefix are read with ``default_country``.
    """
    written = {
        "name": name,
        "phone": phone,
        "email": email,
        "status": status,
        "tags": tags,
        "notes": notes,
        "opted_out": opted_out,
    }
    errors = Collector()
    clean = _check_fields(written, default_country, errors)
    _require_phone_or_email(clean, errors)
    errors.raise_if_any()
    return ContactDraft(**clean)


def apply_contact_changes(
    current: ContactFields, changes: Mapping[str, object], default_country: str
) -> ContactDraft:
    """The contact after a partial write; every bad field is reported at once.

    Absent fields keep their value; null (or a blank string) clears phone, email or notes,
    as long as one of phone and email remains. Keys that are not writable fields (read-only
    ones such as ``id`` or ``source``, and unknown ones) are ignored, as the contract says.
    """
    errors = Collector()
    clean = _check_fields(changes, default_country, errors)
    fields: dict[str, Any] = {
        "name": current.name,
        "phone": current.phone,
        "email": current.email,
        "status": current.status,
        "tags": tuple(current.tags),
        "notes": current.notes,
        "opted_out": current.opted_out,
        **clean,
    }
    blame = "email" if "email" in changes and "phone" not in changes else "phone"
    _require_phone_or_email(fields, errors, blame)
    errors.raise_if_any()
    return ContactDraft(**fields)
