"""``ContactRepository.import_batch`` on SQLite and PostgreSQL: new rows, rows whose contact
exists (by phone or by email), rows repeating earlier rows, ``skip`` and ``update``, batches
larger than one statement, concurrent writers, and all-or-nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nexus_adapters.sql import tables
from nexus_adapters.sql.repositories import contact_import
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.contact_files import SourceRow
from nexus_core.domain.contact_imports import (
    ImportedRow,
    ImportTally,
    OnDuplicate,
    RowFate,
    Settlement,
    map_headers,
    read_row,
)
from nexus_core.domain.contact_queries import ContactQuery
from nexus_core.domain.contact_records import Contact
from nexus_core.domain.contacts import ContactDraft
from nexus_core.domain.users import User
from tests.adapters.databases import only_postgresql

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
ALL_CELLS = frozenset({"name", "phone", "email", "status", "tags", "notes", "opted_out"})


def row(
    number: int,
    name: str,
    phone: str | None = None,
    email: str | None = None,
    *,
    given: frozenset[str] | None = None,
    **fields: Any,
) -> ImportedRow:
    contact = ContactDraft(name, phone, email, **fields)
    cells = {"name"} | {key for key, value in (("phone", phone), ("email", email)) if value}
    return ImportedRow(
        number, contact, given if given is not None else frozenset(cells | fields.keys())
    )


@pytest.fixture
def owner(add_user: Callable[..., User]) -> User:
    return add_user("ana@example.com")


@pytest.fixture
def run_import(uow_factory: SqlUnitOfWorkFactory, owner: User) -> Callable[..., list[Settlement]]:
    def run(
        rows: Sequence[ImportedRow], on_duplicate: OnDuplicate = "skip", now: datetime = LATER
    ) -> list[Settlement]:
        with uow_factory(write=True) as uow:
            settled = uow.contacts.import_batch(owner.id, rows, on_duplicate, now)
            uow.commit()
        return settled

    return run


@pytest.fixture
def stored(uow_factory: SqlUnitOfWorkFactory, owner: User) -> Callable[[], dict[str, Contact]]:
    """The owner's contacts by name."""

    def read() -> dict[str, Contact]:
        with uow_factory() as uow:
            return {c.name: c for c in uow.contacts.stream(owner.id, ContactQuery())}

    return read


@pytest.fixture
def existing(uow_factory: SqlUnitOfWorkFactory, owner: User) -> Contact:
    """Ana, added by hand earlier: a phone, an email, a tag, notes, and opted out."""
    with uow_factory(write=True) as uow:
        contact = uow.contacts.add(
            owner.id,
            ContactDraft(
                "Ana Antigua",
                "+34600111222",
                "ana@example.com",
                status="activo",
                tags=("vip",),
                notes="Nota a mano",
                opted_out=True,
            ),
            "manual",
            NOW,
        )
        uow.commit()
    return contact


def test_new_rows_are_imported(
    run_import: Callable[..., list[Settlement]],
    stored: Callable[[], dict[str, Contact]],
    owner: User,
) -> None:
    settled = run_import(
        [
            row(2, "Uno", "+34600000001", tags=("a", "b"), notes="n", status="inactivo"),
            row(3, "Dos", None, "dos@example.com", opted_out=True),
        ]
    )
    assert settled == ["imported", "imported"]
    contacts = stored()
    uno, dos = contacts["Uno"], contacts["Dos"]
    assert (uno.phone, uno.email, uno.tags, uno.notes, uno.status) == (
        "+34600000001", None, ("a", "b"), "n", "inactivo",
    )  # fmt: skip
    assert (dos.phone, dos.email, dos.opted_out) == (None, "dos@example.com", True)
    for contact in (uno, dos):
        assert contact.user_id == owner.id
        assert contact.source == "import"
        assert contact.created_at == contact.updated_at == LATER
        assert contact.last_message is None
    assert uno.id < dos.id  # in file order


def test_under_skip_existing_contacts_are_duplicates_and_stay_as_they_were(
    run_import: Callable[..., list[Settlement]],
    stored: Callable[[], dict[str, Contact]],
    existing: Contact,
) -> None:
    settled = run_import(
        [
            row(2, "Por teléfono", "+34600111222", "otra@example.com"),
            row(3, "Por correo", "+34699999999", "ana@example.com"),
            row(4, "Nueva", "+34611111111"),
        ]
    )
    assert settled == ["duplicate", "duplicate", "imported"]
    assert stored() == {"Ana Antigua": existing, "Nueva": stored()["Nueva"]}


