"""vCard contact files (2.1, 3.0, 4.0): one row per card, read card by card.

A card's row number is its ordinal plus one (the first card is row 2, like a first data row
under a header), so an error points at the n-th card. Cards with nothing to read are skipped
but keep their number. The file's encoding is UTF-8 (with or without BOM), else Windows-1252,
sniffed like a CSV's but on unfolded lines (a writer may fold in the middle of a UTF-8
character); a ``CHARSET`` parameter overrides it for its property.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import BinaryIO

from nexus_adapters.files.byte_lines import chunks, split_lines
from nexus_adapters.files.text_encoding import TextEncoding, sniff_encoding
from nexus_adapters.files.vcard_card import VCARD_HEADERS, Card
from nexus_adapters.files.vcard_lines import content_lines
from nexus_adapters.files.vcard_properties import Property, parse_property
from nexus_core.domain.contact_files import ContactTable, SourceRow, UnreadableFile

# Longer physical lines are cut rather than held (an unfolded inline photo, say).
MAX_LINE_BYTES = 1024 * 1024

_FOLD = re.compile(rb"(?:\r\n|\r|\n)[ \t]")


def read_vcard(head: bytes, rest: BinaryIO) -> ContactTable:
    """The vCard file whose first bytes ``head`` were already read from ``rest``.

    Raises ``UnreadableFile("import.empty")`` if it holds no ``BEGIN:VCARD``, and
    ``import.undecodable`` if it is binary.
    """
    encoding = _sniff_encoding(head)
    head = head.removeprefix(codecs.BOM_UTF8)
    lines = split_lines(chunks(head, rest), "vcard", max_length=MAX_LINE_BYTES, truncate=True)
    properties = (parse_property(line, encoding) for line in content_lines(lines))
    for prop in properties:
        if _begins_card(prop):
            return ContactTable(file_type="vcard", headers=VCARD_HEADERS, rows=_rows(properties))
    raise UnreadableFile("import.empty", "vcard")


def _sniff_encoding(head: bytes) -> TextEncoding:
    unfolded = _FOLD.sub(b"", head)
    # Up to the last line break: the sample's last line may be folded on beyond it.
    end = max(unfolded.rfind(b"\n"), unfolded.rfind(b"\r"))
    return sniff_encoding(unfolded[:end] if end > 0 else unfolded)


def _rows(properties: Iterator[Property]) -> Iterator[SourceRow]:
    """The rows of the cards, the first one's ``BEGIN:VCARD`` already read."""
    card: Card | None = Card()
    ordinal = 1
    for prop in properties:
        if _begins_card(prop):  # a card without END:VCARD ends where the next one begins
            yield from _row(card, ordinal)
            card = Card()
            ordinal += 1
        elif _ends_card(prop):
            yield from _row(card, ordinal)
            card = None
        elif card is not None:
            card.add(prop)
    yield from _row(card, ordinal)


def _row(card: Card | None, ordinal: int) -> Iterator[SourceRow]:
    if card is not None:
        cells = card.cells()
        if any(cells):
            yield SourceRow(number=ordinal + 1, cells=cells)


def _begins_card(prop: Property) -> bool:
    return prop.name == "BEGIN" and prop.text.strip().upper() == "VCARD"


def _ends_card(prop: Property) -> bool:
    return prop.name == "END" and prop.text.strip().upper() == "VCARD"
