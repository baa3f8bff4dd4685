"""``SqlContacts`` against the ``ContactRepository`` port, on SQLite and PostgreSQL: single
writes, uniqueness, owners, the list's filters, sorts and pages, the stats and the export."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nexus_adapters.security.secret_box import FernetSecretBox
from nexus_adapters.sql import tables
from nexus_adapters.sql.repositories.contacts import SqlContacts
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.contact_imports import ImportedRow
from nexus_core.domain.contact_queries import ContactQuery, ContactSort
from nexus_core.domain.contact_records import Contact, ContactSource, ContactStats, revised
from nexus_core.domain.contacts import ContactDraft
from nexus_core.domain.users import User
from nexus_core.errors import Conflict

NOW = datetime(2026, 11, 26, 12, 0, 0, 654321, tzinfo=UTC)
LATER = NOW + timedelta(hours=2, microseconds=5)


def draft(
    name: str = "Ana García", phone: str | None = None, email: str | None = None, **changes: Any
) -> ContactDraft:
    return ContactDraft(name=name, phone=phone, email=email, **changes)


@pytest.fixture
def owner(add_user: Callable[..., User]) -> User:
    return add_user("ana@example.com")


@pytest.fixture
def stranger(add_user: Callable[..., User]) -> User:
    return add_user("bob@example.com")


@pytest.fixture
def add_contact(uow_factory: SqlUnitOfWorkFactory, owner: User) -> Callable[..., Contact]:
    """Add and commit a contact: ``add_contact("Ana", "+34600111222", tags=("vip",))``."""

    def add(
        name: str = "Ana García",
        phone: str | None = None,
        email: str | None = None,
        *,
        user: User | None = None,
        source: ContactSource = "manual",
        now: datetime = NOW,
        **changes: Any,
    ) -> Contact:
        if phone is None and email is None:
            email = f"{name.lower().replace(' ', '.')}@example.com"
        with uow_factory(write=True) as uow:
            contact = uow.contacts.add(
                (user or owner).id, draft(name, phone, email, **changes), source, now
            )
            uow.commit()
        return contact

    return add


def count_contacts(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            sa.select(sa.func.count()).select_from(tables.contacts)
        ).scalar_one()


def listed(uow_factory: SqlUnitOfWorkFactory, user: User, **query: Any) -> tuple[list[str], int]:
    with uow_factory() as uow:
        page, total = uow.contacts.page(user.id, ContactQuery(**query))
    return [contact.name for contact in page], total


# -- single writes ------------------------------------------------------------------------------


def test_add_returns_the_stored_contact(uow_factory: SqlUnitOfWorkFactory, owner: User) -> None:
    written = draft(
        "Ana María Pérez",
        "+34600111222",
        "ana@example.com",
        status="inactivo",
        tags=("vip", "cliente", "año-2026"),
        notes="Prefiere WhatsApp.\nLlamar por la tarde.",
        opted_out=True,
    )
    with uow_factory(write=True) as uow:
        contact = uow.contacts.add(owner.id, written, "import", NOW)
        uow.commit()

    assert contact.id > 0
    assert contact.user_id == owner.id
    assert contact.draft == written
    assert contact.tags == ("vip", "cliente", "año-2026")  # order kept
    assert contact.source == "import"
    assert contact.created_at == contact.updated_at == NOW
    assert contact.created_at.tzinfo is UTC
    assert contact.last_message is None
    with uow_factory() as uow:
        assert uow.contacts.get(owner.id, contact.id) == contact


def test_optional_fields_stay_empty(uow_factory: SqlUnitOfWorkFactory, owner: User) -> None:
    with uow_factory(write=True) as uow:
        contact = uow.contacts.add(
            owner.id, draft("Solo correo", None, "x@example.com"), "manual", NOW
        )
        uow.commit()
    assert (contact.phone, contact.tags, contact.notes, contact.opted_out) == (
        None,
        (),
        None,
        False,
    )
    assert contact.status == "activo"


def test_times_in_other_offsets_come_back_as_the_same_instant_in_utc(
    add_contact: Callable[..., Contact],
) -> None:
    local = datetime(2026, 11, 26, 13, 0, 0, 1, tzinfo=timezone(timedelta(hours=1)))
    contact = add_contact(now=local)
    assert contact.created_at == datetime(2026, 11, 26, 12, 0, 0, 1, tzinfo=UTC)
    assert contact.created_at.tzinfo is UTC


def test_another_users_contact_is_like_a_missing_one(
    uow_factory: SqlUnitOfWorkFactory,
    add_contact: Callable[..., Contact],
    stranger: User,
    migrated_engine: Engine,
) -> None:
    contact = add_contact(phone="+34600111222")
    with uow_factory(write=True) as uow:
        assert uow.contacts.get(stranger.id, contact.id) is None
        assert uow.contacts.get(contact.user_id, 987654) is None
        assert uow.contacts.delete(stranger.id, contact.id) is False
        assert uow.contacts.delete_many(stranger.id, [contact.id]) == 0
        uow.contacts.save(dataclasses.replace(contact, user_id=stranger.id, name="Robada"))
        uow.commit()
    with uow_factory() as uow:
        assert uow.contacts.get(contact.user_id, contact.id) == contact
        assert uow.contacts.page(stranger.id, ContactQuery()) == ([], 0)
    assert count_contacts(migrated_engine) == 1


def test_save_writes_the_writable_fields_and_updated_at_only(
    uow_factory: SqlUnitOfWorkFactory, add_contact: Callable[..., Contact]
) -> None:
    contact = add_contact(phone="+34600111222", tags=("vip",))
    changed = revised(
        contact,
        draft(
            "Ana G.",
            None,
            "ana.g@example.com",
            status="inactivo",
            tags=("nuevo",),
            notes="n",
            opted_out=True,
        ),
        LATER,
    )
    stale = dataclasses.replace(
        changed, source="import", created_at=LATER, last_message=LATER
    )  # read-only fields: never written
    with uow_factory(write=True) as uow:
        uow.contacts.save(stale)
        uow.commit()
    with uow_factory() as uow:
        assert uow.contacts.get(contact.user_id, contact.id) == changed


def test_save_of_a_deleted_contact_brings_nothing_back(
    uow_factory: SqlUnitOfWorkFactory, add_contact: Callable[..., Contact], migrated_engine: Engine
) -> None:
    contact = add_contact()
    with uow_factory(write=True) as uow:
        assert uow.contacts.delete(contact.user_id, contact.id) is True
        assert uow.contacts.delete(contact.user_id, contact.id) is False
        uow.contacts.save(revised(contact, draft("Fantasma", "+34600000000"), LATER))
        uow.commit()
    assert count_contacts(migrated_engine) == 0


def test_delete_many_counts_only_the_users_own(
    uow_factory: SqlUnitOfWorkFactory,
    add_contact: Callable[..., Contact],
    stranger: User,
) -> None:
    mine = [add_contact(f"Contacto {n}") for n in range(3)]
    theirs = add_contact("Ajeno", user=stranger)
    ids = [mine[0].id, mine[1].id, mine[1].id, theirs.id, 987654]
    with uow_factory(write=True) as uow:
        assert uow.contacts.delete_many(mine[0].user_id, ids) == 2
        assert uow.contacts.delete_many(mine[0].user_id, []) == 0
        uow.commit()
    with uow_factory() as uow:
        assert uow.contacts.page(mine[0].user_id, ContactQuery())[1] == 1
        assert uow.contacts.get(stranger.id, theirs.id) == theirs


def test_delete_many_takes_more_ids_than_one_statement_binds(
    uow_factory: SqlUnitOfWorkFactory, owner: User
) -> None:
    with uow_factory(write=True) as uow:
        ids = [
            uow.contacts.add(owner.id, draft(f"C{n}", f"+3460000{n:04d}"), "manual", NOW).id
            for n in range(1200)
        ]
        uow.commit()
    with uow_factory(write=True) as uow:
        assert uow.contacts.delete_many(owner.id, [*ids, *range(10**6, 10**6 + 40_000)]) == 1200
        uow.commit()


def test_deleting_the_user_deletes_their_contacts(
    uow_factory: SqlUnitOfWorkFactory,
    add_contact: Callable[..., Contact],
    stranger: User,
    migrated_engine: Engine,
) -> None:
    contact = add_contact(phone="+34600111222")
    add_contact("Ajeno", phone="+34600111222", user=stranger)
    with uow_factory(write=True) as uow:
        uow.users.delete(contact.user_id)
        uow.commit()
    assert count_contacts(migrated_engine) == 1


# -- uniqueness ---------------------------------------------------------------------------------


def conflict_of(run: Callable[[], object]) -> str:
    with pytest.raises(Conflict) as raised:
        run()
    return raised.value.code


def test_a_users_phones_and_emails_are_unique(
    uow_factory: SqlUnitOfWorkFactory, add_contact: Callable[..., Contact], stranger: User
) -> None:
    first = add_contact("Ana", "+34600111222", "ana@example.com")
    user_id = first.user_id
    with uow_factory(write=True) as uow:
        add = uow.contacts.add
        assert conflict_of(lambda: add(user_id, draft("B", "+34600111222"), "manual", NOW)) == (
            "contact.phone_taken"
        )
        assert conflict_of(
            lambda: add(user_id, draft("C", None, "ana@example.com"), "manual", NOW)
        ) == ("contact.email_taken")
        both = conflict_of(
            lambda: add(user_id, draft("D", "+34600111222", "ana@example.com"), "manual", NOW)
        )
        assert both in {"contact.phone_taken", "contact.email_taken"}
        # The unit of work carries on; other users, and missing phones or emails, never clash.
        add(user_id, draft("E", None, "e@example.com"), "manual", NOW)
        add(user_id, draft("F", None, "f@example.com"), "manual", NOW)
        add(user_id, draft("G", "+34600000001", None), "manual", NOW)
        add(user_id, draft("H", "+34600000002", None), "manual", NOW)
        add(stranger.id, draft("Ana", "+34600111222", "ana@example.com"), "manual", NOW)
        uow.commit()
    with uow_factory() as uow:
        assert uow.contacts.page(user_id, ContactQuery())[1] == 5


def test_save_refuses_another_contacts_phone_or_email(
    uow_factory: SqlUnitOfWorkFactory, add_contact: Callable[..., Contact]
) -> None:
    ana = add_contact("Ana", "+34600111222", "ana@example.com")
    bea = add_contact("Bea", "+34600333444", "bea@example.com")
    with uow_factory(write=True) as uow:
        save = uow.contacts.save
        taking_phone = revised(bea, dataclasses.replace(bea.draft, phone=ana.phone), LATER)
        taking_email = revised(bea, dataclasses.replace(bea.draft, email=ana.email), LATER)
        assert conflict_of(lambda: save(taking_phone)) == "contact.phone_taken"
        assert conflict_of(lambda: save(taking_email)) == "contact.email_taken"
        # Keeping its own phone and email is no conflict.
        save(revised(ana, dataclasses.replace(ana.draft, name="Ana B."), LATER))
        uow.commit()
    with uow_factory() as uow:
        assert uow.contacts.get(bea.user_id, bea.id) == bea
        stored = uow.contacts.get(ana.user_id, ana.id)
    assert stored is not None
    assert stored.name == "Ana B."


def test_racing_writers_of_one_phone_end_in_one_contact_and_one_conflict(
    uow_factory: SqlUnitOfWorkFactory, owner: User, migrated_engine: Engine
) -> None:
    """The unique constraint decides, not a prior lookup: the loser gets ``Conflict``."""
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def create(name: str) -> None:
        try:
            start.wait(timeout=10)
            with uow_factory(write=True) as uow:
                uow.contacts.add(owner.id, draft(name, "+34600111222"), "manual", NOW)
                time.sleep(0.1)  # commit late, while the other is inserting
                uow.commit()
            outcomes.append("created")
        except Conflict as conflict:
            outcomes.append(conflict.code)
        except BaseException as error:  # reported below, in the test's thread
            outcomes.append(repr(error))

    threads = [threading.Thread(target=create, args=(name,)) for name in ("Uno", "Dos")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["contact.phone_taken", "created"]
    assert count_contacts(migrated_engine) == 1


# -- the list -----------------------------------------------------------------------------------


@pytest.fixture
def five(add_contact: Callable[..., Contact]) -> list[Contact]:
    """Five contacts created a minute apart, the last two at the same moment."""
    moments = [NOW, NOW + timedelta(minutes=1), NOW + timedelta(minutes=2)] + [
        NOW + timedelta(minutes=3)
    ] * 2
    specs = [
        ("beatriz Ruiz", "inactivo", ("vip",)),
        ("Álvaro Díaz", "activo", ("vip", "cliente")),
        ("carlos Gómez", "activo", ()),
        ("Ana Pérez", "inactivo", ("cliente",)),
        ("Ángela Sanz", "activo", ("cliente", "vip", "madrid")),
    ]
    return [
        add_contact(name, status=status, tags=tags, now=moment)
        for (name, status, tags), moment in zip(specs, moments, strict=True)
    ]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        # Case and accents don't count; ties go by id in the sort's direction.
        ("name", ["Álvaro Díaz", "Ana Pérez", "Ángela Sanz", "beatriz Ruiz", "carlos Gómez"]),
        ("-name", ["carlos Gómez", "beatriz Ruiz", "Ángela Sanz", "Ana Pérez", "Álvaro Díaz"]),
        ("created_at", ["beatriz Ruiz", "Álvaro Díaz", "carlos Gómez", "Ana Pérez", "Ángela Sanz"]),
        (
            "-created_at",
            ["Ángela Sanz", "Ana Pérez", "carlos Gómez", "Álvaro Díaz", "beatriz Ruiz"],
        ),
    ],
)
def test_sorts(
    uow_factory: SqlUnitOfWorkFactory,
    owner: User,
    five: list[Contact],
    sort: ContactSort,
    expected: list[str],
) -> None:
    assert listed(uow_factory, owner, sort=sort) == (expected, 5)


def test_pages(uow_factory: SqlUnitOfWorkFactory, owner: User, five: list[Contact]) -> None:
    newest_first = ["Ángela Sanz", "Ana Pérez", "carlos Gómez", "Álvaro Díaz", "beatriz Ruiz"]
    assert listed(uow_factory, owner, per_page=2) == (newest_first[:2], 5)
    assert listed(uow_factory, owner, page=2, per_page=2) == (newest_first[2:4], 5)
    assert listed(uow_factory, owner, page=3, per_page=2) == (newest_first[4:], 5)
    assert listed(uow_factory, owner, page=4, per_page=2) == ([], 5)  # past the end
    assert listed(uow_factory, owner, page=1_000_000_000, per_page=100) == ([], 5)
    assert listed(uow_factory, owner, per_page=5) == (newest_first, 5)
    assert listed(uow_factory, owner, page=2, per_page=5) == ([], 5)


def test_status_and_tags_filters(
    uow_factory: SqlUnitOfWorkFactory, owner: User, five: list[Contact]
) -> None:
    assert listed(uow_factory, owner, status="inactivo") == (["Ana Pérez", "beatriz Ruiz"], 2)
    assert listed(uow_factory, owner, tags=("vip",)) == (
        ["Ángela Sanz", "Álvaro Díaz", "beatriz Ruiz"],
        3,
    )
    # Every tag asked for, in any order.
    assert listed(uow_factory, owner, tags=("vip", "cliente")) == (
        ["Ángela Sanz", "Álvaro Díaz"],
        2,
    )
    assert listed(uow_factory, owner, tags=("cliente", "vip", "madrid")) == (["Ángela Sanz"], 1)
    assert listed(uow_factory, owner, tags=("vip", "nadie")) == ([], 0)
    assert listed(uow_factory, owner, tags=("vip",), status="activo", sort="name") == (
        ["Álvaro Díaz", "Ángela Sanz"],
        2,
    )
    assert listed(uow_factory, owner, tags=("vip",), page=2, per_page=2) == (["beatriz Ruiz"], 3)


def test_a_tag_is_matched_whole(
    add_contact: Callable[..., Contact], uow_factory: SqlUnitOfWorkFactory, owner: User
) -> None:
    """Part of a tag, or several tags run together, is not a tag; SQL wildcards are literal."""
    add_contact("Uno", tags=("vip-gold", "a b"))
    add_contact("Dos", tags=("100%", "x_y"))
    add_contact("Tres", tags=("v",))
    for absent in ("vip", "gold", "a", "ip-go", "100", "x", "y", "%", "_"):
        assert listed(uow_factory, owner, tags=(absent,)) == ([], 0), absent
    assert listed(uow_factory, owner, tags=("vip-gold",)) == (["Uno"], 1)
    assert listed(uow_factory, owner, tags=("a b",)) == (["Uno"], 1)
    assert listed(uow_factory, owner, tags=("100%",)) == (["Dos"], 1)
    assert listed(uow_factory, owner, tags=("x_y",)) == (["Dos"], 1)
    assert listed(uow_factory, owner, tags=("v",)) == (["Tres"], 1)


# -- stats --------------------------------------------------------------------------------------


def test_stats(
    uow_factory: SqlUnitOfWorkFactory,
    add_contact: Callable[..., Contact],
    owner: User,
    stranger: User,
) -> None:
    week = timedelta(days=7)
    add_contact("Vieja", now=NOW - week - timedelta(microseconds=1))
    add_contact("Justo una semana", now=NOW - week)
    add_contact("Dada de baja", status="activo", opted_out=True, now=NOW - timedelta(days=1))
    add_contact("Inactiva", status="inactivo", now=NOW)
    add_contact("Ajena", user=stranger, now=NOW)
    with uow_factory() as uow:
        mine = uow.contacts.stats(owner.id, NOW)
        nobody = uow.contacts.stats(987654, NOW)
    assert mine == ContactStats(total=4, active=3, inactive=1, recent=3)
    assert nobody == ContactStats(0, 0, 0, 0)


# -- the export stream --------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["name", "-name", "created_at", "-created_at"])
def test_stream_gives_every_match_in_the_lists_order(
    uow_factory: SqlUnitOfWorkFactory, owner: User, sort: ContactSort
) -> None:
    with uow_factory(write=True) as uow:
        for n in range(23):
            # Few distinct names and moments: many ties, which batches must not lose or repeat.
            uow.contacts.add(
                owner.id,
                draft(f"Nombre {n % 4}", f"+346000000{n:02d}", tags=("par",) if n % 2 == 0 else ()),
                "manual",
                NOW + timedelta(seconds=n % 3),
            )
        uow.commit()
    for query in (
        ContactQuery(sort=sort, per_page=100),
        ContactQuery(sort=sort, per_page=100, tags=("par",)),
    ):
        with uow_factory() as uow:
            expected, total = uow.contacts.page(owner.id, query)
            connection = uow._connection
            streamed = list(SqlContacts(connection, stream_batch=5).stream(owner.id, query))
        assert streamed == expected
        assert len(streamed) == total


def test_stream_fetches_batch_by_batch(
    uow_factory: SqlUnitOfWorkFactory, owner: User, migrated_engine: Engine
) -> None:
    """Memory stays flat: each SELECT asks for one batch, and the next is only fetched when the
    consumer gets there."""
    with uow_factory(write=True) as uow:
        for n in range(12):
            uow.contacts.add(owner.id, draft(f"C{n}", f"+3460000{n:04d}"), "manual", NOW)
        uow.commit()
    selects: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "contacts" in statement:
            selects.append(statement)

    with uow_factory() as uow:
        stream: Iterator[Contact] = SqlContacts(uow._connection, stream_batch=5).stream(
            owner.id, ContactQuery()
        )
        sa.event.listen(uow._connection, "before_cursor_execute", record)
        try:
            assert selects == []  # nothing is read before the consumer asks
            first = [next(stream) for _ in range(5)]
            assert len(selects) == 1
            sixth = next(stream)
            assert len(selects) == 2
            rest = list(stream)
        finally:
            sa.event.remove(uow._connection, "before_cursor_execute", record)
    assert len(first) + 1 + len(rest) == 12
    assert sixth not in first
    assert len(selects) == 3  # 5 + 5 + 2: the short batch ends the walk
    assert all("LIMIT" in statement.upper() for statement in selects)


# Remembered pages: a list read again while nothing changed is not read again, and any change
# (from this process or another) is seen at once.


@pytest.fixture
def other_process(
    migrated_engine: Engine, secret_box: FernetSecretBox
) -> Iterator[SqlUnitOfWorkFactory]:
    """A second factory on the same database: what another server process would write with."""
    factory = SqlUnitOfWorkFactory(migrated_engine, secret_box)
    yield factory
    factory.close()


def _page(factory: SqlUnitOfWorkFactory, user: User, **query: Any) -> tuple[list[Contact], int]:
    with factory() as uow:
        return uow.contacts.page(user.id, ContactQuery(**query))


def test_a_page_read_again_while_unchanged_is_the_one_remembered(
    uow_factory: SqlUnitOfWorkFactory, owner: User, add_contact: Callable[..., Contact]
) -> None:
    add_contact("Ana", "+34600111222")
    first = _page(uow_factory, owner, search="ana")
    assert _page(uow_factory, owner, search="ana") is first
    assert _page(uow_factory, owner, search="ana", per_page=10) is not first


def _write_each_way(factory: SqlUnitOfWorkFactory, owner: User) -> Iterator[str]:
    """Change the owner's contacts in every way the repository can, one commit each, naming
    each change after it is made."""
    with factory(write=True) as uow:
        added = uow.contacts.add(owner.id, draft("Bea", "+34600000002"), "manual", NOW)
        uow.commit()
    yield "add"
    with factory(write=True) as uow:
        uow.contacts.save(revised(added, draft("Bea Ruiz", "+34600000002"), LATER))
        uow.commit()
    yield "save"
    with factory(write=True) as uow:
        uow.contacts.import_batch(owner.id, [_imported("Carla", "+34600000003")], "skip", NOW)
        uow.commit()
    yield "import"
    with factory(write=True) as uow:
        uow.contacts.delete(owner.id, added.id)
        uow.commit()
    yield "delete"
    with factory(write=True) as uow:
        ids = [contact.id for contact in uow.contacts.page(owner.id, ContactQuery())[0]]
        uow.contacts.delete_many(owner.id, ids)
        uow.commit()
    yield "delete_many"


def _imported(name: str, phone: str) -> ImportedRow:
    return ImportedRow(2, draft(name, phone), frozenset({"name", "phone"}))


@pytest.mark.parametrize("writer", ["this process", "another process"])
def test_every_change_is_seen_by_the_next_read(
    uow_factory: SqlUnitOfWorkFactory,
    other_process: SqlUnitOfWorkFactory,
    migrated_engine: Engine,
    secret_box: FernetSecretBox,
    owner: User,
    stranger: User,
    add_contact: Callable[..., Contact],
    writer: str,
) -> None:
    add_contact("Ana", "+34600111222")
    add_contact("Zoe", "+34600999999", user=stranger)
    factory = uow_factory if writer == "this process" else other_process
    before = _page(uow_factory, owner)
    strangers_before = _page(uow_factory, stranger)
    for change in _write_each_way(factory, owner):
        after = _page(uow_factory, owner)
        fresh = SqlUnitOfWorkFactory(migrated_engine, secret_box)  # nothing remembered
        truth = _page(fresh, owner)
        fresh.close()
        assert after == truth, change
        assert after != before, change
        before = after
    assert _page(uow_factory, stranger) is strangers_before  # others' pages are kept


def test_owned_ids_keeps_only_the_users_own_contacts(
    uow_factory: SqlUnitOfWorkFactory,
    owner: User,
    stranger: User,
    add_contact: Callable[..., Contact],
) -> None:
    mine = add_contact("Ana", "+34600111222")
    theirs = add_contact("Zoe", "+34600999999", user=stranger)
    # Past one batch of ids (500), with the two real ones at either end.
    asked = [mine.id, *range(10_000, 10_600), theirs.id]
    with uow_factory() as uow:
        assert uow.contacts.owned_ids(owner.id, asked) == {mine.id}
        assert uow.contacts.owned_ids(stranger.id, asked) == {theirs.id}
        assert uow.contacts.owned_ids(owner.id, []) == set()