def test_under_update_cells_overwrite_tags_add_and_an_opt_out_stays(
    run_import: Callable[..., list[Settlement]],
    stored: Callable[[], dict[str, Contact]],
    existing: Contact,
) -> None:
    settled = run_import(
        [
            row(
                2,
                "Ana Nueva",
                "+34600111222",
                None,
                tags=("cliente", "vip"),
                status="inactivo",
                notes="De la hoja",
                opted_out=False,
            )
        ],
        "update",
    )
    assert settled == ["updated"]
    ana = stored()["Ana Nueva"]
    assert ana.id == existing.id
    assert ana.email == "ana@example.com"  # a blank cell never clears
    assert ana.tags == ("vip", "cliente")
    assert (ana.status, ana.notes) == ("inactivo", "De la hoja")
    assert ana.opted_out is True  # an import never undoes an opt-out
    assert (ana.source, ana.created_at, ana.updated_at) == ("manual", NOW, LATER)


def test_under_update_blank_cells_keep_what_was_there(
    run_import: Callable[..., list[Settlement]],
    stored: Callable[[], dict[str, Contact]],
    existing: Contact,
) -> None:
    # Only name and email were written: status reads as activo and notes as empty, unwritten.
    run_import(
        [row(2, "Ana", None, "ana@example.com", given=frozenset({"name", "email"}))], "update"
    )
    ana = stored()["Ana"]
    assert (ana.phone, ana.notes, ana.tags, ana.status) == (
        "+34600111222",
        "Nota a mano",
        ("vip",),
        "activo",
    )


def test_an_update_leaving_everything_as_it_was_writes_nothing(
    run_import: Callable[..., list[Settlement]],
    stored: Callable[[], dict[str, Contact]],
    existing: Contact,
) -> None:
    assert run_import([row(2, "Ana Antigua", "+34600111222", tags=("vip",))], "update") == [
        "updated"
    ]
    assert stored()["Ana Antigua"] == existing  # updated_at untouched


def test_a_row_never_takes_a_phone_or_email_from_another_contact(
    uow_factory: SqlUnitOfWorkFactory,
    owner: User,
    run_import: Callable[..., list[Settlement]],
    stored: Callable[[], dict[str, Contact]],
    existing: Contact,
) -> None:
    """Its phone leads to Ana, its email is Bea's: Ana is updated and keeps her own email."""
    with uow_factory(write=True) as uow:
        bea = uow.contacts.add(
            owner.id, ContactDraft("Bea", "+34600333444", "bea@example.com"), "manual", NOW
        )
        uow.commit()
    assert run_import(
        [row(2, "Ana Mezcla", "+34600111222", "bea@example.com", notes="x")], "update"
    ) == ["updated"]
    contacts = stored()
    assert contacts["Ana Mezcla"].email == "ana@example.com"
    assert contacts["Ana Mezcla"].notes == "x"
    assert contacts["Bea"] == bea


def test_rows_repeating_earlier_rows_of_the_batch(
    run_import: Callable[..., list[Settlement]],
    stored: Callable[[], dict[str, Contact]],
    existing: Contact,
) -> None:
    rows = [
        row(2, "Nuevo", "+34611000001", tags=("a",)),
        row(3, "Nuevo repetido", "+34611000001", "nuevo@example.com", tags=("b",)),
        row(4, "Nuevo por correo", None, "nuevo@example.com", notes="tercera"),
        row(5, "Ana otra vez", "+34600111222", tags=("c",)),
        row(6, "Ana y otra vez", None, "ana@example.com", tags=("d",)),
    ]
    assert run_import(rows, "skip") == [
        "imported",
        "duplicate",
        "duplicate",
        "duplicate",
        "duplicate",
    ]
    first = stored()
    assert set(first) == {"Ana Antigua", "Nuevo"}
    assert first["Nuevo"].email is None  # under skip the first row wins, whole


def test_later_rows_of_the_batch_update_earlier_ones(
    run_import: Callable[..., list[Settlement]],
    stored: Callable[[], dict[str, Contact]],
    existing: Contact,
) -> None:
    rows = [
        row(2, "Nuevo", "+34611000001", tags=("a",)),
        row(3, "Nuevo repetido", "+34611000001", "nuevo@example.com", tags=("b",)),
        row(4, "Nuevo por correo", None, "nuevo@example.com", notes="tercera"),
        row(5, "Ana otra vez", "+34600111222", tags=("c",)),
        row(6, "Ana y otra vez", None, "ana@example.com", tags=("d",)),
    ]
    assert run_import(rows, "update") == ["imported", "updated", "updated", "updated", "updated"]
    contacts = stored()
    assert set(contacts) == {"Ana y otra vez", "Nuevo por correo"}
    nuevo = contacts["Nuevo por correo"]
    assert (nuevo.phone, nuevo.email, nuevo.tags, nuevo.notes) == (
        "+34611000001", "nuevo@example.com", ("a", "b"), "tercera",
    )  # fmt: skip
    assert nuevo.source == "import"
    assert contacts["Ana y otra vez"].tags == ("vip", "c", "d")


