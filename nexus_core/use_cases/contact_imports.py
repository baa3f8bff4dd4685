"""Importing a file of contacts, and the record imports leave behind.

An import is three units of work: its record is started (``processing``) and committed; the
file is then read and checked in a thread of its own (``read_ahead``) while the rows it
found valid are written, a batch behind, in one transaction that also finishes the record as
``completed``: checking rows is Python, writing them mostly the database's own work, and the
two overlap. Should anything fail on the way (a file unreadable part-way, a database error),
nothing of the file is kept (the transaction is rolled back) and the record is finished as
``failed`` with the error's code in a transaction of its own.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from nexus_core.domain.contact_files import ContactTable, FileType, UnreadableFile
from nexus_core.domain.contact_imports import (
    ColumnMap,
    ImportedRow,
    ImportTally,
    OnDuplicate,
    RowProblem,
    map_headers,
    parse_extra_tags,
    parse_on_duplicate,
    read_row,
)
from nexus_core.domain.contact_queries import parse_page_request
from nexus_core.domain.import_history import ImportCounts, ImportedFile, recorded_filename
from nexus_core.domain.pagination import Page
from nexus_core.domain.rate_limits import import_address_key, import_user_key
from nexus_core.domain.users import User
from nexus_core.errors import Collector, DomainError
from nexus_core.use_cases.context import Ports
from nexus_core.use_cases.read_ahead import read_ahead
from nexus_core.use_cases.throttling import throttle

# Rows handed to ``ContactRepository.import_batch`` at a time.
BATCH_ROWS = 1000
# What the record of an import that failed for a reason of no domain error's says.
UNEXPECTED_FAILURE = "import.failed"


@dataclass(frozen=True, slots=True)
class ImportReport:
    """A finished import: its record (with the counts) and its first bad rows."""

    record: ImportedFile
    errors: tuple[RowProblem, ...]


def _throttle(ports: Ports, user_id: int, client_address: str) -> None:
    """Count one import for the client's address and for the user; over the limit on either
    is ``TooManyAttempts`` (``import.rate_limited``)."""
    keys = (import_address_key(client_address), import_user_key(user_id))
    throttle(ports, ports.import_limit, *keys, code="import.rate_limited")


def _options(tags: str | None, on_duplicate: str | None) -> tuple[tuple[str, ...], OnDuplicate]:
    errors = Collector()
    mode = errors.check("on_duplicate", lambda: parse_on_duplicate(on_duplicate))
    extra_tags = errors.check("tags", lambda: parse_extra_tags(tags))
    errors.raise_if_any()
    return extra_tags, mode


def _failure_code(error: Exception) -> str:
    return error.code if isinstance(error, DomainError) else UNEXPECTED_FAILURE


def _record_failure(ports: Ports, import_id: int, error: Exception) -> None:
    """Finish the record as ``failed``: nothing of the file was kept, so nothing is counted."""
    with ports.uow(write=True) as uow:
        uow.imports.finish(import_id, ImportCounts(), "failed", _failure_code(error), ports.clock())
        uow.commit()


def _record_unreadable(ports: Ports, user_id: int, filename: str, error: UnreadableFile) -> None:
    """Record an import whose file could not even be opened, as started and failed at once."""
    with ports.uow(write=True) as uow:
        now = ports.clock()
        import_id = uow.imports.start(user_id, filename, error.file_type, now)
        uow.imports.finish(import_id, ImportCounts(), "failed", error.code, now)
        uow.commit()


def _start(ports: Ports, user_id: int, filename: str, file_type: FileType | None) -> int:
    with ports.uow(write=True) as uow:
        import_id = uow.imports.start(user_id, filename, file_type, ports.clock())
        uow.commit()
    return import_id


Batch = list[tuple[ImportedRow, bool]]
"""Rows to write, each with whether it is ``new`` to the file (else an ``update`` of an
earlier row's contact)."""


def _read_batches(
    table: ContactTable,
    columns: ColumnMap,
    country: str,
    extra_tags: tuple[str, ...],
    tally: ImportTally,
    hand_over: Callable[[Batch], None],
) -> None:
    """Read and check every row of the file, counting it; hand over those to write, a batch
    at a time."""
    batch: Batch = []
    for source_row in table.rows:
        outcome = read_row(source_row, columns, country, extra_tags)
        fate = tally.observe(outcome)
        if isinstance(outcome, ImportedRow) and fate in ("new", "update"):
            batch.append((outcome, fate == "new"))
            if len(batch) == BATCH_ROWS:
                hand_over(batch)
                batch = []
    if batch:
        hand_over(batch)


def _write_batches(
    ports: Ports, user_id: int, import_id: int, batches: Iterator[Batch], tally: ImportTally
) -> ImportedFile:
    """Every batch in one transaction, then the record finished as ``completed`` with the
    counts (each new row settled by what the database said). The transaction begins with the
    first batch to write (or the end of the file): a file with no row to write holds no
    lock while it is read."""
    first = next(batches, None)
    with ports.uow(write=True) as uow:
        now = ports.clock()
        settled: list[bool] = []
        for batch in itertools.chain([] if first is None else [first], batches):
            rows = [row for row, _ in batch]
            settlements = uow.contacts.import_batch(user_id, rows, tally.on_duplicate, now)
            settled.extend(
                settlement != "imported"
                for settlement, (_, new) in zip(settlements, batch, strict=True)
                if new
            )
        # The file is read whole now: the tally is no longer counted from the reading thread.
        for exists in settled:
            tally.settle(exists=exists)
        uow.imports.finish(import_id, tally.counts(), "completed", None, ports.clock())
        record = uow.imports.get(user_id, import_id)
        uow.commit()
    assert record is not None
    return record


def import_contacts(
    ports: Ports,
    owner: User,
    *,
    filename: str,
    content: BinaryIO,
    tags: str | None = None,
    on_duplicate: str | None = None,
    client_address: str = "",
) -> ImportReport:
    """Import a CSV, XLSX or vCard file into the owner's contacts.

    ``tags`` (comma-separated) are added to every imported contact; ``on_duplicate`` is
    ``skip`` (default) or ``update``. Rows are read with the owner's ``default_country``.
    A file that cannot be read, at its start or part-way, raises ``UnreadableFile`` once the
    import is recorded as ``failed``, and no contact of it is written. ``content`` is read
    as the import goes, never held whole; the caller closes it.
    """
    extra_tags, mode = _options(tags, on_duplicate)
    _throttle(ports, owner.id, client_address)
    name = recorded_filename(filename)
    try:
        table = ports.contact_files.open(name, content)
        columns = map_headers(table.headers, table.file_type)
    except UnreadableFile as unreadable:
        _record_unreadable(ports, owner.id, name, unreadable)
        raise
    import_id = _start(ports, owner.id, name, table.file_type)
    tally = ImportTally(mode)
    country = owner.preferences.default_country
    try:
        with read_ahead(
            functools.partial(_read_batches, table, columns, country, extra_tags, tally)
        ) as batches:
            record = _write_batches(ports, owner.id, import_id, batches, tally)
    except Exception as error:
        _record_failure(ports, import_id, error)
        raise
    return ImportReport(record, tally.errors)


def import_history(ports: Ports, user_id: int, params: Mapping[str, str]) -> Page[ImportedFile]:
    """One page (``page``, ``per_page``) of the user's imports, newest first."""
    request = parse_page_request(params)
    with ports.uow() as uow:
        records, total = uow.imports.page(user_id, request.page, request.per_page)
    return Page(records, total, request.page, request.per_page)
