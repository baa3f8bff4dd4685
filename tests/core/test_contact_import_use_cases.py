"""Importing a file through the use case, on in-memory fakes: counts, errors, duplicates, the
import's record, all or nothing when the file breaks part-way, and the rate limit."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, BinaryIO

import pytest

from nexus_core.domain.contact_files import ContactTable, SourceRow, UnreadableFile
from nexus_core.domain.contact_imports import MAX_ROW_ERRORS, ImportedRow, OnDuplicate, Settlement
from nexus_core.domain.contact_records import Contact
from nexus_core.domain.import_history import ImportCounts, ImportedFile
from nexus_core.domain.rate_limits import Limit
from nexus_core.domain.users import User
from nexus_core.errors import Conflict, TooManyAttempts, ValidationFailed
from nexus_core.testing.fakes import (
    FakeClock,
    FakeContactFileReader,
    FakeContacts,
    FakeHasher,
    FakeStore,
    FakeTokens,
    FakeUnitOfWork,
)
from nexus_core.use_cases import accounts, contact_imports, contacts
from nexus_core.use_cases.contact_imports import BATCH_ROWS, ImportReport
from nexus_core.use_cases.context import Ports


@dataclasses.dataclass
class World:
    store: FakeStore
    clock: FakeClock
    ports: Ports
    ana: User

    def contacts(self, user: User | None = None) -> list[Contact]:
        owner = (user or self.ana).id
        return sorted(
            (c for c in self.store.state.contacts.values() if c.user_id == owner),
            key=lambda c: c.id,
        )

    def records(self) -> list[ImportedFile]:
        return sorted(self.store.state.imports.values(), key=lambda r: r.id)

    def run(
        self, text: str | bytes, filename: str = "clientes.csv", **options: Any
    ) -> ImportReport:
        data = text.encode() if isinstance(text, str) else text
        return contact_imports.import_contacts(
            self.ports, options.pop("owner", self.ana), filename=filename,
            content=io.BytesIO(data), **options,
        )  # fmt: skip


def make_world(limit: Limit | None = None) -> World:
    store, clock = FakeStore(), FakeClock()
    ports = Ports(store, FakeHasher(), FakeTokens(), clock, FakeContactFileReader())
    if limit is not None:
        ports = dataclasses.replace(ports, import_limit=limit)
    ana = accounts.register(ports, email="ana@example.com", password="x" * 10, name="Ana").user
    return World(store, clock, ports, ana)


@pytest.fixture
def world() -> World:
    return make_world()


def csv_rows(count: int, start: int = 0) -> str:
    return "".join(f"Persona {i},+3460{i:07d}\n" for i in range(start, start + count))


# --- a readable file -------------------------------------------------------------------------

MIXED = """nombre,teléfono,correo,etiquetas,notas,estado,baja
Ana Pérez,600 111 222,ANA@example.com,Cliente;VIP,Primera,activo,no
Luis Gil,611222333,,,,inactive,sí
,622333444,,,,,
,,,,,,
Marta Ruiz,12,,,,,
Ana Bis,+34600111222,,,,,
Bea,,bea@example.com,,,talvez,
"""


def test_a_file_is_imported_counted_and_recorded(world: World) -> None:
    world.clock.advance(timedelta(minutes=1))
    report = world.run(MIXED, tags="Feria 2026, vip")

    ana, luis = world.contacts()
    assert (ana.name, ana.phone, ana.email, ana.notes) == (
        "Ana Pérez",
        "+34600111222",
        "ana@example.com",
        "Primera",
    )
    assert ana.tags == ("cliente", "vip", "feria 2026")
    assert (luis.status, luis.opted_out, luis.tags) == ("inactivo", True, ("feria 2026", "vip"))
    assert {c.source for c in (ana, luis)} == {"import"}
    assert ana.created_at == world.clock.now

    counts = report.record.counts
    assert counts == ImportCounts(total_rows=6, imported=2, updated=0, duplicate=1, invalid=3)
    assert [(p.row, p.code) for p in report.errors] == [
        (4, "import.name_required"),
        (6, "phone.invalid"),
        (8, "contact.status_invalid"),
    ]
    assert (report.record.status, report.record.filename, report.record.file_type) == (
        "completed",
        "clientes.csv",
        "csv",
    )
    assert report.record.error_message is None
    assert report.record.completed_at == world.clock.now
    assert world.records() == [report.record]


def test_the_counts_always_add_up_to_the_rows(world: World) -> None:
    world.run("name,phone\nUno,600000001\n")
    for on_duplicate in ("skip", "update"):
        report = world.run(MIXED + "Uno,600000001\n", on_duplicate=on_duplicate)
        counts = report.record.counts
        assert counts.total_rows == 7
        assert counts.imported + counts.updated + counts.duplicate + counts.invalid == 7


def test_skip_keeps_existing_contacts_and_the_files_first_rows(world: World) -> None:
    existing = contacts.create_contact(
        world.ports, world.ana, {"name": "Ana", "phone": "600111222", "tags": ["vieja"]}
    )
    report = world.run(
        "name,phone,email,tags\n"
        "Ana Nueva,600111222,ana@example.com,nueva\n"
        "Luis,611222333,,\n"
        "Luis Otra Vez,611222333,luis@example.com,\n"
    )
    assert report.record.counts == ImportCounts(3, imported=1, updated=0, duplicate=2, invalid=0)
    stored_ana, luis = world.contacts()
    assert stored_ana == existing
    assert (luis.name, luis.email) == ("Luis", None)


def test_update_overwrites_with_non_empty_cells_and_adds_tags(world: World) -> None:
    existing = contacts.create_contact(
        world.ports,
        world.ana,
        {"name": "Ana", "phone": "600111222", "notes": "Guardada", "tags": ["vieja"]},
    )
    world.clock.advance(timedelta(minutes=1))
    report = world.run(
        "name,phone,email,notes,tags\n"
        "Ana Nueva,600111222,ana@example.com,,nueva\n"
        "Luis,611222333,,,\n"
        "Luis Gil,611222333,luis@example.com,,\n",
        on_duplicate=" UPDATE ",
    )
    assert report.record.counts == ImportCounts(3, imported=1, updated=2, duplicate=0, invalid=0)
    ana, luis = world.contacts()
    assert (ana.id, ana.name, ana.email, ana.notes, ana.tags) == (
        existing.id,
        "Ana Nueva",
        "ana@example.com",
        "Guardada",
        ("vieja", "nueva"),
    )
    assert (ana.source, ana.created_at, ana.updated_at) == (
        "manual",
        existing.created_at,
        world.clock.now,
    )
    assert (luis.name, luis.email) == ("Luis Gil", "luis@example.com")


def test_only_the_first_hundred_bad_rows_are_listed_with_their_spreadsheet_rows(
    world: World,
) -> None:
    bad = "".join(f"Sin teléfono {i},,\n" for i in range(MAX_ROW_ERRORS + 20))
    report = world.run("name,phone,email\n" + bad)
    assert report.record.counts.invalid == MAX_ROW_ERRORS + 20
    assert len(report.errors) == MAX_ROW_ERRORS
    assert [p.row for p in report.errors] == list(range(2, MAX_ROW_ERRORS + 2))
    assert {p.code for p in report.errors} == {"contact.phone_or_email_required"}


def test_a_file_with_only_a_header_imports_nothing(world: World) -> None:
    report = world.run("name,phone\n")
    assert report.record.counts == ImportCounts()
    assert report.record.status == "completed"


def test_the_recorded_name_is_the_files_own(world: World) -> None:
    report = world.run("name,phone\nAna,600111222\n", filename="C:\\fakepath\\mis\x07 clientes.csv")
    assert report.record.filename == "mis clientes.csv"


def test_rows_reach_the_repository_in_batches_in_file_order(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[list[int]] = []
    original = FakeContacts.import_batch

    def spy(
        self: FakeContacts,
        user_id: int,
        rows: Sequence[ImportedRow],
        on_duplicate: OnDuplicate,
        now: datetime,
    ) -> list[Settlement]:
        batches.append([row.row for row in rows])
        return original(self, user_id, rows, on_duplicate, now)

    monkeypatch.setattr(FakeContacts, "import_batch", spy)
    rows = BATCH_ROWS * 2 + 500
    report = world.run("name,phone\n" + csv_rows(rows))

    assert [len(batch) for batch in batches] == [BATCH_ROWS, BATCH_ROWS, 500]
    assert [n for batch in batches for n in batch] == list(range(2, rows + 2))
    assert report.record.counts.imported == rows
    assert len(world.contacts()) == rows


# --- options ---------------------------------------------------------------------------------


def test_bad_options_are_all_reported_and_nothing_is_recorded(world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        world.run("name,phone\nAna,600111222\n", on_duplicate="merge", tags="x" * 41)
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("on_duplicate", "import.on_duplicate_invalid"),
        ("tags", "contact.tag_too_long"),
    ]
    assert world.contacts() == []
    assert world.records() == []


@pytest.mark.parametrize("on_duplicate", [None, "", "  ", "skip", "Skip"])
def test_skip_is_the_default(world: World, on_duplicate: str | None) -> None:
    world.run("name,phone\nAna,600111222\n")
    report = world.run("name,phone\nOtra,600111222\n", on_duplicate=on_duplicate)
    assert report.record.counts.duplicate == 1


# --- files that cannot be read ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "data", "code", "file_type"),
    [
        ("vacio.csv", b"", "import.empty", "csv"),
        ("fotos.zip", b"PK...", "import.unsupported_type", None),
        ("columnas.csv", b"fecha,importe\n2024-01-01,5\n", "import.no_columns", "csv"),
        ("binario.csv", b"name,phone\n\xff\xfe,1\n", "import.undecodable", "csv"),
    ],
)
def test_an_unreadable_file_is_recorded_as_failed(
    world: World, filename: str, data: bytes, code: str, file_type: str | None
) -> None:
    with pytest.raises(UnreadableFile) as caught:
        world.run(data, filename=filename)
    assert caught.value.code == code
    assert world.contacts() == []
    (record,) = world.records()
    assert (record.status, record.error_message, record.file_type, record.filename) == (
        "failed",
        code,
        file_type,
        filename,
    )
    assert record.counts == ImportCounts()
    assert record.completed_at == world.clock.now


def test_a_file_unreadable_part_way_leaves_no_contact_behind(world: World) -> None:
    contacts.create_contact(world.ports, world.ana, {"name": "Ya estaba", "phone": "699999999"})
    before = world.contacts()
    data = ("name,phone\n" + csv_rows(BATCH_ROWS + 300)).encode() + b"Roto \xff,600000001\n"

    with pytest.raises(UnreadableFile) as caught:
        world.run(data, on_duplicate="update")

    assert caught.value.code == "import.undecodable"
    assert world.contacts() == before
    (record,) = world.records()
    assert (record.status, record.error_message, record.counts) == (
        "failed",
        "import.undecodable",
        ImportCounts(),
    )


@pytest.mark.parametrize(
    ("error", "recorded"),
    [
        (Conflict("import.concurrent_changes"), "import.concurrent_changes"),
        (RuntimeError("database went away"), "import.failed"),
    ],
)
def test_a_failure_while_writing_is_recorded_and_raised(
    world: World, monkeypatch: pytest.MonkeyPatch, error: Exception, recorded: str
) -> None:
    original = FakeContacts.import_batch
    calls = []

    def failing(self: FakeContacts, *args: Any) -> list[Settlement]:
        calls.append(1)
        if len(calls) == 2:
            raise error
        return original(self, *args)

    monkeypatch.setattr(FakeContacts, "import_batch", failing)
    with pytest.raises(type(error)):
        world.run("name,phone\n" + csv_rows(BATCH_ROWS + 10))

    assert world.contacts() == []
    (record,) = world.records()
    assert (record.status, record.error_message) == ("failed", recorded)


# --- history ---------------------------------------------------------------------------------


def test_history_pages_newest_first(world: World) -> None:
    for i in range(3):
        world.run(f"name,phone\nP{i},60000000{i}\n", filename=f"f{i}.csv")
        world.clock.advance(timedelta(seconds=1))
    other = accounts.register(world.ports, email="bob@example.com", password="x" * 10, name="B")
    world.run("name,phone\nB,611111111\n", owner=other.user)

    page = contact_imports.import_history(world.ports, world.ana.id, {"per_page": "2"})
    assert [r.filename for r in page.items] == ["f2.csv", "f1.csv"]
    assert (page.total, page.pages, page.has_next, page.has_prev) == (3, 2, True, False)
    last = contact_imports.import_history(world.ports, world.ana.id, {"page": "2", "per_page": "2"})
    assert [r.filename for r in last.items] == ["f0.csv"]


def test_history_parameters_are_checked(world: World) -> None:
    with pytest.raises(ValidationFailed) as caught:
        contact_imports.import_history(world.ports, world.ana.id, {"page": "-1", "per_page": "a"})
    assert [e.field for e in caught.value.errors] == ["page", "per_page"]


# --- rate limit ------------------------------------------------------------------------------


def test_imports_are_limited_per_address_and_per_user() -> None:
    world = make_world(Limit(2, timedelta(minutes=1)))
    bob = accounts.register(world.ports, email="bob@example.com", password="x" * 10, name="B")
    row = "name,phone\nAna,600111222\n"

    world.run(row, client_address="10.0.0.1")
    world.run(row, client_address="10.0.0.2")
    with pytest.raises(TooManyAttempts) as caught:
        world.run(row, client_address="10.0.0.3")  # a third address, the same user
    assert caught.value.code == "import.rate_limited"
    assert 1 <= caught.value.retry_after <= 60

    world.run(row, client_address="10.0.0.9", owner=bob.user)
    world.run(row, client_address="10.0.0.9", owner=bob.user)
    with pytest.raises(TooManyAttempts):  # the same address, another user
        world.run(row, client_address="10.0.0.1", owner=bob.user)

    world.clock.advance(timedelta(minutes=1))
    assert world.run(row, client_address="10.0.0.1").record.status == "completed"
    assert len(world.records()) == 5  # refused imports are not recorded


def test_a_limit_of_zero_turns_it_off() -> None:
    world = make_world(Limit(0, timedelta(minutes=1)))
    for _ in range(5):
        world.run("name,phone\nAna,600111222\n")
    assert not [key for key in world.store.state.counters if key.startswith("import")]


# --- the file is read while the batches before are written ----------------------------------


class _WatchingUnits:
    """Counts the units of work open whenever the file yields a row."""

    def __init__(self, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
        self.open_units = 0
        self.seen_while_reading: list[int] = []
        enter, leave = FakeUnitOfWork.__enter__, FakeUnitOfWork.__exit__
        watch = self

        def counting_enter(self: FakeUnitOfWork) -> FakeUnitOfWork:
            watch.open_units += 1
            return enter(self)

        def counting_exit(self: FakeUnitOfWork, *args: Any) -> None:
            watch.open_units -= 1
            leave(self, *args)

        class WatchingReader(FakeContactFileReader):
            def open(self, filename: str, content: BinaryIO) -> ContactTable:
                table = super().open(filename, content)

                def rows() -> Iterator[SourceRow]:
                    for row in table.rows:
                        watch.seen_while_reading.append(watch.open_units)
                        yield row

                return dataclasses.replace(table, rows=rows())

        monkeypatch.setattr(FakeUnitOfWork, "__enter__", counting_enter)
        monkeypatch.setattr(FakeUnitOfWork, "__exit__", counting_exit)
        world.ports = dataclasses.replace(world.ports, contact_files=WatchingReader())


def test_the_write_transaction_begins_with_the_first_batch_to_write(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    watch = _WatchingUnits(world, monkeypatch)

    report = world.run("name,phone\n" + csv_rows(BATCH_ROWS * 3))

    assert report.record.counts.imported == BATCH_ROWS * 3
    assert watch.seen_while_reading[:BATCH_ROWS] == [0] * BATCH_ROWS
    assert 1 in watch.seen_while_reading  # later rows are read while earlier ones are written
    assert watch.open_units == 0


def test_a_file_with_no_row_to_write_is_read_with_no_transaction_open(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    watch = _WatchingUnits(world, monkeypatch)
    rows = "".join(f"Sin teléfono {n},12\n" for n in range(BATCH_ROWS * 2))

    report = world.run("name,phone\n" + rows)

    assert report.record.counts.invalid == BATCH_ROWS * 2
    assert set(watch.seen_while_reading) == {0}


def test_a_database_error_stops_the_reading_and_keeps_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    watch = _WatchingUnits(world, monkeypatch)
    before = world.contacts()

    def broken_batch(self: Any, *args: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(FakeContacts, "import_batch", broken_batch)
    with pytest.raises(RuntimeError):
        world.run("name,phone\n" + csv_rows(BATCH_ROWS * 20))

    assert len(watch.seen_while_reading) < BATCH_ROWS * 20  # the reader stopped early
    assert world.contacts() == before
    (record,) = world.records()
    assert (record.status, record.error_message) == ("failed", "import.failed")
