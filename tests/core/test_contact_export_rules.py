"""The export's cells: a spreadsheet never runs one, and an import reads each one back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.contact_export import guard_formula
from nexus_core.domain.contact_imports import clean_cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("+34600111222", "'+34600111222"),
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("'quoted", "''quoted"),
        ("'=1+1", "''=1+1"),
        ("Ana", "Ana"),
        ("ana@example.com", "ana@example.com"),
        ("", ""),
    ],
)
def test_values_a_spreadsheet_would_run_get_an_apostrophe(value: str, cell: str) -> None:
    assert guard_formula(value) == cell
    assert clean_cell(cell) == value


@given(st.text().map(str.strip))
def test_an_import_reads_every_exported_value_back(value: str) -> None:
    assert clean_cell(guard_formula(value)) == value


@given(st.text().map(str.strip))
def test_no_exported_value_starts_like_a_formula(value: str) -> None:
    assert not guard_formula(value).startswith(("=", "+", "-", "@"))
