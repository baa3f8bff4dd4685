"""What a contact file reader hands to an import: a header and numbered rows of text cells.

Readers (CSV, XLSX, vCard) live in the adapters; they only turn bytes into this shape. Which
column means what, and what a valid contact is, are decided in the core.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Literal, Protocol

from nexus_core.errors import DomainError

FileType = Literal["csv", "excel", "vcard"]


@dataclass(frozen=True, slots=True)
class SourceRow:
    """One data row. ``number`` is the row a spreadsheet shows (header = 1); for a vCard it
    is the card's ordinal plus one, so the first card is row 2 like a first data row."""

    number: int
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ContactTable:
    """A readable file: its type, its header cells and a lazy stream of its data rows.

    ``rows`` is an iterator so that a file is read while it is imported, never held whole;
    it may still raise ``UnreadableFile`` part-way (e.g. a bad byte sequence deep in a CSV).
    """

    file_type: FileType
    headers: tuple[str, ...]
    rows: Iterator[SourceRow]


class UnreadableFile(DomainError):
    """The file cannot be read at all: undecodable, empty, no usable column, unknown type.

    ``code`` says which (``import.undecodable``, ``import.empty``, ``import.no_columns``,
    ``import.unsupported_type``); ``file_type`` is the detected type, or None if unknown.
    """

    code = "import.unreadable"

    def __init__(self, code: str, file_type: FileType | None = None) -> None:
        self.file_type = file_type
        super().__init__(code)


class ContactFileReader(Protocol):
    def open(self, filename: str, content: BinaryIO) -> ContactTable:
        """Detect the file's type and start reading it; raise ``UnreadableFile`` if it can't."""
        ...
