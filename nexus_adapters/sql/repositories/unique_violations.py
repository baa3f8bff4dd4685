"""Which unique constraint an ``IntegrityError`` reports, on either database."""

from __future__ import annotations

from sqlalchemy import Table, UniqueConstraint
from sqlalchemy.exc import IntegrityError

_SQLITE_UNIQUE = "UNIQUE constraint failed: "


def violated_unique(error: IntegrityError, table: Table) -> str | None:
    """The name of the unique constraint of ``table`` that ``error`` reports, or None when it
    reports anything else (a foreign key, another table's constraint)."""
    uniques = [c for c in table.constraints if isinstance(c, UniqueConstraint)]
    diagnostics = getattr(error.orig, "diag", None)
    if diagnostics is not None:  # psycopg names the constraint
        name = diagnostics.constraint_name
        return next((str(c.name) for c in uniques if c.name == name), None)
    # SQLite names the columns: "UNIQUE constraint failed: contacts.user_id, contacts.phone".
    message = str(error.orig)
    if not message.startswith(_SQLITE_UNIQUE):
        return None
    columns = [part.strip() for part in message.removeprefix(_SQLITE_UNIQUE).split(",")]
    for constraint in uniques:
        if columns == [f"{table.name}.{column.name}" for column in constraint.columns]:
            return str(constraint.name)
    return None
