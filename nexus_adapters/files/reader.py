"""The contact file reader the import use case is given: sniffs the type, starts the reading."""

from __future__ import annotations

from typing import BinaryIO

from nexus_adapters.files.csv_reader import read_csv
from nexus_adapters.files.detect import detect_file_type
from nexus_adapters.files.vcard_reader import read_vcard
from nexus_adapters.files.xlsx_reader import read_xlsx
from nexus_core.domain.contact_files import ContactTable, UnreadableFile

# The first bytes read to decide the file type and the text encoding.
SAMPLE_BYTES = 64 * 1024


class StreamingContactFileReader:
    """``ContactFileReader`` for CSV, XLSX and vCard files, reading rows as they are iterated.

    ``open`` reads the file's start (type, encoding, delimiter, header) and returns; the rows
    are read from ``content`` as the table's ``rows`` are iterated, so ``content`` must stay
    open until then. The reader never closes ``content``.
    """

    def open(self, filename: str, content: BinaryIO) -> ContactTable:
        head = _read_head(content)
        file_type = detect_file_type(filename, head)
        if not head:
            raise UnreadableFile("import.empty", file_type)
        if file_type == "excel":
            return read_xlsx(head, content)
        if file_type == "vcard":
            return read_vcard(head, content)
        return read_csv(head, content)


def _read_head(content: BinaryIO) -> bytes:
    """Up to ``SAMPLE_BYTES`` from ``content`` (a read may return less than asked)."""
    parts: list[bytes] = []
    size = 0
    while size < SAMPLE_BYTES:
        block = content.read(SAMPLE_BYTES - size)
        if not block:
            break
        parts.append(block)
        size += len(block)
    return b"".join(parts)
