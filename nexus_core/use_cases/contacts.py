"""A user's contacts: the list, one contact read, written or deleted, the counts, the export."""

from __future__ import annotations

from collections.abc import Callable, Collection, Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

from nexus_core.domain.contact_export import EXPORT_COLUMNS, export_cells
from nexus_core.domain.contact_queries import ContactQuery, parse_contact_query
from nexus_core.domain.contact_records import Contact, ContactStats, revised
from nexus_core.domain.contacts import CONTACT_FIELDS, apply_contact_changes, validate_contact
from nexus_core.domain.identifiers import could_exist
from nexus_core.domain.pagination import Page
from nexus_core.domain.users import User
from nexus_core.errors import Conflict, NotFound
from nexus_core.ports import UnitOfWork
from nexus_core.use_cases.context import Ports

T = TypeVar("T")

# The field a duplicate is about.
_DUPLICATE_FIELDS = {"contact.phone_taken": "phone", "contact.email_taken": "email"}
# Query parameters an export ignores: it has every matching contact, not one page.
_PAGING = frozenset({"page", "per_page"})


def _not_found() -> NotFound:
    return NotFound("contact.not_found")


@contextmanager
def _naming_the_duplicate_field() -> Iterator[None]:
    """A duplicate phone or email raised inside is a ``Conflict`` naming its field, so that a
    client can point at it."""
    try:
        yield
    except Conflict as conflict:
        field_name = _DUPLICATE_FIELDS.get(conflict.code)
        if field_name is None:
            raise
        raise Conflict(conflict.code, field=field_name) from None


def list_contacts(ports: Ports, user_id: int, params: Mapping[str, str]) -> Page[Contact]:
    """One page of the user's contacts matching the query parameters (``page``, ``per_page``,
    ``search``, ``status``, ``tags``, ``sort``); every bad parameter is a field error."""
    query = parse_contact_query(params)
    with ports.uow() as uow:
        contacts, total = uow.contacts.page(user_id, query)
    return Page(contacts, total, query.page, query.per_page)


def get_contact(ports: Ports, user_id: int, contact_id: int) -> Contact:
    if not could_exist(contact_id):
        raise _not_found()
    with ports.uow() as uow:
        contact = uow.contacts.get(user_id, contact_id)
    if contact is None:
        raise _not_found()
    return contact


# A contact write of one request, its input already checked, for ``Ports.write`` or, without
# blocking, for the group writer's ``submit`` (the HTTP layer's choice).
ContactWrite = Callable[[UnitOfWork], T]


def contact_creation(
    ports: Ports, owner: User, fields: Mapping[str, object]
) -> ContactWrite[Contact]:
    """The write that stores a new ``manual`` contact from the writable ``fields`` (others
    are ignored), checked now; phones without a prefix are read with the owner's
    ``default_country``. Written, a phone or an email another of the owner's contacts has is
    a ``Conflict`` naming the field."""
    written = {name: value for name, value in fields.items() if name in CONTACT_FIELDS}
    draft = validate_contact(**written, default_country=owner.preferences.default_country)
    now = ports.clock()

    def create(uow: UnitOfWork) -> Contact:
        with _naming_the_duplicate_field():
            return uow.contacts.add(owner.id, draft, "manual", now)

    return create


def contact_update(
    ports: Ports, owner: User, contact_id: int, changes: Mapping[str, object]
) -> ContactWrite[Contact]:
    """The write that applies a partial change, all or nothing; one that changes no field
    stores nothing. A missing contact is ``NotFound`` (when written)."""
    if not could_exist(contact_id):
        raise _not_found()
    now = ports.clock()

    def update(uow: UnitOfWork) -> Contact:
        current = uow.contacts.get(owner.id, contact_id)
        if current is None:
            raise _not_found()
        draft = apply_contact_changes(current, changes, owner.preferences.default_country)
        if draft == current.draft:
            return current
        updated = revised(current, draft, now)
        with _naming_the_duplicate_field():
            uow.contacts.save(updated)
        return updated

    return update


def contact_deletion(ports: Ports, user_id: int, contact_id: int) -> ContactWrite[None]:
    """The write that deletes one contact; a missing one is ``NotFound`` (when written)."""
    if not could_exist(contact_id):
        raise _not_found()

    def delete(uow: UnitOfWork) -> None:
        if not uow.contacts.delete(user_id, contact_id):
            raise _not_found()

    return delete


def create_contact(ports: Ports, owner: User, fields: Mapping[str, object]) -> Contact:
    return ports.write(contact_creation(ports, owner, fields))


def update_contact(
    ports: Ports, owner: User, contact_id: int, changes: Mapping[str, object]
) -> Contact:
    return ports.write(contact_update(ports, owner, contact_id, changes))


def delete_contact(ports: Ports, user_id: int, contact_id: int) -> None:
    ports.write(contact_deletion(ports, user_id, contact_id))


def delete_contacts(ports: Ports, user_id: int, contact_ids: Collection[int]) -> int:
    """Delete those of ``contact_ids`` that are the user's; how many were deleted (ids that
    are missing or someone else's are skipped, repeated ones counted once)."""
    wanted = {contact_id for contact_id in contact_ids if could_exist(contact_id)}
    if not wanted:
        return 0
    with ports.uow(write=True) as uow:
        deleted = uow.contacts.delete_many(user_id, wanted)
        uow.commit()
    return deleted


def contact_stats(ports: Ports, user_id: int) -> ContactStats:
    with ports.uow() as uow:
        return uow.contacts.stats(user_id, ports.clock())


@dataclass(frozen=True, slots=True)
class ContactExport:
    """The columns of an export, and its rows (text cells, formulas guarded), read lazily."""

    columns: tuple[str, ...]
    rows: Generator[tuple[str, ...], None, None]


def export_contacts(ports: Ports, user_id: int, params: Mapping[str, str]) -> ContactExport:
    """Every contact matching the list's filters and sort (``page`` and ``per_page`` are
    ignored). The parameters are checked now; the contacts are read only as ``rows`` is
    iterated, in batches, within one read-only unit of work that ends with the iteration (or
    when ``rows`` is closed), so consume it in one thread."""
    query = parse_contact_query({k: v for k, v in params.items() if k not in _PAGING})
    return ContactExport(EXPORT_COLUMNS, _export_rows(ports, user_id, query))


def _export_rows(
    ports: Ports, user_id: int, query: ContactQuery
) -> Generator[tuple[str, ...], None, None]:
    with ports.uow() as uow:
        for contact in uow.contacts.stream(user_id, query):
            yield export_cells(contact)