def test_large_batches_run_in_several_statements_as_one(
    run_import: Callable[..., list[Settlement]],
    stored: Callable[[], dict[str, Contact]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Rows repeating a row of an earlier statement's share are found in the database."""
    monkeypatch.setattr(contact_import, "BATCH_ROWS", 7)
    rows = [row(n + 2, f"C{n}", f"+346000{n:05d}", tags=("t",)) for n in range(30)]
    rows += [
        row(40, "C3 otra vez", "+34600000003", tags=("u",)),
        row(41, "C29 otra", "+34600000029"),
    ]
    assert run_import(rows, "update") == ["imported"] * 30 + ["updated", "updated"]
    contacts = stored()
    assert len(contacts) == 30
    assert contacts["C3 otra vez"].tags == ("t", "u")


def test_a_thousand_rows_in_a_few_statements(
    uow_factory: SqlUnitOfWorkFactory, owner: User, existing: Contact
) -> None:
    """Set-based: a batch costs the same handful of statements whatever its size."""
    rows = [row(n + 2, f"C{n}", f"+346000{n:05d}", f"c{n}@example.com") for n in range(999)]
    rows.append(row(1001, "Ana", "+34600111222", notes="cambio"))  # a full batch: 1,000 rows
    statements: list[str] = []
    with uow_factory(write=True) as uow:
        connection = uow._connection
        sa.event.listen(
            connection, "before_cursor_execute", lambda *args: statements.append(args[2])
        )
        settled = uow.contacts.import_batch(owner.id, rows, "update", LATER)
        uow.commit()
    assert settled == ["imported"] * 999 + ["updated"]
    work = [s for s in statements if not s.lstrip().upper().startswith(("SAVEPOINT", "RELEASE"))]
    # One lookup, one UPDATE, one INSERT, and the owner's contacts version moved.
    assert len(work) == 4, work
    with uow_factory() as uow:
        assert uow.contacts.stats(owner.id, LATER).total == 1000


def test_counts_add_up_through_the_tally(
    uow_factory: SqlUnitOfWorkFactory, owner: User, existing: Contact
) -> None:
    """The way the import use case drives it: the tally decides within the file, the
    repository against the database, and the counts cover every row once."""
    cells = [
        ("Nombre", "Teléfono", "Correo"),
        ("Ana", "+34600111222", ""),  # exists
        ("Bea", "600 333 444", "bea@example.com"),  # new
        ("Bea bis", "", "BEA@example.com"),  # repeats Bea
        ("", "", ""),  # blank
        ("Sin contacto", "", ""),  # invalid
        ("Carla", "+34600555666", "ana@example.com"),  # exists, by email
    ]
    columns = map_headers(cells[0])
    for on_duplicate, expected in (("skip", (1, 0, 3, 1)), ("update", (1, 3, 0, 1))):
        tally = ImportTally(on_duplicate)  # type: ignore[arg-type]
        waiting: list[tuple[ImportedRow, RowFate]] = []
        for number, line in enumerate(cells[1:], start=2):
            outcome = read_row(SourceRow(number, line), columns, "ES")
            fate = tally.observe(outcome)
            if isinstance(outcome, ImportedRow) and (fate == "new" or fate == "update"):
                waiting.append((outcome, fate))
        with uow_factory(write=True) as uow:
            settled = uow.contacts.import_batch(
                owner.id, [r for r, _ in waiting], tally.on_duplicate, LATER
            )
            for (_, fate), settlement in zip(waiting, settled, strict=True):
                if fate == "new":
                    tally.settle(exists=settlement != "imported")
            # Leave the database as it was for the second pass.
        counts = tally.counts()
        assert (counts.imported, counts.updated, counts.duplicate, counts.invalid) == expected
        assert counts.total_rows == 5
        assert tally.pending == 0


def test_nothing_stays_when_the_import_fails_midway(
    uow_factory: SqlUnitOfWorkFactory,
    owner: User,
    existing: Contact,
    stored: Callable[[], dict[str, Contact]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two batches written, then a third failing after its own UPDATE and INSERT ran: the
    unit of work ends without commit and the database is as it was before the import."""
    real_write = contact_import._write
    writes = 0

    def write_then_fail_the_third(*args: Any) -> None:
        nonlocal writes
        writes += 1
        real_write(*args)
        if writes == 3:
            raise RuntimeError("the disk is full")

    monkeypatch.setattr(contact_import, "_write", write_then_fail_the_third)
    batches = [
        [row(2, "Ana cambiada", "+34600111222", notes="cambio")],
        [row(3 + n, f"C{n}", f"+346000{n:05d}") for n in range(50)],
        [row(100, "C0 otra vez", "+34600000000", notes="x"), row(101, "Nueva", "+34611111111")],
    ]
    before = stored()

    def import_everything() -> None:
        with uow_factory(write=True) as uow:
            for batch in batches:
                uow.contacts.import_batch(owner.id, batch, "update", LATER)
            uow.commit()

    with pytest.raises(RuntimeError, match="disk is full"):
        import_everything()
    assert writes == 3
    assert stored() == before


@only_postgresql
def test_a_contact_stored_meanwhile_by_another_writer_is_found_on_the_retry(
    uow_factory: SqlUnitOfWorkFactory,
    owner: User,
    dialect: str,
    stored: Callable[[], dict[str, Contact]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Between the lookup and the INSERT a concurrent writer commits a contact with a phone of
    the batch: ON CONFLICT skips that row, the batch is planned again from what is there now,
    and the row settles against the new contact (an update)."""
    real_plan = contact_import._plan
    plans = 0

    def add_rival() -> None:
        with uow_factory(write=True) as other:
            other.contacts.add(owner.id, ContactDraft("Rival", "+34611000002", None), "manual", NOW)
            other.commit()

    def plan_then_be_overtaken(*args: Any) -> Any:
        nonlocal plans
        plans += 1
        planned = real_plan(*args)
        if plans == 1:
            rival = threading.Thread(target=add_rival)
            rival.start()
            rival.join(timeout=30)
        return planned

    monkeypatch.setattr(contact_import, "_plan", plan_then_be_overtaken)
    rows = [
        row(2, "Uno", "+34611000001"),
        row(3, "Dos", "+34611000002"),
        row(4, "Tres", "+34611000003"),
    ]
    with uow_factory(write=True) as uow:
        settled = uow.contacts.import_batch(owner.id, rows, "update", LATER)
        uow.commit()
    assert settled == ["imported", "updated", "imported"]
    assert plans == 2
    assert set(stored()) == {"Uno", "Dos", "Tres"}


def test_under_skip_the_unique_indexes_decide_with_nothing_read_first(
    uow_factory: SqlUnitOfWorkFactory,
    owner: User,
    stored: Callable[[], dict[str, Contact]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A contact stored by another writer just before the batch's INSERT (here: before it)
    makes its row a duplicate; no lookup is planned."""

    def never(*args: Any) -> Any:
        raise AssertionError("a skip batch of distinct keys needs no lookup")

    monkeypatch.setattr(contact_import, "_plan", never)
    with uow_factory(write=True) as other:
        other.contacts.add(owner.id, ContactDraft("Rival", None, "dos@example.com"), "manual", NOW)
        other.commit()
    rows = [
        row(2, "Uno", "+34611000001"),
        row(3, "Dos", "+34611000002", "dos@example.com"),
        row(4, "Tres", None, "tres@example.com"),
    ]
    with uow_factory(write=True) as uow:
        settled = uow.contacts.import_batch(owner.id, rows, "skip", LATER)
        uow.commit()
    assert settled == ["imported", "duplicate", "imported"]
    assert set(stored()) == {"Uno", "Rival", "Tres"}


def test_imports_of_two_users_never_meet(
    uow_factory: SqlUnitOfWorkFactory,
    owner: User,
    add_user: Callable[..., User],
    existing: Contact,
    migrated_engine: Engine,
) -> None:
    other = add_user("bob@example.com")
    with uow_factory(write=True) as uow:
        settled = uow.contacts.import_batch(
            other.id, [row(2, "Ana de Bob", "+34600111222", "ana@example.com")], "update", LATER
        )
        uow.commit()
    assert settled == ["imported"]
    with uow_factory() as uow:
        assert uow.contacts.get(owner.id, existing.id) == existing
    with migrated_engine.connect() as connection:
        owners = connection.execute(sa.select(tables.contacts.c.user_id)).scalars().all()
    assert sorted(owners) == sorted([owner.id, other.id])
