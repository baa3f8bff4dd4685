"""XLSX reading rules: cell values as text, the first sheet, real row numbers, any stream."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from nexus_adapters.files import StreamingContactFileReader
from nexus_adapters.files.xlsx_values import cell_text, number_text
from nexus_core.domain.contact_files import ContactTable, SourceRow, UnreadableFile

READER = StreamingContactFileReader()
FIXTURE = Path(__file__).parent / "fixtures" / "imports" / "contacts.xlsx"


def workbook_bytes(*sheets: list[list[object]]) -> bytes:
    workbook = Workbook()
    for index, rows in enumerate(sheets):
        sheet = workbook.active if index == 0 else workbook.create_sheet()
        assert sheet is not None
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read(data: bytes) -> tuple[ContactTable, list[SourceRow]]:
    table = READER.open("contactos.xlsx", io.BytesIO(data))
    return table, list(table.rows)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        ("  Ana Pérez \n", "Ana Pérez"),
        (600111222, "600111222"),
        (600111222.0, "600111222"),
        (34600111222.0, "34600111222"),
        (1e20, "100000000000000000000"),
        (-0.0, "0"),
        (1234.5, "1234.5"),
        (0.1, "0.1"),
        (123456789.123, "123456789.123"),
        (1.5e-07, "0.00000015"),
        (-2.5e-10, "-0.00000000025"),
        (True, "true"),
        (False, "false"),
        (dt.datetime(2024, 3, 1), "2024-03-01"),
        (dt.datetime(2024, 3, 1, 9, 30, 15), "2024-03-01T09:30:15"),
        (dt.date(1999, 12, 31), "1999-12-31"),
        (dt.time(9, 30), "09:30:00"),
        (dt.timedelta(hours=26), "1 day, 2:00:00"),
        (Decimal("1.10"), "1.10"),
    ],
)
def test_cell_text(value: object, text: str) -> None:
    assert cell_text(value) == text


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_numbers_keep_every_digit_and_never_use_an_exponent(value: float) -> None:
    text = number_text(value)
    assert "e" not in text.lower()
    if value.is_integer():
        assert text == str(int(value))  # the exact value, past 2**53 too
    else:
        assert Decimal(text) == Decimal(repr(value))  # the shortest digits that round-trip


def test_the_header_is_the_first_non_empty_row_and_rows_keep_their_numbers() -> None:
    data = workbook_bytes([[], [None, None], ["Nombre", "Teléfono"], [], ["Ana", 600111222]])
    table, rows = read(data)
    assert table.headers == ("Nombre", "Teléfono")
    assert rows == [SourceRow(5, ("Ana", "600111222"))]


def test_only_the_first_sheet_is_read() -> None:
    data = workbook_bytes([["Nombre"], ["Ana"]], [["Otra"], ["Luis"]])
    assert read(data)[1] == [SourceRow(2, ("Ana",))]


def test_a_workbook_whose_first_sheet_is_empty_is_empty() -> None:
    with pytest.raises(UnreadableFile) as caught:
        read(workbook_bytes([], [["Nombre"], ["Ana"]]))
    assert (caught.value.code, caught.value.file_type) == ("import.empty", "excel")


def test_cached_formula_results_are_read_not_formulas() -> None:
    # openpyxl writes no cached result: a spreadsheet program would have; the cell reads "".
    data = workbook_bytes([["Nombre", "Teléfono"], ["Ana", "=1+1"]])
    assert read(data)[1] == [SourceRow(2, ("Ana", ""))]


class Unseekable(io.BytesIO):
    def seekable(self) -> bool:
        return False

    def seek(self, offset: int, whence: int = 0, /) -> int:
        raise io.UnsupportedOperation("seek")


def test_a_stream_that_cannot_seek_is_read_too() -> None:
    expected = read(FIXTURE.read_bytes())[1]
    table = READER.open("contactos.xlsx", Unseekable(FIXTURE.read_bytes()))
    assert list(table.rows) == expected


def test_a_stream_not_at_its_start_is_read_from_where_it_is() -> None:
    content = io.BytesIO(b"cabecera de otro formato" + FIXTURE.read_bytes())
    content.seek(len(b"cabecera de otro formato"))
    assert READER.open("contactos.xlsx", content).headers[0] == "Nombre"
