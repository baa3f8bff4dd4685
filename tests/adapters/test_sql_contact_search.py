"""Searching contacts, on SQLite and PostgreSQL: what a search matches, and that the trigram
indexes (FTS5 on SQLite, pg_trgm on PostgreSQL) serve it and stay in step with every write.

A search is a substring of the name (case and accents ignored on both sides:
``contact_queries.search_key``), of the email, or, by its digits, of the phone. Three
characters or more go through the trigram indexes; shorter ones through LIKE.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nexus_adapters.sql.repositories.contact_filters import contact_filter, contact_order
from nexus_adapters.sql.tables import contacts
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.contact_imports import ImportedRow
from nexus_core.domain.contact_queries import ContactQuery, search_key
from nexus_core.domain.contact_records import Contact, revised
from nexus_core.domain.contacts import ContactDraft
from nexus_core.domain.users import User
from tests.adapters.databases import only_sqlite

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

PEOPLE = [
    ("María José García-Núñez", "+34600111222", "mjgarcia@example.com"),
    ("GARCÍA LÓPEZ, Ana", "+34911234567", None),
    ("Jürgen Straße", "+4915112345678", "juergen@example.de"),
    ('Zoë O\'Brien "Zee"', None, "zoe@example.ie"),
    ("100% Tapas_Bar", "+34666000111", "reservas@tapas.es"),
    ("Luis Martín", "+525512345678", "luis.martin@ejemplo.mx"),
]


@pytest.fixture
def owner(add_user: Callable[..., User]) -> User:
    return add_user("ana@example.com")


@pytest.fixture
def people(uow_factory: SqlUnitOfWorkFactory, owner: User) -> list[Contact]:
    with uow_factory(write=True) as uow:
        added = [
            uow.contacts.add(owner.id, ContactDraft(name, phone, email), "manual", NOW)
            for name, phone, email in PEOPLE
        ]
        uow.commit()
    return added


def found(uow_factory: SqlUnitOfWorkFactory, owner: User, search: str, **query: Any) -> list[str]:
    with uow_factory() as uow:
        page, total = uow.contacts.page(owner.id, ContactQuery(search=search, sort="name", **query))
    assert total == len(page)
    return [contact.name for contact in page]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        # Names: any case, with or without accents, on either side.
        ("garcia", ["GARCÍA LÓPEZ, Ana", "María José García-Núñez"]),
        ("GARCÍA", ["GARCÍA LÓPEZ, Ana", "María José García-Núñez"]),
        ("nunez", ["María José García-Núñez"]),
        ("NÚÑEZ", ["María José García-Núñez"]),
        ("lopez, a", ["GARCÍA LÓPEZ, Ana"]),
        ("strasse", ["Jürgen Straße"]),  # ß folds to ss
        ("straße", ["Jürgen Straße"]),
        ("jurgen", ["Jürgen Straße"]),
        ("zoe", ['Zoë O\'Brien "Zee"']),
        ("o'brien", ['Zoë O\'Brien "Zee"']),
        ('"zee"', ['Zoë O\'Brien "Zee"']),  # quotes are no FTS5 syntax
        ("martín", ["Luis Martín"]),
        # Emails, as substrings.
        ("juergen@", ["Jürgen Straße"]),
        ("EXAMPLE.DE", ["Jürgen Straße"]),
        ("ejemplo.mx", ["Luis Martín"]),
        # Phones, by the digits of the search.
        ("600 111", ["María José García-Núñez"]),
        ("+34 600-111-222", ["María José García-Núñez"]),
        ("5512345", ["Luis Martín"]),
        ("345", ["GARCÍA LÓPEZ, Ana", "Jürgen Straße", "Luis Martín"]),
        # SQL wildcards and FTS5 operators are plain characters.
        ("100%", ["100% Tapas_Bar"]),
        ("s_b", ["100% Tapas_Bar"]),
        ("%", ["100% Tapas_Bar"]),
        ("_", ["100% Tapas_Bar"]),
        ("tapas AND", []),
        ("OR", []),
        ("zzq", []),
        # One or two characters (below a trigram): still substrings.
        ("zo", ['Zoë O\'Brien "Zee"']),
        ("ß", ["Jürgen Straße"]),
        ("15", ["Jürgen Straße"]),
    ],
)
def test_search_matches(
    uow_factory: SqlUnitOfWorkFactory,
    owner: User,
    people: list[Contact],
    search: str,
    expected: list[str],
) -> None:
    assert found(uow_factory, owner, search) == expected


def by_the_rule(search: str) -> list[str]:
    """What a search must find, said in plain Python."""
    query = ContactQuery(search=search)
    needle, digits = query.search_key, query.search_digits
    assert needle is not None
    return sorted(
        (
            name
            for name, phone, email in PEOPLE
            if needle in search_key(name)
            or needle in (email or "")
            or (digits is not None and digits in (phone or ""))
        ),
        key=search_key,
    )


@pytest.mark.parametrize(
    "search",
    ["a", "e", "É", "ñ", "ü", "ë", "ss", "SS", "'", '"', "-", ",", " ", "@", ".", "%", "_", "/",
     "4", "49", "34", "ar", "mar", "MARÍA JOSÉ", "garcía-núñez", "@example.", "555", "12345678"],
)  # fmt: skip
def test_short_and_odd_searches_follow_the_rule(
    uow_factory: SqlUnitOfWorkFactory, owner: User, people: list[Contact], search: str
) -> None:
    assert found(uow_factory, owner, search) == by_the_rule(search)


def test_search_combines_with_the_other_filters(
    uow_factory: SqlUnitOfWorkFactory, owner: User, people: list[Contact]
) -> None:
    with uow_factory(write=True) as uow:
        for contact in people[:2]:
            uow.contacts.save(
                revised(contact, dataclasses.replace(contact.draft, tags=("vip",)), NOW)
            )
        uow.commit()
    assert found(uow_factory, owner, "garcia", tags=("vip",)) == [
        "GARCÍA LÓPEZ, Ana",
        "María José García-Núñez",
    ]
    assert found(uow_factory, owner, "ga", tags=("vip",)) == [
        "GARCÍA LÓPEZ, Ana",
        "María José García-Núñez",
    ]
    assert found(uow_factory, owner, "garcia", tags=("vip",), status="inactivo") == []
    assert found(uow_factory, owner, "martin", tags=("vip",)) == []
    with uow_factory() as uow:
        page, total = uow.contacts.page(owner.id, ContactQuery(search="garcia", per_page=1, page=2))
    assert (len(page), total) == (1, 2)


def test_search_sees_every_write(
    uow_factory: SqlUnitOfWorkFactory,
    owner: User,
    people: list[Contact],
    add_user: Callable[..., User],
) -> None:
    """Renames, new emails, deletions, imports and another user's contacts: the index follows."""
    maria, ana = people[0], people[1]
    with uow_factory(write=True) as uow:
        uow.contacts.save(
            revised(
                maria,
                dataclasses.replace(maria.draft, name="María Ortega", email="mo@example.com"),
                NOW,
            )
        )
        uow.contacts.delete(owner.id, ana.id)
        uow.contacts.import_batch(
            owner.id,
            [
                ImportedRow(
                    2,
                    ContactDraft("Pedro Garcíarena", "+34622000000", None),
                    frozenset({"name", "phone"}),
                )
            ],
            "skip",
            NOW,
        )
        uow.commit()
    stranger = add_user("bob@example.com")
    with uow_factory(write=True) as uow:
        uow.contacts.add(
            stranger.id, ContactDraft("Garcia Ajena", None, "g@example.com"), "manual", NOW
        )
        uow.commit()
    assert found(uow_factory, owner, "garcia") == ["Pedro Garcíarena"]
    assert found(uow_factory, owner, "ortega") == ["María Ortega"]
    assert found(uow_factory, owner, "mo@ex") == ["María Ortega"]
    assert found(uow_factory, owner, "mjgarcia") == []
    assert found(uow_factory, owner, "ga") == ["María Ortega", "Pedro Garcíarena"]


