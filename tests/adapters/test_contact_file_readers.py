"""Contact file readers: the fixtures read exactly, type detection, streaming, and robustness.

Rules of each format in detail live in ``test_csv_reader_rules.py``,
``test_xlsx_reader_rules.py`` and ``test_vcard_reader_rules.py``.
"""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from nexus_adapters.files import StreamingContactFileReader
from nexus_adapters.files.reader import SAMPLE_BYTES
from nexus_core.domain.contact_files import (
    ContactFileReader,
    ContactTable,
    SourceRow,
    UnreadableFile,
)

FIXTURES = Path(__file__).parent / "fixtures" / "imports"
READER = StreamingContactFileReader()
VCARD_HEADERS = ("name", "phone", "email", "tags", "notes")
EXTENSIONS = (".csv", ".xlsx", ".vcf", ".bin")


def read_fixture(name: str) -> tuple[ContactTable, list[SourceRow]]:
    with (FIXTURES / name).open("rb") as content:
        table = READER.open(name, content)
        return table, list(table.rows)


def read_bytes(filename: str, data: bytes) -> tuple[ContactTable, list[SourceRow]]:
    table = READER.open(filename, io.BytesIO(data))
    return table, list(table.rows)


def unreadable(filename: str, data: bytes) -> UnreadableFile:
    with pytest.raises(UnreadableFile) as caught:
        read_bytes(filename, data)
    return caught.value


def test_the_reader_implements_the_port() -> None:
    reader: ContactFileReader = StreamingContactFileReader()
    table = reader.open("a.csv", io.BytesIO(b"name,phone\nAna,600111222\n"))
    assert table.headers == ("name", "phone")


# --- fixtures ------------------------------------------------------------------------------


def test_spanish_excel_csv_semicolons_and_windows_1252() -> None:
    table, rows = read_fixture("excel_es_semicolon_cp1252.csv")
    assert table.file_type == "csv"
    assert table.headers == ("Nombre", "Teléfono", "Correo", "Etiquetas")
    assert rows == [
        SourceRow(2, ("Ana Pérez", "600111222", "ana@example.com", "cliente;vip")),
        SourceRow(3, ("José Muñoz", "+34 611 222 333", "jose@example.es", "proveedor")),
        # Row 4 (";;;") is blank: skipped, still counted.
        SourceRow(5, ("Begoña Ibáñez", "", "begona@example.com", "")),
        SourceRow(6, ("Seán O’Neill", "622 333 444", "", "€uro")),
    ]


def test_utf8_bom_csv_with_commas_and_a_quoted_line_break() -> None:
    table, rows = read_fixture("utf8_bom_comma_multiline.csv")
    assert table.file_type == "csv"
    assert table.headers == ("name", "phone", "email", "tags", "notes")  # no BOM in "name"
    assert rows == [
        SourceRow(
            2,
            (
                "Pérez, Ana",
                "600111222",
                "ana@example.com",
                "cliente,vip",
                "Primera línea\nSegunda línea",
            ),
        ),
        # The record above spans two lines but is one spreadsheet row.
        SourceRow(3, ("Zoë Ñandú 🌵", "+34 611 222 333", "zoe@example.com", "", "")),
        SourceRow(4, ("Luis Gil", "622333444", "", "")),  # stripped; a short row stays short
    ]


def test_sep_line_csv_numbers_rows_from_the_header_as_excel_shows_them() -> None:
    table, rows = read_fixture("sep_semicolon.csv")
    assert table.headers == ("Nombre", "Teléfono", "Correo", "Notas")
    assert rows == [
        SourceRow(2, ("Ana Pérez", "600111222", "ana@example.com", "Llamar, mejor; por la tarde")),
        SourceRow(4, ("Luis Gil", "611222333", "", "dos\nlíneas")),
        SourceRow(5, ("Marta Ruiz", "622333444", "marta@example.com", "")),
    ]


