"""CSV contact files: encoding and delimiter detected, records read lazily and numbered.

Row numbers are the rows a spreadsheet shows: record ordinals, a quoted cell holding line
breaks being one row, blank records counted (but not yielded). The header is the first
non-blank record, normally row 1. An Excel ``sep=X`` first line is not a row: Excel, the
program that writes and honours it, hides it and shows the header as row 1, so numbering
starts on the line after it.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from itertools import chain
from typing import BinaryIO

from nexus_adapters.files.byte_lines import chunks, split_lines
from nexus_adapters.files.csv_dialect import sep_line_delimiter, sniff_delimiter
from nexus_adapters.files.text_encoding import decode, sniff_encoding
from nexus_core.domain.contact_files import ContactTable, SourceRow, UnreadableFile

# A line longer than this is no contact row: the file is refused rather than held whole.
MAX_LINE_BYTES = 1024 * 1024
# How much of the file's start the delimiter is sniffed from.
SNIFF_LINES = 50
SNIFF_CHARS = 64 * 1024

Record = tuple[int, tuple[str, ...]]


def read_csv(head: bytes, rest: BinaryIO) -> ContactTable:
    """The CSV file whose first bytes ``head`` were already read from ``rest``.

    Raises ``UnreadableFile`` (``import.empty`` / ``import.undecodable``) if there is no
    header to read; the returned rows may raise ``import.undecodable`` further down.
    """
    encoding = sniff_encoding(head)
    head = head.removeprefix(codecs.BOM_UTF8)
    raw_lines = split_lines(chunks(head, rest), "csv", max_length=MAX_LINE_BYTES)
    lines = (decode(line, encoding) for line in raw_lines)

    records = _records(*_dialect(lines))
    for _number, cells in records:
        if any(cells):
            return ContactTable(file_type="csv", headers=cells, rows=_rows(records))
    raise UnreadableFile("import.empty", "csv")


def _dialect(lines: Iterator[str]) -> tuple[Iterator[str], str]:
    """The lines that hold records (without a ``sep=`` line) and their delimiter."""
    first = next(lines, None)
    if first is None:
        return lines, ","
    delimiter = sep_line_delimiter(first)
    if delimiter is not None:
        return lines, delimiter
    sample = [first]
    size = len(first)
    while len(sample) < SNIFF_LINES and size < SNIFF_CHARS:
        line = next(lines, None)
        if line is None:
            break
        sample.append(line)
        size += len(line)
    return chain(sample, lines), sniff_delimiter(sample)


def _records(lines: Iterator[str], delimiter: str) -> Iterator[Record]:
    """Each record with its row number, cells stripped."""
    try:
        reader = csv.reader(lines, delimiter=delimiter, skipinitialspace=True, strict=False)
        for number, record in enumerate(reader, start=1):
            yield number, tuple(_cell(cell) for cell in record)
    except csv.Error as error:
        # e.g. a cell over the csv module's field size limit (an unclosed quote swallowing the
        # rest of the file ends there, instead of in memory).
        raise UnreadableFile("import.undecodable", "csv") from error


def _rows(records: Iterator[Record]) -> Iterator[SourceRow]:
    for number, cells in records:
        if any(cells):
            yield SourceRow(number=number, cells=cells)


def _cell(text: str) -> str:
    if "\r" in text:  # a quoted line break written the Windows way reads as a "\n"
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip()
