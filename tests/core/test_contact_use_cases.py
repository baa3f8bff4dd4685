"""Contacts through the use cases, on in-memory fakes: stored on success, untouched on failure,
someone else's contacts out of reach."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from nexus_core.domain.contact_records import Contact
from nexus_core.domain.identifiers import ID_MAX
from nexus_core.domain.users import User
from nexus_core.errors import Conflict, NotFound, ValidationFailed
from nexus_core.testing.fakes import (
    FakeClock,
    FakeContactFileReader,
    FakeHasher,
    FakeStore,
    FakeTokens,
)
from nexus_core.use_cases import accounts, contacts
from nexus_core.use_cases.context import Ports


@dataclasses.dataclass
class World:
    store: FakeStore
    clock: FakeClock
    ports: Ports
    ana: User
    bob: User

    def contacts_of(self, user: User) -> list[Contact]:
        return sorted(
            (c for c in self.store.state.contacts.values() if c.user_id == user.id),
            key=lambda c: c.id,
        )

    def add(self, user: User | None = None, **fields: Any) -> Contact:
        body = {"name": "Ana Pérez", "phone": "600111222", **fields}
        return contacts.create_contact(self.ports, user or self.ana, body)


@pytest.fixture
def world() -> World:
    store, clock = FakeStore(), FakeClock()
    ports = Ports(store, FakeHasher(), FakeTokens(), clock, FakeContactFileReader())
    ana = accounts.register(ports, email="ana@example.com", password="x" * 10, name="Ana").user
    bob = accounts.register(ports, email="bob@example.com", password="x" * 10, name="Bob").user
    return World(store, clock, ports, ana, bob)


# --- create --------------------------------------------------------------------------------


def test_create_stores_a_normalised_manual_contact(world: World) -> None:
    contact = world.add(
        name="  Ana Pérez ",
        phone="600 11 12 22",
        email=" ANA@Example.com ",
        tags=[" VIP", "cliente", "vip"],
        notes="  ",
        status="inactivo",
        opted_out=True,
    )
    assert world.contacts_of(world.ana) == [contact]
    assert (contact.name, contact.phone, contact.email) == (
        "Ana Pérez",
        "+34600111222",
        "ana@example.com",
    )
    assert (contact.tags, contact.notes, contact.status, contact.opted_out) == (
        ("vip", "cliente"),
        None,
        "inactivo",
        True,
    )
    assert (contact.source, contact.user_id, contact.last_message) == ("manual", world.ana.id, None)
    assert contact.created_at == contact.updated_at == world.clock.now


def test_create_reads_phones_with_the_owners_country(world: World) -> None:
    from nexus_core.use_cases import profile

    mexican = profile.update_profile(world.ports, world.bob.id, {"default_country": "MX"})
    contact = world.add(mexican, phone="55 1234 5678")
    assert contact.phone == "+525512345678"


def test_create_ignores_read_only_and_unknown_fields(world: World) -> None:
    contact = world.add(
        id=999, user_id=world.bob.id, source="import", created_at="2020-01-01", extra=1
    )
    assert contact.id != 999
    assert (contact.user_id, contact.source) == (world.ana.id, "manual")


def test_create_defaults(world: World) -> None:
    contact = world.add(phone=None, email="ana@example.com")
    assert (contact.status, contact.tags, contact.notes, contact.opted_out) == (
        "activo",
        (),
        None,
        False,
    )


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["name", "phone"]),
        ({"name": "Ana"}, ["phone"]),
        ({"name": " ", "phone": "123", "email": "nope"}, ["name", "phone", "email"]),
        (
            {"name": "Ana", "phone": "600111222", "status": "on", "tags": ["a;b"]},
            ["status", "tags"],
        ),
        ({"name": "A" * 201, "email": "a@b.co", "notes": "n" * 5001}, ["name", "notes"]),
        ({"name": "Ana", "email": "a@b.co", "opted_out": None}, ["opted_out"]),
    ],
)
def test_create_reports_every_bad_field_and_stores_nothing(
    world: World, body: dict[str, Any], fields: list[str]
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        contacts.create_contact(world.ports, world.ana, body)
    assert [error.field for error in caught.value.errors] == fields
    assert world.contacts_of(world.ana) == []


@pytest.mark.parametrize(
    ("second", "code", "field"),
    [
        ({"phone": "+34 600 111 222"}, "contact.phone_taken", "phone"),
        ({"phone": None, "email": "ANA@example.com"}, "contact.email_taken", "email"),
    ],
)
def test_a_duplicate_phone_or_email_is_a_conflict_naming_the_field(
    world: World, second: dict[str, Any], code: str, field: str
) -> None:
    first = world.add(email="ana@example.com")
    with pytest.raises(Conflict) as caught:
        world.add(name="Otra", **second)
    assert caught.value.code == code
    assert caught.value.params == {"field": field}
    assert world.contacts_of(world.ana) == [first]


def test_another_users_phone_is_no_duplicate(world: World) -> None:
    world.add()
    assert world.add(world.bob).phone == "+34600111222"


# --- read ----------------------------------------------------------------------------------


def test_get_returns_the_users_own_contact(world: World) -> None:
    contact = world.add()
    assert contacts.get_contact(world.ports, world.ana.id, contact.id) == contact


@pytest.mark.parametrize("contact_id", [0, -1, 12345, ID_MAX, ID_MAX + 1, 10**30])
def test_get_of_a_missing_id_is_not_found(world: World, contact_id: int) -> None:
    with pytest.raises(NotFound) as caught:
        contacts.get_contact(world.ports, world.ana.id, contact_id)
    assert caught.value.code == "contact.not_found"


def test_get_of_another_users_contact_is_not_found(world: World) -> None:
    theirs = world.add(world.bob)
    with pytest.raises(NotFound):
        contacts.get_contact(world.ports, world.ana.id, theirs.id)


# --- update --------------------------------------------------------------------------------


def test_update_changes_only_the_fields_written(world: World) -> None:
    contact = world.add(email="ana@example.com", tags=["vip"], notes="Nota")
    world.clock.advance(timedelta(minutes=5))

    updated = contacts.update_contact(
        world.ports, world.ana, contact.id, {"name": " Ana P. ", "status": "inactivo", "id": 7}
    )

    assert (updated.name, updated.status) == ("Ana P.", "inactivo")
    assert (updated.phone, updated.email, updated.tags, updated.notes) == (
        contact.phone,
        contact.email,
        contact.tags,
        contact.notes,
    )
    assert updated.id == contact.id
    assert updated.updated_at == world.clock.now
    assert updated.created_at == contact.created_at
    assert world.contacts_of(world.ana) == [updated]


def test_update_clears_optional_fields_while_one_address_remains(world: World) -> None:
    contact = world.add(email="ana@example.com", notes="Nota")
    updated = contacts.update_contact(
        world.ports, world.ana, contact.id, {"phone": None, "notes": ""}
    )
    assert (updated.phone, updated.email, updated.notes) == (None, "ana@example.com", None)

    with pytest.raises(ValidationFailed) as caught:
        contacts.update_contact(world.ports, world.ana, contact.id, {"email": None})
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("email", "contact.phone_or_email_required")
    ]
    assert world.contacts_of(world.ana) == [updated]


def test_a_write_that_changes_nothing_stores_nothing(world: World) -> None:
    contact = world.add(tags=["vip"])
    world.clock.advance(timedelta(minutes=5))
    same = contacts.update_contact(
        world.ports, world.ana, contact.id, {"name": "Ana Pérez", "tags": ["VIP"]}
    )
    assert same == contact
    assert world.contacts_of(world.ana) == [contact]


def test_a_failing_update_changes_nothing(world: World) -> None:
    contact = world.add()
    with pytest.raises(ValidationFailed):
        contacts.update_contact(
            world.ports, world.ana, contact.id, {"name": "Nuevo", "status": "borrado"}
        )
    assert world.contacts_of(world.ana) == [contact]


def test_update_to_a_taken_phone_is_a_conflict_and_changes_nothing(world: World) -> None:
    first = world.add()
    second = world.add(name="Bea", phone="611222333")
    with pytest.raises(Conflict) as caught:
        contacts.update_contact(
            world.ports, world.ana, second.id, {"name": "Bea B.", "phone": "600111222"}
        )
    assert (caught.value.code, caught.value.params) == ("contact.phone_taken", {"field": "phone"})
    assert world.contacts_of(world.ana) == [first, second]


def test_update_of_another_users_contact_is_not_found_and_changes_nothing(world: World) -> None:
    theirs = world.add(world.bob)
    with pytest.raises(NotFound):
        contacts.update_contact(world.ports, world.ana, theirs.id, {"name": "Hacked"})
    with pytest.raises(NotFound):
        contacts.update_contact(world.ports, world.ana, 10**30, {"name": "Hacked"})
    assert world.contacts_of(world.bob) == [theirs]


# --- delete --------------------------------------------------------------------------------


def test_delete_removes_the_users_contact(world: World) -> None:
    contact = world.add()
    contacts.delete_contact(world.ports, world.ana.id, contact.id)
    assert world.contacts_of(world.ana) == []
    with pytest.raises(NotFound):
        contacts.delete_contact(world.ports, world.ana.id, contact.id)


def test_delete_of_another_users_contact_is_not_found(world: World) -> None:
    theirs = world.add(world.bob)
    for contact_id in (theirs.id, 0, 10**30):
        with pytest.raises(NotFound):
            contacts.delete_contact(world.ports, world.ana.id, contact_id)
    assert world.contacts_of(world.bob) == [theirs]


def test_bulk_delete_counts_only_the_users_own_contacts(world: World) -> None:
    mine = [world.add(name=f"C{i}", phone=f"60011122{i}") for i in range(3)]
    theirs = world.add(world.bob)
    ids = [mine[0].id, mine[1].id, mine[1].id, theirs.id, 0, -5, 99_999, 10**30]

    assert contacts.delete_contacts(world.ports, world.ana.id, ids) == 2

    assert world.contacts_of(world.ana) == [mine[2]]
    assert world.contacts_of(world.bob) == [theirs]
    assert contacts.delete_contacts(world.ports, world.ana.id, []) == 0


# --- list, stats ---------------------------------------------------------------------------


def test_list_pages_with_their_pagination(world: World) -> None:
    made = []
    for i in range(5):
        made.append(world.add(name=f"Contacto {i}", phone=f"60011122{i}"))
        world.clock.advance(timedelta(seconds=1))
    world.add(world.bob)

    page = contacts.list_contacts(world.ports, world.ana.id, {"per_page": "2", "page": "2"})

    assert [c.id for c in page.items] == [made[2].id, made[1].id]  # newest first
    assert (page.total, page.page, page.per_page, page.pages) == (5, 2, 2, 3)
    assert (page.has_next, page.has_prev) == (True, True)


def test_a_page_past_the_end_is_empty(world: World) -> None:
    world.add()
    page = contacts.list_contacts(world.ports, world.ana.id, {"page": "9"})
    assert (list(page.items), page.total, page.pages, page.has_next, page.has_prev) == (
        [],
        1,
        1,
        False,
        True,
    )


def test_an_empty_list(world: World) -> None:
    page = contacts.list_contacts(world.ports, world.ana.id, {})
    assert (page.total, page.page, page.per_page, page.pages) == (0, 1, 20, 0)
    assert (page.has_next, page.has_prev) == (False, False)


def test_list_filters_and_sorts(world: World) -> None:
    world.add(name="Zoe", phone="600000001", tags=["vip", "cliente"])
    world.add(name="álvaro", phone="600000002", tags=["vip"], status="inactivo")
    world.add(name="Bea", phone="600000003", email="bea@example.com")

    def names(**params: str) -> list[str]:
        return [c.name for c in contacts.list_contacts(world.ports, world.ana.id, params).items]

    assert names(sort="name") == ["álvaro", "Bea", "Zoe"]
    assert names(sort="-name") == ["Zoe", "Bea", "álvaro"]
    assert names(tags="VIP,cliente") == ["Zoe"]
    assert names(status="inactivo") == ["álvaro"]
    assert names(search="ALVARO") == ["álvaro"]
    assert names(search="bea@") == ["Bea"]
    assert names(search="000 003") == ["Bea"]


def test_bad_list_parameters_are_all_reported(world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        contacts.list_contacts(
            world.ports,
            world.ana.id,
            {"page": "0", "per_page": "x", "status": "todos", "sort": "phone"},
        )
    assert [error.field for error in caught.value.errors] == ["page", "per_page", "status", "sort"]


def test_stats_count_the_users_contacts(world: World) -> None:
    world.add(name="Vieja", phone="600000001", status="inactivo")
    world.clock.advance(timedelta(days=8))
    world.add(name="Nueva", phone="600000002", opted_out=True)
    world.add(name="Otra", phone="600000003")
    world.add(world.bob)

    stats = contacts.contact_stats(world.ports, world.ana.id)

    assert (stats.total, stats.active, stats.inactive, stats.recent) == (3, 2, 1, 2)


# --- export --------------------------------------------------------------------------------


def test_export_rows_follow_the_filters_and_guard_formulas(world: World) -> None:
    world.add(name="=Bea", phone="611222333", tags=["vip", "cliente"], notes="-nota")
    world.add(name="Ana", phone=None, email="ana@example.com", opted_out=True, status="inactivo")
    world.add(world.bob, name="Ajena")

    export = contacts.export_contacts(
        world.ports, world.ana.id, {"sort": "-name", "page": "0", "per_page": "x"}
    )

    assert export.columns == (
        "name",
        "phone",
        "email",
        "status",
        "tags",
        "notes",
        "opted_out",
        "created_at",
    )
    created = world.clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert list(export.rows) == [
        ("Ana", "", "ana@example.com", "inactivo", "", "", "true", created),
        ("'=Bea", "'+34611222333", "", "activo", "vip;cliente", "'-nota", "false", created),
    ]


def test_export_checks_its_parameters_before_reading_anything(world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        contacts.export_contacts(world.ports, world.ana.id, {"status": "x", "tags": "x" * 41})
    assert [error.field for error in caught.value.errors] == ["status", "tags"]


def test_export_reads_only_when_iterated(world: World) -> None:
    export = contacts.export_contacts(world.ports, world.ana.id, {})
    world.add()  # written after the export was asked for, before it was read
    assert [row[0] for row in export.rows] == ["Ana Pérez"]