def test_xlsx_numbers_keep_their_digits_and_rows_keep_their_sheet_numbers() -> None:
    table, rows = read_fixture("contacts.xlsx")
    assert table.file_type == "excel"
    # Row 1 is empty: the header is row 2, the first non-empty one.
    assert table.headers == ("Nombre", "Teléfono", "Correo", "Saldo", "Alta", "VIP")
    assert rows == [
        SourceRow(3, ("Ana Pérez", "600111222", "ana@example.com", "1234.5", "2024-03-01", "true")),
        SourceRow(4, ("José Muñoz", "34600111222", "", "0.1", "2024-03-01T09:30:00", "false")),
        # Row 5 is empty. The writer stored 12345678901234567 as 1.234567890123457e+16 (as
        # Excel does, 15 digits): it reads as that number's digits, not in exponent form.
        SourceRow(
            6,
            ("Luis Gil", "12345678901234570", "luis@example.com", "0.00000015", "1999-12-31"),
        ),
        SourceRow(7, ("", "611222333")),
    ]


def test_google_contacts_vcard_30() -> None:
    table, rows = read_fixture("google_contacts_v30.vcf")
    assert table.file_type == "vcard"
    assert table.headers == VCARD_HEADERS
    assert rows == [
        SourceRow(
            2,
            (
                "Ana Pérez",
                "+34 600 111 222",  # the CELL one, not the first (HOME)
                "ana@empresa.example",  # the pref one, not the first
                "Clientes,VIP",  # without myContacts and starred
                "Clienta desde 2019, prefiere WhatsApp.\nLlamar por la tarde; y pidió "
                "catálogo de invierno y presupuesto de envío.",  # folded mid-"ó", unfolded
            ),
        ),
        SourceRow(3, ("José Luis Muñoz", "611222333", "jose@example.es", "", "")),  # from N
        # Card 3 has nothing to read: skipped, its number kept.
        SourceRow(5, ("Marta Ruiz (Proveedora)", "", "marta@proveedor.example", "Proveedores", "")),
    ]


def test_android_vcard_21_quoted_printable() -> None:
    table, rows = read_fixture("android_v21.vcf")
    assert table.file_type == "vcard"
    assert rows == [
        SourceRow(
            2,
            (
                "María de los Ángeles Fernández-Castañeda",  # soft line breaks joined
                "+34 622 333 444",  # TEL;CELL;PREF beats the first TEL;CELL
                "maria@example.com",
                "",
                "Cumpleaños: 3 de mayo",  # CHARSET=ISO-8859-1
            ),
        ),
        SourceRow(3, ("Luis Gil", "915555555", "", "", "")),  # no mobile: the PREF one
        SourceRow(4, ("Begoña Ibáñez", "+34-633-444-555", "", "", "")),  # N only, QP
    ]


def test_fixtures_are_small() -> None:
    assert all(path.stat().st_size < 8 * 1024 for path in FIXTURES.iterdir())


# --- type detection ------------------------------------------------------------------------

XLSX_BYTES = (FIXTURES / "contacts.xlsx").read_bytes()
VCARD_BYTES = b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ana\r\nTEL:600111222\r\nEND:VCARD\r\n"
CSV_BYTES = b"name,phone\r\nAna,600111222\r\n"


@pytest.mark.parametrize(
    ("filename", "data", "file_type"),
    [
        ("contactos.csv", CSV_BYTES, "csv"),
        ("CONTACTOS.CSV", CSV_BYTES, "csv"),
        ("contactos.txt", CSV_BYTES, "csv"),
        ("C:\\fakepath\\contactos.csv", CSV_BYTES, "csv"),
        ("contactos.xlsx", XLSX_BYTES, "excel"),
        ("contactos.csv", XLSX_BYTES, "excel"),  # a ZIP archive can only be a workbook
        ("contactos", XLSX_BYTES, "excel"),
        ("contactos.vcf", VCARD_BYTES, "vcard"),
        ("contactos.VCARD", VCARD_BYTES, "vcard"),
        ("contactos.bin", VCARD_BYTES, "vcard"),  # content starting with BEGIN:VCARD
        ("contactos.csv", b"\xef\xbb\xbf\r\n  begin:vcard\r\nFN:Ana\r\nEND:VCARD", "vcard"),
    ],
)
def test_the_type_comes_from_content_then_extension(
    filename: str, data: bytes, file_type: str
) -> None:
    assert READER.open(filename, io.BytesIO(data)).file_type == file_type


