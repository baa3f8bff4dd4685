"""Fresh planner statistics after a bulk write (PostgreSQL).

Autovacuum analyzes a table some time after it changed a lot. Until then PostgreSQL plans with
the old statistics: after an import of 100,000 contacts, or a snapshot of 100,000 deliveries,
it believes the table small and scans it whole where one index probe would do, on every
request. So the writes that add many rows at once refresh the statistics themselves, in their
own transaction (``ANALYZE`` samples a bounded number of rows: a fraction of a second).
SQLite plans without such statistics here and is left alone.
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, text

# Rows written at once from which a table's statistics are refreshed.
BULK_ROWS = 1000


def refresh_after_bulk_write(connection: Connection, table: Table, rows: int) -> None:
    """``ANALYZE`` ``table`` on PostgreSQL when ``rows`` (written just now) is a bulk write."""
    if rows >= BULK_ROWS and connection.dialect.name == "postgresql":
        connection.execute(text(f"ANALYZE {table.name}"))
