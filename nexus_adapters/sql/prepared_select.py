"""A SELECT compiled once per dialect and run straight on the driver's cursor.

For the hottest queries only (the session lookup behind every authenticated request, the
dashboard), where SQLAlchemy's per-execution bookkeeping costs as much as the queries
themselves. Parameters go through their types' bind processors, and the statement's own
literals are bound as compiled; results go through the columns' own result processors, so
values come out exactly as a normal ``Connection.execute`` would give them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect


def _picker(names: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """The values of ``names`` in order, picked in C (a statement may take dozens)."""
    if len(names) == 1:
        (name,) = names
        return lambda params: (params[name],)
    if not names:
        return lambda params: ()
    return operator.itemgetter(*names)


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    # The values in the driver's order; None: the driver takes named parameters.
    positional: Callable[[Mapping[str, Any]], tuple[Any, ...]] | None
    names: tuple[str, ...]
    processors: tuple[tuple[str, Callable[[Any], Any]], ...]  # only columns that have one
    literals: dict[str, Any]  # the statement's own bound values, processed
    bind_processors: tuple[tuple[str, Callable[[Any], Any]], ...]  # parameters that need one

    def arguments(self, params: Mapping[str, Any]) -> Any:
        """What the driver's ``execute`` takes for ``params``."""
        if self.literals or self.bind_processors:
            values = {**self.literals, **params}
            for name, process in self.bind_processors:
                values[name] = process(values[name])
            params = values
        if self.positional is None:
            return params
        return self.positional(params)


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
            literals: dict[str, Any] = {}
            bind_processors: list[tuple[str, Callable[[Any], Any]]] = []
            for bind, name in sql.bind_names.items():
                process = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if not bind.required:
                    value = bind.effective_value
                    literals[name] = value if process is None else process(value)
                elif process is not None:
                    bind_processors.append((name, process))
            compiled = _Compiled(
                sql=str(sql),
                positional=_picker(sql.positiontup or ()) if dialect.positional else None,
                names=tuple(str(column.key) for column in columns),
                processors=tuple((name, process) for name, process in processors if process),
                literals=literals,
                bind_processors=tuple(bind_processors),
            )
            self._by_dialect[dialect.name] = compiled
        return compiled

    def first_row(self, connection: Connection, params: Mapping[str, Any]) -> Sequence[Any] | None:
        """The first row as the driver returns it (values not yet processed), or ``None``; runs
        in the connection's current transaction (it is the same driver connection)."""
        cursor = self._executed(connection, params)
        try:
            row: Sequence[Any] | None = cursor.fetchone()
        finally:
            cursor.close()
        return row

    def rows(self, connection: Connection, params: Mapping[str, Any]) -> list[Sequence[Any]]:
        """Every row as the driver returns it, as ``first_row``."""
        cursor = self._executed(connection, params)
        try:
            rows: list[Sequence[Any]] = cursor.fetchall()
        finally:
            cursor.close()
        return rows

    def _executed(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        compiled = self._compiled(connection.dialect)
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(compiled.sql, compiled.arguments(params))
        except BaseException:
            cursor.close()
            raise
        return cursor

    def mapping(self, connection: Connection, row: Sequence[Any]) -> dict[str, Any]:
        """A driver row as a dict keyed by column name, values as SQLAlchemy would give them."""
        compiled = self._compiled(connection.dialect)
        values = dict(zip(compiled.names, row, strict=True))
        for name, process in compiled.processors:
            values[name] = process(values[name])
        return values