@pytest.mark.parametrize(
    "filename", ["contactos.xls", "contactos.pdf", "contactos", "contactos.bin", "csv"]
)
def test_an_unknown_type_is_unsupported(filename: str) -> None:
    error = unreadable(filename, CSV_BYTES)
    assert (error.code, error.file_type) == ("import.unsupported_type", None)


@pytest.mark.parametrize(
    ("filename", "data", "code", "file_type"),
    [
        ("a.csv", b"", "import.empty", "csv"),
        ("a.csv", b" \r\n\t\r\n", "import.empty", "csv"),
        ("a.xlsx", b"", "import.empty", "excel"),
        ("a.vcf", b"", "import.empty", "vcard"),
        ("a.vcf", b"FN:Ana\r\nTEL:600111222\r\n", "import.empty", "vcard"),  # no BEGIN:VCARD
        ("a.vcf", b"\x00\x01BEGIN:VCARD\x00", "import.undecodable", "vcard"),
        ("a.csv", b"name,phone\x00\x00\x00", "import.undecodable", "csv"),
        ("a.xlsx", CSV_BYTES, "import.undecodable", "excel"),  # not a ZIP archive
        ("a.xlsx", XLSX_BYTES[: len(XLSX_BYTES) // 2], "import.undecodable", "excel"),
    ],
)
def test_unreadable_files_say_why_and_what_they_seemed(
    filename: str, data: bytes, code: str, file_type: str
) -> None:
    error = unreadable(filename, data)
    assert (error.code, error.file_type) == (code, file_type)


def test_a_zip_that_is_not_a_workbook_is_undecodable() -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("hola.txt", "no soy un libro de Excel")
    error = unreadable("a.xlsx", archive.getvalue())
    assert (error.code, error.file_type) == ("import.undecodable", "excel")


# --- streaming -----------------------------------------------------------------------------


class CountingStream(io.BytesIO):
    """Counts how many bytes were read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def big_csv(rows: int) -> bytes:
    lines = [f"Nombre {i};6{i:08d};user{i}@example.com\r\n" for i in range(rows)]
    return ("Nombre;Teléfono;Correo\r\n" + "".join(lines)).encode("utf-8")


def big_vcard(cards: int) -> bytes:
    photo = "PHOTO;ENCODING=b;TYPE=JPEG:" + "QUJD" * 1000  # folded below into 75-octet lines
    folded = "\r\n ".join(photo[i : i + 74] for i in range(0, len(photo), 74))
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Nombre {i}\r\nTEL;TYPE=CELL:6{i:08d}\r\n"
        "EMAIL:user{i}@example.com\r\nCATEGORIES:myContacts,cliente\r\n" + folded + "\r\n"
        "END:VCARD\r\n"
    )
    return "".join(card.format(i=i) for i in range(cards)).encode("utf-8")


@pytest.mark.parametrize(
    ("filename", "make"),
    [("big.csv", lambda: big_csv(100_000)), ("big.vcf", lambda: big_vcard(1_000))],
)
def test_open_reads_only_the_start_and_rows_read_as_they_go(
    filename: str, make: Callable[[], bytes]
) -> None:
    data = make()
    content = CountingStream(data)
    table = READER.open(filename, content)
    assert content.bytes_read <= 2 * SAMPLE_BYTES < len(data) // 10
    first = next(table.rows)
    assert first.number == 2
    assert content.bytes_read <= 2 * SAMPLE_BYTES
    assert sum(1 for _ in table.rows) > 0
    assert content.bytes_read == len(data)
    assert not content.closed  # the caller's stream is the caller's to close


def peak_memory(work: Callable[[], None]) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def read_rows_from_file(path: Path) -> Callable[[], None]:
    def work() -> None:
        with path.open("rb") as content:
            table = READER.open(path.name, content)
            count = sum(1 for _ in table.rows)
        assert count > 0

    return work


def test_a_200k_row_csv_reads_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(big_csv(200_000))
    assert path.stat().st_size > 7_000_000
    assert peak_memory(read_rows_from_file(path)) < 2 * 1024 * 1024


def test_a_vcard_with_big_photos_reads_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.vcf"
    path.write_bytes(big_vcard(1_500))
    assert path.stat().st_size > 6_000_000
    assert peak_memory(read_rows_from_file(path)) < 2 * 1024 * 1024


def test_an_xlsx_reads_row_by_row(tmp_path: Path) -> None:
    # openpyxl's read-only mode still keeps the shared strings and a few dozen bytes per row
    # already read; loading the workbook whole would take tens of megabytes here.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["Nombre", "Teléfono", "Correo"])
    for i in range(10_000):
        sheet.append([f"Nombre {i}", 600_000_000 + i, f"user{i}@example.com"])
    path = tmp_path / "big.xlsx"
    workbook.save(path)
    assert peak_memory(read_rows_from_file(path)) < 5 * 1024 * 1024


# --- robustness ----------------------------------------------------------------------------


def read_or_refusal(filename: str, data: bytes) -> tuple[ContactTable, list[SourceRow]] | str:
    """The table and all its rows, or the code of the ``UnreadableFile`` raised on the way."""
    try:
        table = READER.open(filename, io.BytesIO(data))
        return table, list(table.rows)
    except UnreadableFile as error:
        return error.code


def read_or_refuse(filename: str, data: bytes) -> None:
    """Reads everything, checking the table's shape; ``UnreadableFile`` is the only way out."""
    outcome = read_or_refusal(filename, data)
    if isinstance(outcome, str):
        assert outcome in {"import.undecodable", "import.empty", "import.unsupported_type"}
        return
    table, rows = outcome
    assert table.file_type in {"csv", "excel", "vcard"}
    assert any(table.headers)
    assert all(isinstance(cell, str) for cell in table.headers)
    numbers = [row.number for row in rows]
    assert numbers == sorted(set(numbers))
    assert all(number >= 2 for number in numbers)
    for row in rows:
        assert any(row.cells)
        assert all(isinstance(cell, str) and cell == cell.strip() for cell in row.cells)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2048), extension=st.sampled_from(EXTENSIONS))
def test_arbitrary_bytes_raise_nothing_but_unreadable_file(data: bytes, extension: str) -> None:
    read_or_refuse(f"contactos{extension}", data)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    prefix=st.sampled_from(
        [b"PK\x03\x04", b"BEGIN:VCARD\r\n", b"\xef\xbb\xbf", b"sep=;\n", b'"', b"name,phone\n"]
    ),
    data=st.binary(max_size=2048),
    extension=st.sampled_from(EXTENSIONS),
)
def test_arbitrary_bytes_after_a_telling_start_raise_nothing_but_unreadable_file(
    prefix: bytes, data: bytes, extension: str
) -> None:
    read_or_refuse(f"contactos{extension}", prefix + data)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_a_damaged_workbook_raises_nothing_but_unreadable_file(data: st.DataObject) -> None:
    damaged = bytearray(XLSX_BYTES)
    for _ in range(data.draw(st.integers(1, 8), label="damages")):
        position = data.draw(st.integers(0, len(damaged) - 1), label="position")
        damaged[position] = data.draw(st.integers(0, 255), label="byte")
    read_or_refuse("contactos.xlsx", bytes(damaged))
