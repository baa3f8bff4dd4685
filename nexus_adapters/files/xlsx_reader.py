"""XLSX contact files: the first worksheet, read row by row with openpyxl's read-only mode.

Row numbers are the sheet's own; the header is the first row with a non-empty cell; blank rows
are not yielded. Cached formula results are read (``data_only``), not formulas.

openpyxl raises whatever its ZIP and XML layers raise on a damaged archive (``BadZipFile``,
``KeyError``, XML parse errors, ``ValueError``…), at load time or while rows are read, so any
exception from it means the file is not a readable workbook: ``import.undecodable``.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator
from typing import IO, BinaryIO

from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook

from nexus_adapters.files.xlsx_values import cell_text
from nexus_core.domain.contact_files import ContactTable, SourceRow, UnreadableFile

# The last row a sheet can have. Also a bound on openpyxl's filling in of missing rows, so a
# forged row number cannot keep it yielding empty rows for ever.
EXCEL_MAX_ROWS = 1_048_576
# A non-seekable upload is copied to a temporary file (ZIP needs to seek): in memory up to this.
SPOOL_MEMORY_BYTES = 1024 * 1024

Record = tuple[int, tuple[str, ...]]


def read_xlsx(head: bytes, rest: BinaryIO) -> ContactTable:
    """The workbook whose first bytes ``head`` were already read from ``rest``."""
    source, release = _seekable(head, rest)
    try:
        workbook = load_workbook(source, read_only=True, data_only=True, keep_links=False)
    except Exception as error:
        release()
        raise UnreadableFile("import.undecodable", "excel") from error

    def close() -> None:
        workbook.close()
        release()

    try:
        records = _records(workbook)
        for _number, cells in records:
            if any(cells):
                rows = _rows(records, close)
                # Rows never iterated to their end still close the workbook once dropped.
                weakref.finalize(rows, close)
                return ContactTable(file_type="excel", headers=cells, rows=rows)
    except UnreadableFile:
        close()
        raise
    close()
    raise UnreadableFile("import.empty", "excel")


def _seekable(head: bytes, rest: BinaryIO) -> tuple[IO[bytes], Callable[[], None]]:
    """The whole file as a seekable stream, and what to call once done with it."""
    if rest.seekable():
        rest.seek(rest.tell() - len(head))
        return rest, _nothing
    # Not a context manager: it outlives this call, closed by ``release`` with the rows.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES)  # noqa: SIM115
    spool.write(head)
    shutil.copyfileobj(rest, spool)
    spool.seek(0)
    return spool, spool.close


def _nothing() -> None:
    return None


def _records(workbook: Workbook) -> Iterator[Record]:
    """Each row of the first worksheet with its row number, as text cells."""
    try:
        sheets = workbook.worksheets
        if not sheets:
            return
        sheet = sheets[0]  # in read-only mode, a ReadOnlyWorksheet
        # The stored dimensions may be wrong (some writers leave "A1:A1"): read what is there.
        sheet.reset_dimensions()
        values = sheet.iter_rows(max_row=EXCEL_MAX_ROWS, values_only=True)
        for number, row in enumerate(values, start=1):
            yield number, tuple(cell_text(value) for value in row)
    except Exception as error:
        raise UnreadableFile("import.undecodable", "excel") from error


def _rows(records: Iterator[Record], close: Callable[[], None]) -> Iterator[SourceRow]:
    try:
        for number, cells in records:
            if any(cells):
                yield SourceRow(number=number, cells=cells)
    finally:
        close()
