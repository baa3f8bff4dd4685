"""Spreadsheet cell values as the text a contact import reads.

Numbers keep every digit a phone needs: Excel stores 600111222 as the float 600111222.0, which
must read "600111222", and 34600111222 must never become "3.4600111222e+10". A number with a
fraction reads with the shortest digits that round-trip (``repr``), never in exponent form.
"""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal


def cell_text(value: object) -> str:
    """The text of a cell value as openpyxl reads it (``None`` for an empty cell)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):  # before int: a bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_text(value)
    if isinstance(value, dt.datetime):
        return _datetime_text(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()


def number_text(value: float) -> str:
    """``600111222.0`` → ``"600111222"``; ``0.1`` → ``"0.1"``; ``1.5e-07`` → ``"0.00000015"``."""
    if not math.isfinite(value):
        return repr(value)
    if value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def _datetime_text(value: dt.datetime) -> str:
    # A date cell is a datetime at midnight: read it as the date it shows.
    if value.time() == dt.time() and value.tzinfo is None:
        return value.date().isoformat()
    return value.isoformat()