@only_sqlite
def test_the_sqlite_search_index_stays_consistent(
    uow_factory: SqlUnitOfWorkFactory,
    owner: User,
    people: list[Contact],
    migrated_engine: Engine,
    dialect: str,
) -> None:
    """FTS5's own check compares the index with the contacts after every kind of write,
    the cascade from a deleted user included."""

    def check() -> None:
        with migrated_engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO contacts_search(contacts_search) VALUES ('integrity-check')"
            )

    check()
    with uow_factory(write=True) as uow:
        contact = people[0]
        uow.contacts.save(
            revised(contact, dataclasses.replace(contact.draft, name="Otro", tags=("x",)), NOW)
        )
        uow.contacts.save(revised(people[1], people[1].draft, NOW))  # nothing searched changes
        uow.contacts.delete_many(owner.id, [people[2].id, people[3].id])
        uow.commit()
    check()
    with uow_factory(write=True) as uow:
        uow.users.delete(owner.id)
        uow.commit()
    check()
    with migrated_engine.connect() as connection:
        leftovers = connection.exec_driver_sql(
            "SELECT count(*) FROM contacts_search WHERE contacts_search MATCH '\"example\"'"
        ).scalar_one()
    assert leftovers == 0


@only_sqlite
def test_the_sqlite_search_index_merges_its_segments_sixteen_at_a_time(
    migrated_engine: Engine,
) -> None:
    """Migration 0011: FTS5 keeps the setting in the index's own configuration table, so
    every connection's writes, bulk imports above all, merge less often than FTS5's 4."""
    with migrated_engine.connect() as connection:
        automerge = connection.exec_driver_sql(
            "SELECT v FROM contacts_search_config WHERE k = 'automerge'"
        ).scalar_one()
    assert automerge == 16


# -- the plans ----------------------------------------------------------------------------------


def plan(
    engine: Engine, dialect: str, statement: sa.Select[Any], *, no_seqscan: bool = False
) -> str:
    sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        if dialect == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
            return "\n".join(str(row[-1]) for row in rows)
        if no_seqscan:
            connection.exec_driver_sql("SET enable_seqscan = off")
        return "\n".join(row[0] for row in connection.exec_driver_sql(f"EXPLAIN {sql}"))


