"""Login sessions, looked up by token hash together with their user."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, or_, select, update

from nexus_adapters.memo import Memo
from nexus_adapters.sql.prepared_select import PreparedSelect
from nexus_adapters.sql.repositories.users import user_from_row
from nexus_adapters.sql.tables import sessions as t
from nexus_adapters.sql.tables import users
from nexus_core.domain.sessions import Session
from nexus_core.domain.users import User
from nexus_core.ports import SecretBox

# Built once: composing a statement per call costs more than running it (hot path: every
# authenticated request runs this lookup).
_FIND_WITH_USER = PreparedSelect(
    select(
        t.c.id.label("session_id"),
        t.c.user_id,
        t.c.token_hash,
        t.c.created_at.label("session_created_at"),
        t.c.last_seen_at,
        users,
    )
    .join_from(t, users, t.c.user_id == users.c.id)
    .where(t.c.token_hash == bindparam("token_hash"))
)


def _session_from_row(m: Mapping[str, Any]) -> Session:
    return Session(
        id=m["session_id"],
        user_id=m["user_id"],
        token_hash=m["token_hash"],
        created_at=m["session_created_at"],
        last_seen_at=m["last_seen_at"],
    )


class SqlSessions:
    def __init__(
        self,
        connection: Connection,
        secret_box: SecretBox,
        seen: Memo[tuple[Session, User]] | None = None,
    ) -> None:
        """``seen``: sessions (with their users) already built from identical rows."""
        self._c = connection
        self._box = secret_box
        self._seen = seen if seen is not None else Memo(capacity=1)

    def add(self, user_id: int, token_hash: str, now: datetime) -> Session:
        new_id = self._c.execute(
            insert(t)
            .values(user_id=user_id, token_hash=token_hash, created_at=now, last_seen_at=now)
            .returning(t.c.id)
        ).scalar_one()
        return Session(new_id, user_id, token_hash, now, now)

    def find_with_user(self, token_hash: str) -> tuple[Session, User] | None:
        row = _FIND_WITH_USER.first_row(self._c, {"token_hash": token_hash})
        if row is None:
            return None

        def build() -> tuple[Session, User]:
            values = _FIND_WITH_USER.mapping(self._c, row)
            return _session_from_row(values), user_from_row(values, self._box)

        return self._seen.get(row[0], row, build)  # keyed by the session's id

    def touch(self, session_id: int, now: datetime) -> None:
        self._c.execute(update(t).where(t.c.id == session_id).values(last_seen_at=now))

    def revoke(self, session_id: int) -> None:
        self._c.execute(delete(t).where(t.c.id == session_id))

    def revoke_all_for_user(self, user_id: int, except_session_id: int | None = None) -> int:
        statement = delete(t).where(t.c.user_id == user_id)
        if except_session_id is not None:
            statement = statement.where(t.c.id != except_session_id)
        return self._c.execute(statement).rowcount

    def purge_expired(self, idle_before: datetime, created_before: datetime) -> int:
        return self._c.execute(
            delete(t).where(or_(t.c.last_seen_at < idle_before, t.c.created_at < created_before))
        ).rowcount
