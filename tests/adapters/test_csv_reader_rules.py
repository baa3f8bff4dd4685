"""CSV reading rules: encodings, delimiters, ``sep=``, row numbers, cells, and refusals."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_adapters.files import StreamingContactFileReader
from nexus_adapters.files.csv_dialect import sep_line_delimiter, sniff_delimiter
from nexus_adapters.files.csv_reader import MAX_LINE_BYTES
from nexus_adapters.files.reader import SAMPLE_BYTES
from nexus_core.domain.contact_files import ContactTable, SourceRow, UnreadableFile

READER = StreamingContactFileReader()


def read(data: bytes) -> tuple[ContactTable, list[SourceRow]]:
    table = READER.open("contactos.csv", io.BytesIO(data))
    return table, list(table.rows)


def rows_of(data: bytes) -> list[tuple[int, tuple[str, ...]]]:
    return [(row.number, row.cells) for row in read(data)[1]]


def refusal(data: bytes) -> str:
    with pytest.raises(UnreadableFile) as caught:
        read(data)
    assert caught.value.file_type == "csv"
    return caught.value.code


# --- encodings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        "nombre;teléfono\r\nAna Pérez;600\r\n".encode(),
        b"\xef\xbb\xbf" + "nombre;teléfono\r\nAna Pérez;600\r\n".encode(),
        "nombre;teléfono\r\nAna Pérez;600\r\n".encode("cp1252"),
    ],
    ids=["utf-8", "utf-8 with BOM", "windows-1252"],
)
def test_utf8_with_or_without_bom_and_windows_1252_read_alike(data: bytes) -> None:
    table, rows = read(data)
    assert table.headers == ("nombre", "teléfono")
    assert rows == [SourceRow(2, ("Ana Pérez", "600"))]


def test_windows_1252_beyond_an_ascii_sample_still_reads_right() -> None:
    ascii_rows = b"".join(b"Contacto %d,600%06d\r\n" % (i, i) for i in range(SAMPLE_BYTES // 20))
    assert len(ascii_rows) > SAMPLE_BYTES
    data = b"nombre,telefono\r\n" + ascii_rows + "Íñigo Muñoz,611\r\n".encode("cp1252")
    assert read(data)[1][-1].cells == ("Íñigo Muñoz", "611")


def test_a_stray_windows_1252_byte_beyond_a_utf8_sample_reads_as_windows_1252() -> None:
    utf8_rows = "Ana,café\r\n".encode() * (SAMPLE_BYTES // 10)
    data = b"nombre,nota\r\n" + utf8_rows + b"Luis,\x93hola\x94\r\n"
    rows = rows_of(data)
    assert rows[0] == (2, ("Ana", "café"))
    assert rows[-1] == (len(rows) + 1, ("Luis", "“hola”"))


def test_bytes_windows_1252_leaves_undefined_read_as_their_code_points() -> None:
    data = "nombre,nota\r\nAña,x\x81y\r\n".encode("latin-1")
    assert rows_of(data) == [(2, ("Aña", "x\x81y"))]


def test_a_nul_byte_deep_in_the_file_is_undecodable_when_reached() -> None:
    data = b"nombre,telefono\r\n" + b"Ana,600111222\r\n" * 10_000 + b"\x00\x00\r\n"
    table = READER.open("contactos.csv", io.BytesIO(data))
    assert next(table.rows) == SourceRow(2, ("Ana", "600111222"))
    with pytest.raises(UnreadableFile) as caught:
        list(table.rows)
    assert caught.value.code == "import.undecodable"


def test_utf16_is_not_a_supported_encoding() -> None:
    assert refusal("nombre,teléfono\r\nAna,600\r\n".encode("utf-16")) == "import.undecodable"


# --- delimiters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cells"),
    [
        ("a,b,c\r\n1,2,3\r\n", ("1", "2", "3")),
        ("a;b;c\r\n1;2;3\r\n", ("1", "2", "3")),
        ("a\tb\tc\r\n1\t2\t3\r\n", ("1", "2", "3")),
        ("a;b\r\n1,5;2,5\r\n", ("1,5", "2,5")),  # decimal commas under a ';' header
        ('"a;b",c\r\n"1;2",3\r\n', ("1;2", "3")),  # a quoted delimiter does not count
        ("nombre\r\nAna;Pérez\r\n", ("Ana;Pérez",)),  # one column: ','
        ("a,b;c\r\n1,2;3\r\n4,5;6\r\n", ("1", "2;3")),  # a tie goes to ','
    ],
)
def test_the_delimiter_is_sniffed_among_comma_semicolon_and_tab(
    text: str, cells: tuple[str, ...]
) -> None:
    assert read(text.encode())[1][0].cells == cells


def test_a_tie_on_the_header_goes_to_the_delimiter_the_rows_agree_with() -> None:
    assert sniff_delimiter(["a,b;c\r\n", "1;2\r\n", "4;5\r\n"]) == ";"
    assert sniff_delimiter(["a,b;c\r\n", "1,2\r\n", "4,5\r\n"]) == ","


def test_the_export_format_reads_back_with_commas() -> None:
    data = (
        b"\xef\xbb\xbfname,phone,email,status,tags,notes,opted_out,created_at\r\n"
        b"Ana P\xc3\xa9rez,'+34600111222,ana@example.com,activo,cliente;vip,,false,"
        b"2026-01-05T10:00:00Z\r\n"
    )
    table, rows = read(data)
    assert table.headers[:3] == ("name", "phone", "email")
    # The spreadsheet-formula guard "'" is kept: which column is a phone is the core's call.
    assert rows[0].cells[1:5] == ("'+34600111222", "ana@example.com", "activo", "cliente;vip")


@pytest.mark.parametrize(
    ("line", "delimiter"),
    [
        ("sep=;\r\n", ";"),
        ("sep=,\n", ","),
        ("SEP=\t\r\n", "\t"),
        ("sep=|", "|"),
        ('"sep=;"\r\n', ";"),
        ("sep=;;;\r\n", ";"),  # padded by a program that re-saved it
        ("sep=\r\n", None),
        ("sep=;x\r\n", None),
        ("nombre;sep=;\r\n", None),
    ],
)
def test_a_sep_line_names_the_delimiter(line: str, delimiter: str | None) -> None:
    assert sep_line_delimiter(line) == delimiter


def test_a_sep_line_overrides_sniffing_and_is_not_a_row() -> None:
    data = b"sep=|\r\nnombre|notas\r\nAna|uno;dos;tres,cuatro\r\n"
    table, rows = read(data)
    assert table.headers == ("nombre", "notas")
    assert rows == [SourceRow(2, ("Ana", "uno;dos;tres,cuatro"))]


def test_a_sep_line_after_a_bom_counts() -> None:
    assert read(b"\xef\xbb\xbfsep=;\r\na;b\r\n1;2\r\n")[1] == [SourceRow(2, ("1", "2"))]


def test_a_file_with_only_a_sep_line_is_empty() -> None:
    assert refusal(b"sep=;\r\n") == "import.empty"


# --- row numbers and cells -----------------------------------------------------------------


def test_rows_are_numbered_by_record_as_a_spreadsheet_shows_them() -> None:
    data = (
        b"nombre,notas\r\n"
        b'Ana,"una\r\nnota\r\nlarga"\r\n'  # row 2, three lines
        b"\r\n"  # row 3, blank
        b",,\r\n"  # row 4, blank cells
        b"Luis,\r\n"  # row 5
    )
    assert rows_of(data) == [(2, ("Ana", "una\nnota\nlarga")), (5, ("Luis", ""))]


def test_blank_lines_before_the_header_are_rows_too() -> None:
    table, rows = read(b"\r\n;;\r\nnombre;telefono\r\nAna;600\r\n")
    assert table.headers == ("nombre", "telefono")
    assert rows == [SourceRow(4, ("Ana", "600"))]


@pytest.mark.parametrize("newline", [b"\r\n", b"\n", b"\r"])
def test_every_line_ending_reads_alike(newline: bytes) -> None:
    data = newline.join([b"nombre,notas", b'Ana,"a', b'b"', b"Luis,c", b""])
    assert rows_of(data) == [(2, ("Ana", "a\nb")), (3, ("Luis", "c"))]


def test_cells_are_stripped_and_rows_keep_their_own_length() -> None:
    data = b"nombre , telefono ,correo\r\n  Ana  ,\t600 ,\r\nLuis\r\nMarta,611,m@x.es,,,\r\n"
    table, rows = read(data)
    assert table.headers == ("nombre", "telefono", "correo")
    assert [row.cells for row in rows] == [
        ("Ana", "600", ""),
        ("Luis",),
        ("Marta", "611", "m@x.es", "", "", ""),
    ]


def test_a_header_without_rows_has_no_rows() -> None:
    table, rows = read(b"nombre;telefono\r\n")
    assert (table.headers, rows) == (("nombre", "telefono"), [])


@pytest.mark.parametrize(
    "data", [b"\xef\xbb\xbf", b"\r\n\r\n", b",,,\r\n,,\r\n", b";;\r\n;\r\n", b"\xef\xbb\xbf \r\n\t"]
)
def test_nothing_but_blanks_is_empty(data: bytes) -> None:
    assert refusal(data) == "import.empty"


# --- refusals ------------------------------------------------------------------------------


def test_an_unclosed_quote_swallowing_a_big_file_is_undecodable() -> None:
    data = b'nombre,notas\r\nAna,"sin cerrar\r\n' + b"Luis,611\r\n" * 20_000
    assert refusal(data) == "import.undecodable"


def test_a_line_too_long_for_a_contact_is_undecodable() -> None:
    data = b"nombre,notas\r\nAna," + b"x" * (MAX_LINE_BYTES + 1) + b"\r\n"
    assert refusal(data) == "import.undecodable"


# --- properties ----------------------------------------------------------------------------

_CELL_TEXT = st.text(
    st.characters(codec="cp1252", exclude_characters="\x00"), min_size=0, max_size=12
)


@settings(max_examples=200)
@given(
    rows=st.lists(st.lists(_CELL_TEXT, min_size=3, max_size=3), min_size=1, max_size=6),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    quote_all=st.booleans(),
)
def test_any_written_table_reads_back(
    rows: list[list[str]], delimiter: str, encoding: str, quote_all: bool
) -> None:
    """What a CSV writer (Excel's dialect) writes reads back: cells stripped, blank rows
    skipped, numbers counting records."""
    header = ["nombre", "teléfono", "correo"]
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=delimiter,
        # Python's writer quotes only the line terminator's characters: with "\r\n" it
        # quotes a cell holding either.
        lineterminator="\r\n",
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
    )
    writer.writerow(header)
    writer.writerows(rows)
    table, read_rows = read(buffer.getvalue().encode(encoding))
    assert table.headers == tuple(header)
    expected = [
        SourceRow(number, cells)
        for number, cells in enumerate(
            (tuple(_normalised(cell) for cell in row) for row in rows), start=2
        )
        if any(cells)
    ]
    assert read_rows == expected


def _normalised(cell: str) -> str:
    return cell.replace("\r\n", "\n").replace("\r", "\n").strip()