@pytest.fixture
def crowd(
    uow_factory: SqlUnitOfWorkFactory, owner: User, people: list[Contact], migrated_engine: Engine
) -> None:
    """1,000 more contacts, few of them inactive or tagged, and fresh planner statistics."""
    rows = [
        ImportedRow(
            n + 2,
            ContactDraft(
                f"Persona {n}",
                f"+3470{n:07d}",
                f"persona{n}@example.com",
                status="inactivo" if n % 200 == 0 else "activo",
                tags=("vip", "cliente") if n % 300 == 0 else ("otro",),
            ),
            frozenset({"name", "phone", "email", "tags", "status"}),
        )
        for n in range(1000)
    ]
    with uow_factory(write=True) as uow:
        uow.contacts.import_batch(owner.id, rows, "skip", NOW)
        uow.commit()
    with migrated_engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()


SEARCH_INDEXES = {
    "garc": ["ix_contacts_name_key_trigrams", "ix_contacts_email_trigrams"],
    "600 111": [
        "ix_contacts_name_key_trigrams",
        "ix_contacts_email_trigrams",
        "ix_contacts_phone_trigrams",
    ],
}


@pytest.mark.parametrize(
    ("query", "postgresql_uses"),
    [
        (ContactQuery(search="garc"), SEARCH_INDEXES["garc"]),
        (ContactQuery(search="600 111"), SEARCH_INDEXES["600 111"]),
        (ContactQuery(tags=("vip", "cliente")), ["ix_contacts_tags_trigrams"]),
        (ContactQuery(search="garc", tags=("vip",)), ["ix_contacts_tags_trigrams"]),
    ],
)
@pytest.mark.usefixtures("crowd")
def test_searches_and_tags_use_the_trigram_indexes(
    migrated_engine: Engine,
    dialect: str,
    owner: User,
    query: ContactQuery,
    postgresql_uses: list[str],
) -> None:
    """On SQLite the FTS5 table drives both statements of a page. PostgreSQL picks by cost
    (at this size the owner's index wins; at 100,000 contacts ``bench/contacts_search.py``
    shows the trigram bitmaps), so there the search and tags conditions alone, with scans
    off, must be served by the trigram indexes: the patterns as written are indexable."""
    conditions = contact_filter(dialect, owner.id, query)
    page = sa.select(contacts).where(*conditions).order_by(*contact_order(query)).limit(20)
    count = sa.select(sa.func.count()).select_from(contacts).where(*conditions)
    if dialect == "sqlite":
        for statement in (page, count):
            shown = plan(migrated_engine, dialect, statement)
            assert "SCAN contacts_search VIRTUAL TABLE" in shown, shown
            assert "USING INTEGER PRIMARY KEY (rowid=?)" in shown, shown
        return
    owned, *rest = conditions
    assert str(owned.compile()) == str((contacts.c.user_id == owner.id).compile())
    count = sa.select(sa.func.count()).select_from(contacts).where(*rest)
    shown = plan(migrated_engine, dialect, count, no_seqscan=True)
    for index in postgresql_uses:
        assert f"Bitmap Index Scan on {index}" in shown, shown


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (ContactQuery(), "ix_contacts_user_id_created_at"),
        (ContactQuery(sort="created_at"), "ix_contacts_user_id_created_at"),
        (ContactQuery(sort="name"), "ix_contacts_user_id_name_key"),
        (ContactQuery(sort="-name", page=3), "ix_contacts_user_id_name_key"),
        (ContactQuery(status="inactivo"), "ix_contacts_user_id_status"),
    ],
)
@pytest.mark.usefixtures("crowd")
def test_pages_walk_an_index_in_order(
    migrated_engine: Engine, dialect: str, owner: User, query: ContactQuery, index: str
) -> None:
    """No sort step: the page is read in order from an index and the walk stops after it."""
    conditions = contact_filter(dialect, owner.id, query)
    page = (
        sa.select(contacts)
        .where(*conditions)
        .order_by(*contact_order(query))
        .limit(query.per_page)
        .offset(query.offset)
    )
    shown = plan(migrated_engine, dialect, page)
    assert index in shown, shown
    assert "TEMP B-TREE" not in shown, shown
    assert "Sort" not in shown, shown


@only_sqlite
def test_a_search_drives_from_the_sqlite_index(
    migrated_engine: Engine, dialect: str, people: list[Contact], owner: User
) -> None:
    """Without statistics SQLite would walk every contact of the user and probe the matches;
    the matches must drive, each looked up by id."""
    conditions = contact_filter(dialect, owner.id, ContactQuery(search="garc"))
    shown = plan(
        migrated_engine,
        dialect,
        sa.select(sa.func.count()).select_from(contacts).where(*conditions),
    )
    assert "USING INTEGER PRIMARY KEY (rowid=?)" in shown, shown
    assert "ix_contacts_user_id" not in shown, shown
