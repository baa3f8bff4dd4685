"""Fixed-window counters shared by every server process."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, case, delete, literal, select

from nexus_adapters.sql.repositories.upsert import insert_for
from nexus_adapters.sql.tables import rate_counters as t
from nexus_adapters.sql.types import UTCDateTime
from nexus_core.domain.rate_limits import WindowCount


class SqlRateCounters:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def hit(self, key: str, now: datetime, window: timedelta) -> WindowCount:
        """One atomic upsert: a concurrent hit from another process is never lost."""
        expired = t.c.window_started_at <= literal(now - window, UTCDateTime)
        statement = insert_for(self._c, t).values(key=key, window_started_at=now, count=1)
        statement = statement.on_conflict_do_update(
            index_elements=[t.c.key],
            set_={
                "window_started_at": case(
                    (expired, statement.excluded.window_started_at),
                    else_=t.c.window_started_at,
                ),
                "count": case((expired, 1), else_=t.c.count + 1),
            },
        ).returning(t.c.count, t.c.window_started_at)
        count, window_started_at = self._c.execute(statement).one()
        return WindowCount(count, window_started_at)

    def peek(self, key: str) -> WindowCount | None:
        row = self._c.execute(
            select(t.c.count, t.c.window_started_at).where(t.c.key == key)
        ).first()
        return None if row is None else WindowCount(row[0], row[1])

    def clear(self, key: str) -> None:
        self._c.execute(delete(t).where(t.c.key == key))
