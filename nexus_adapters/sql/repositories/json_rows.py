"""Many rows as one JSON parameter, read back as a table by the database itself.

A whole batch then travels in one statement (``INSERT … SELECT``, ``UPDATE … FROM``) instead of
one statement per row: set-based work for the database, and on SQLite one statement for its
triggers (the FTS5 search index flushes per statement, so row-by-row statements cost it 4×).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import FromClause, Select, bindparam, column, func, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import JSON, Text, TypeEngine

Field = tuple[str, TypeEngine[Any]]


def json_rows(dialect_name: str, parameter: str, fields: Sequence[Field]) -> FromClause:
    """A FROM clause over the list of objects bound to ``parameter``, one column per field
    (objects are keyed by field name; a missing key or a JSON null reads as NULL)."""
    if dialect_name == "postgresql":
        return (
            func.jsonb_to_recordset(bindparam(parameter, type_=JSONB))
            .table_valued(*(column(name, type_) for name, type_ in fields))
            .render_derived(name=parameter, with_types=True)
        )
    each = func.json_each(bindparam(parameter, type_=JSON)).table_valued("value")
    return select(
        *(
            type_coerce(func.json_extract(each.c.value, f"$.{name}"), type_).label(name)
            for name, type_ in fields
        )
    ).subquery(parameter)


def json_texts(dialect_name: str, parameter: str) -> Select[tuple[str]]:
    """The strings of the JSON list bound to ``parameter``, as a one-column SELECT (for
    ``column IN (…)`` over a whole batch with one parameter)."""
    if dialect_name == "postgresql":
        return select(func.jsonb_array_elements_text(bindparam(parameter, type_=JSONB)))
    each = func.json_each(bindparam(parameter, type_=JSON)).table_valued("value")
    return select(type_coerce(each.c.value, Text()))
