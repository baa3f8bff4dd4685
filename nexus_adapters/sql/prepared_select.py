"""A SELECT compiled once per dialect and run straight on the driver's cursor.

For the hottest query only (the session lookup behind every authenticated request), where
SQLAlchemy's per-execution bookkeeping costs twice as much as the query itself. Results go
through the columns' own SQLAlchemy result processors, so values come out exactly as a normal
``Connection.execute`` would give them. Parameters must be plain values (no bind processing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    positional_names: tuple[str, ...] | None  # None: the driver takes named parameters
    names: tuple[str, ...]
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]  # only columns that have one


class PreparedSelect:
    def __init__(self, statement: Select[Any]) -> None:
        self._statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            sql = self._statement.compile(dialect=dialect)
            columns = list(self._statement.selected_columns)
            processors = (
                (str(column.key), column.type.dialect_impl(dialect).result_processor(dialect, None))
                for column in columns
            )
            compiled = _Compiled(
                sql=str(sql),
                positional_names=tuple(sql.positiontup or ()) if dialect.positional else None,
                names=tuple(str(column.key) for column in columns),
                processors=tuple((name, process) for name, process in processors if process),
            )
            self._by_dialect[dialect.name] = compiled
        return compiled

    def first_row(self, connection: Connection, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first row as the driver returns it (values not yet processed), or ``None``; runs
        in the connection's current transaction (it is the same driver connection)."""
        compiled = self._compiled(connection.dialect)
        arguments: Any = (
            params
            if compiled.positional_names is None
            else tuple(params[name] for name in compiled.positional_names)
        )
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(compiled.sql, arguments)
            row: Sequence[Any] | None = cursor.fetchone()
        finally:
            cursor.close()
        return row

    def mapping(self, connection: Connection, row: Sequence[Any]) -> dict[str, Any]:
        """A driver row as a dict keyed by column name, values as SQLAlchemy would give them."""
        compiled = self._compiled(connection.dialect)
        values = dict(zip(compiled.names, row, strict=True))
        for name, process in compiled.processors:
            values[name] = process(values[name])
        return values
