"""What Alembic compares between a database and ``tables.metadata``.

Each database has a little the metadata cannot show: SQLite's FTS5 search index (a virtual
table and its shadow tables, built by the migrations with plain DDL), and indexes of the
metadata marked ``ONLY_ON`` another database. Autogenerate and the schema tests skip those.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nexus_adapters.sql.tables import ONLY_ON, SQLITE_SEARCH_INDEX

IncludeObject = Callable[[Any, str | None, str, bool, Any], bool]


def is_search_index_table(name: str | None) -> bool:
    """SQLite's FTS5 contact search table or one of its shadow tables."""
    return name is not None and (
        name == SQLITE_SEARCH_INDEX or name.startswith(f"{SQLITE_SEARCH_INDEX}_")
    )


def include_object_for(dialect_name: str) -> IncludeObject:
    """Alembic's ``include_object`` hook for a database of ``dialect_name``."""

    def include_object(
        item: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        if type_ == "table" and is_search_index_table(name):
            return False
        if type_ == "index" and not reflected:
            return bool(item.info.get(ONLY_ON, dialect_name) == dialect_name)
        return True

    return include_object
