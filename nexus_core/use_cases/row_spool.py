"""Valid rows of an import, kept aside between reading the file and writing the contacts.

Reading and checking every row (phone numbers above all) costs far more than writing them,
and the writes of one import are one transaction, which on SQLite holds the database's write
lock. So the file is read first, with no transaction open, its rows spooled to a temporary
file a batch at a time; the transaction then only writes. Memory holds one batch at most.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from types import TracebackType
from typing import IO, Self

from nexus_core.domain.contact_imports import ImportedRow
from nexus_core.domain.contacts import ContactDraft, ContactStatus

# Below this, the spool stays in memory.
IN_MEMORY_BYTES = 4 * 1024 * 1024

SpooledRow = tuple[ImportedRow, bool]
"""A row to write, and whether it is ``new`` to the file (else an ``update`` of an earlier
row's contact)."""

# A spooled row as plain values: pickling the (slotted) dataclasses themselves costs ten
# times as much.
_Flat = tuple[int, str, str | None, str | None, ContactStatus, tuple[str, ...], str | None, bool,
              tuple[str, ...], bool]  # fmt: skip


def _flatten(row: ImportedRow, new: bool) -> _Flat:
    draft = row.contact
    return (row.row, draft.name, draft.phone, draft.email, draft.status, draft.tags,
            draft.notes, draft.opted_out, tuple(row.given), new)  # fmt: skip


def _restore(flat: _Flat) -> SpooledRow:
    number, name, phone, email, status, tags, notes, opted_out, given, new = flat
    draft = ContactDraft(name, phone, email, status, tags, notes, opted_out)
    return ImportedRow(number, draft, frozenset(given)), new


class RowSpool:
    """Rows added in order, read back in the same order in batches of ``batch_rows``.

    Only this process writes and reads the spool (a private temporary file), so what it
    unpickles is what it pickled.
    """

    def __init__(self, batch_rows: int) -> None:
        self._batch_rows = batch_rows
        self._pending: list[_Flat] = []
        # Closed by __exit__: a spool is always used as a context manager.
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)  # noqa: SIM115

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._file.close()

    def add(self, row: ImportedRow, *, new: bool) -> None:
        self._pending.append(_flatten(row, new))
        if len(self._pending) >= self._batch_rows:
            self._dump()

    def _dump(self) -> None:
        if self._pending:
            pickle.dump(self._pending, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self._pending = []

    def batches(self) -> Iterator[list[SpooledRow]]:
        """Every row added, in order, a batch at a time."""
        self._dump()
        self._file.seek(0)
        while True:
            try:
                batch: list[_Flat] = pickle.load(self._file)  # noqa: S301 (our own file)
            except EOFError:
                return
            yield [_restore(flat) for flat in batch]
