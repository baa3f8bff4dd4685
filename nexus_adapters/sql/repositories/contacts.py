"""A user's contacts: single writes, the list, the export stream, the counts, and imports.

Every write here also moves the owner's ``users.contacts_version`` in the same transaction.
Pages of the list are remembered by (user, query) with the version they were read at: a
page asked for again is one primary-key read while nothing changed, and read afresh as soon
as anything did, whichever process changed it. Anything else that ever writes ``contacts``
must move the version too (``touch_contacts``).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Connection,
    Integer,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from nexus_adapters.memo import Memo
from nexus_adapters.sql.repositories.contact_counts import CONTACT_STATS, OPTED_OUT_CONTACTS
from nexus_adapters.sql.repositories.contact_filters import after, contact_filter, contact_order
from nexus_adapters.sql.repositories.contact_import import import_rows
from nexus_adapters.sql.repositories.contact_rows import contact_from_row, draft_values
from nexus_adapters.sql.repositories.unique_violations import violated_unique
from nexus_adapters.sql.tables import contacts as t
from nexus_adapters.sql.tables import users
from nexus_core.domain.contact_imports import ImportedRow, OnDuplicate, Settlement
from nexus_core.domain.contact_queries import ContactQuery
from nexus_core.domain.contact_records import Contact, ContactSource, ContactStats, recent_since
from nexus_core.domain.contacts import ContactDraft
from nexus_core.errors import Conflict

STREAM_BATCH = 1000
# Ids per DELETE (or ownership check): far below SQLite's limit on bound parameters.
DELETE_BATCH = 500
_CONFLICTS = {
    "uq_contacts_user_id_phone": "contact.phone_taken",
    "uq_contacts_user_id_email": "contact.email_taken",
}
ContactPage = tuple[list[Contact], int]

_CONTACTS_VERSION = select(users.c.contacts_version).where(
    users.c.id == bindparam("owner_id", type_=Integer)
)
_TOUCH = (
    update(users)
    .where(users.c.id == bindparam("owner_id", type_=Integer))
    .values(contacts_version=bindparam("version", type_=BigInteger))
)


def touch_contacts(connection: Connection, user_id: int) -> None:
    """Record, in the current transaction, that the user's contacts changed.

    The new version is drawn at random rather than counted up: a count could come back to
    a value already seen (a database restored, or emptied and refilled, behind a running
    process), and a remembered page with it. Only 0, the version of a user whose contacts
    never changed, repeats, and it always means "no contacts".
    """
    connection.execute(_TOUCH, {"owner_id": user_id, "version": secrets.randbits(62) + 1})


# Built once: a statement made anew per call costs more to build than to run.
_ADD = (
    insert(t)
    .values(
        {
            name: bindparam(name, type_=t.c[name].type)
            for name in (
                "user_id", "source", "created_at", "updated_at",
                "name", "name_key", "phone", "email", "status", "tags", "notes", "opted_out",
            )
        }
    )
    .returning(*t.c)
)  # fmt: skip


class SqlContacts:
    def __init__(
        self,
        connection: Connection,
        *,
        stream_batch: int = STREAM_BATCH,
        pages_seen: Memo[ContactPage] | None = None,
    ) -> None:
        self._c = connection
        self._stream_batch = stream_batch
        self._pages_seen = pages_seen

    @contextmanager
    def _keeping_unique(self) -> Iterator[None]:
        """Around one statement that writes: a duplicate phone or email is a ``Conflict``, and
        the transaction stays usable. SQLite undoes a failed statement alone; PostgreSQL
        needs a savepoint for that (an error otherwise aborts the whole transaction)."""
        try:
            if self._c.dialect.name == "sqlite":
                yield
            else:
                with self._c.begin_nested():
                    yield
        except IntegrityError as error:
            code = _CONFLICTS.get(violated_unique(error, t) or "")
            if code is None:
                raise
            raise Conflict(code) from None

    def add(
        self, user_id: int, draft: ContactDraft, source: ContactSource, now: datetime
    ) -> Contact:
        values = {
            "user_id": user_id,
            "source": source,
            "created_at": now,
            "updated_at": now,
            **draft_values(draft),
        }
        with self._keeping_unique():
            row = self._c.execute(_ADD, values).one()
        touch_contacts(self._c, user_id)
        return contact_from_row(row._mapping)

    def get(self, user_id: int, contact_id: int) -> Contact | None:
        row = self._c.execute(select(t).where(t.c.id == contact_id, t.c.user_id == user_id)).first()
        return None if row is None else contact_from_row(row._mapping)

    def save(self, contact: Contact) -> None:
        statement = (
            update(t)
            .where(t.c.id == contact.id, t.c.user_id == contact.user_id)
            .values(updated_at=contact.updated_at, **draft_values(contact.draft))
        )
        with self._keeping_unique():
            self._c.execute(statement)
        touch_contacts(self._c, contact.user_id)

    def delete(self, user_id: int, contact_id: int) -> bool:
        statement = delete(t).where(t.c.id == contact_id, t.c.user_id == user_id)
        deleted = bool(self._c.execute(statement).rowcount)
        if deleted:
            touch_contacts(self._c, user_id)
        return deleted

    def delete_many(self, user_id: int, contact_ids: Collection[int]) -> int:
        ids = sorted(set(contact_ids))
        deleted = 0
        for start in range(0, len(ids), DELETE_BATCH):
            chunk = ids[start : start + DELETE_BATCH]
            statement = delete(t).where(t.c.user_id == user_id, t.c.id.in_(chunk))
            deleted += self._c.execute(statement).rowcount
        if deleted:
            touch_contacts(self._c, user_id)
        return deleted

    def owned_ids(self, user_id: int, contact_ids: Collection[int]) -> set[int]:
        ids = sorted(set(contact_ids))
        owned: set[int] = set()
        for start in range(0, len(ids), DELETE_BATCH):
            chunk = ids[start : start + DELETE_BATCH]
            statement = select(t.c.id).where(t.c.user_id == user_id, t.c.id.in_(chunk))
            owned.update(self._c.execute(statement).scalars())
        return owned

    def page(self, user_id: int, query: ContactQuery) -> ContactPage:
        """The page as last read for this (user, query) while the user's contacts version
        reads the same; else read afresh. The list is shared: callers must not change it."""
        if self._pages_seen is None:
            return self._read_page(user_id, query)
        # The version first: what is then read is at least as new as the version it is
        # remembered with, so a remembered page is never older than its version says.
        version = self._c.execute(_CONTACTS_VERSION, {"owner_id": user_id}).scalar()
        return self._pages_seen.get(
            (user_id, query), (version,), lambda: self._read_page(user_id, query)
        )

    def _read_page(self, user_id: int, query: ContactQuery) -> ContactPage:
        """Two statements: the count, and the page (a top-N sort, or an index walk that stops
        after the page). One with ``count(*) OVER ()`` would drag every match through the sort."""
        conditions = contact_filter(self._c.dialect.name, user_id, query)
        total = self._c.execute(select(func.count()).select_from(t).where(*conditions)).scalar_one()
        if query.offset >= total:
            return [], total
        rows = self._c.execute(
            select(t)
            .where(*conditions)
            .order_by(*contact_order(query))
            .limit(query.per_page)
            .offset(query.offset)
        )
        return [contact_from_row(row._mapping) for row in rows], total

    def stream(self, user_id: int, query: ContactQuery) -> Iterator[Contact]:
        """A keyset walk: each batch starts after the last row of the one before, so no
        batch costs more than the first, and only one batch is ever held."""
        conditions = contact_filter(self._c.dialect.name, user_id, query)
        batch = select(t).order_by(*contact_order(query)).limit(self._stream_batch)
        last: Any = None
        while True:
            resume = [] if last is None else [after(query, last)]
            rows = self._c.execute(batch.where(*conditions, *resume)).all()
            for row in rows:
                yield contact_from_row(row._mapping)
            if len(rows) < self._stream_batch:
                return
            last = rows[-1]._mapping

    def stats(self, user_id: int, now: datetime) -> ContactStats:
        """The counts the triggers on contacts keep on the user's row (migration 0008), and
        the recent ones from ``ix_contacts_user_id_created_at``: only they are read."""
        parameters = {"owner_id": user_id, "since": recent_since(now)}
        row = self._c.execute(CONTACT_STATS, parameters).first()
        if row is None:  # no such user: no contacts
            return ContactStats(0, 0, 0, 0)
        total, active, recent = row
        return ContactStats(total, active, total - active, recent)

    def count_opted_out(self, user_id: int) -> int:
        """Kept on the user's row by the triggers on contacts, as ``stats``'s counts."""
        return int(self._c.execute(OPTED_OUT_CONTACTS, {"owner_id": user_id}).scalar() or 0)

    def import_batch(
        self,
        user_id: int,
        rows: Sequence[ImportedRow],
        on_duplicate: OnDuplicate,
        now: datetime,
    ) -> list[Settlement]:
        settlements = import_rows(self._c, user_id, rows, on_duplicate, now)
        touch_contacts(self._c, user_id)
        return settlements
