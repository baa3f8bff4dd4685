"""The bulk path of contact imports: a batch planned in Python, written in a few statements.

Under ``skip`` a batch whose phones and emails are all different (as ``ImportTally`` passes
them: a row repeating an earlier one's never reaches the database) is one ``INSERT … SELECT …
ON CONFLICT DO NOTHING`` over the whole batch as one JSON parameter (``json_rows``): the unique
indexes on (user, phone) and (user, email) decide, and a row that meets an existing contact,
or one a concurrent writer just stored, is a duplicate. Nothing is read first.

Otherwise (``update``, or keys repeated within the batch), per thousand rows: one SELECT of the
user's contacts sharing a phone or an email with the batch (through the unique indexes),
``plan_import``, then one ``UPDATE … FROM`` for the contacts that change and one ``INSERT …
SELECT … ON CONFLICT DO NOTHING`` for the new ones.

SQLite's writers hold the database lock, so nothing can slip in between the SELECT and the
writes. PostgreSQL's concurrent writers can: a contact inserted meanwhile makes the INSERT
skip a row (the counts tell) or the UPDATE hit a unique constraint. Either way the batch's
savepoint is rolled back and the batch planned again, on what is there now.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Executable,
    Integer,
    Select,
    Text,
    Update,
    bindparam,
    literal,
    select,
    true,
    union,
    update,
)
from sqlalchemy.exc import IntegrityError

from nexus_adapters.sql.repositories.contact_rows import contact_from_row, draft_values
from nexus_adapters.sql.repositories.json_rows import Field, json_rows, json_texts
from nexus_adapters.sql.repositories.unique_violations import violated_unique
from nexus_adapters.sql.repositories.upsert import insert_for
from nexus_adapters.sql.tables import contacts as t
from nexus_adapters.sql.types import UTCDateTime
from nexus_core.domain.contact_import_plan import ImportPlan, batch_keys, plan_import
from nexus_core.domain.contact_imports import ImportedRow, OnDuplicate, Settlement
from nexus_core.errors import Conflict

BATCH_ROWS = 1000
ATTEMPTS = 3

_FIELDS: tuple[Field, ...] = (
    ("name", Text()),
    ("name_key", Text()),
    ("phone", Text()),
    ("email", Text()),
    ("status", Text()),
    ("tags", Text()),
    ("notes", Text()),
    ("opted_out", Boolean()),
)
_NAMES = tuple(name for name, _ in _FIELDS)


class _Overtaken(Exception):
    """A concurrent writer stored one of the batch's phones or emails first."""


def _insert(connection: Connection) -> Executable:
    """The batch's new contacts, those that meet no unique index; the phone and email of each
    contact inserted come back."""
    rows = json_rows(connection.dialect.name, "rows", _FIELDS)
    at = bindparam("at", type_=UTCDateTime)
    owner = bindparam("owner_id", type_=Integer)
    # The WHERE is for SQLite, which reads "INSERT … SELECT … ON CONFLICT" ambiguously without.
    source = select(owner, literal("import"), at, at, *rows.c).where(true())
    statement: Executable = (
        insert_for(connection, t)
        .from_select(["user_id", "source", "created_at", "updated_at", *_NAMES], source)
        .on_conflict_do_nothing()
        .returning(t.c.phone, t.c.email)
    )
    return statement


def _keys_distinct(rows: Sequence[ImportedRow]) -> bool:
    """No two rows share a phone or an email."""
    phones = [row.contact.phone for row in rows if row.contact.phone is not None]
    emails = [row.contact.email for row in rows if row.contact.email is not None]
    return len(set(phones)) == len(phones) and len(set(emails)) == len(emails)


def _insert_new(
    connection: Connection, user_id: int, rows: Sequence[ImportedRow], now: datetime
) -> list[Settlement]:
    """Under ``skip``, rows of distinct keys: each is ``imported`` when the database took it,
    else a ``duplicate`` of a contact that holds its phone or email."""
    created = [draft_values(row.contact) for row in rows]
    inserted = connection.execute(
        _insert(connection), {"owner_id": user_id, "at": now, "rows": created}
    ).all()
    phones = {phone for phone, _ in inserted if phone is not None}
    emails = {email for _, email in inserted if email is not None}
    return [
        "imported"
        if (
            row.contact.phone in phones
            if row.contact.phone is not None
            else row.contact.email in emails
        )
        else "duplicate"
        for row in rows
    ]


def _update(connection: Connection) -> Update:
    rows = json_rows(connection.dialect.name, "rows", (("id", Integer()), *_FIELDS))
    return (
        update(t)
        .where(t.c.id == rows.c.id, t.c.user_id == bindparam("owner_id", type_=Integer))
        .values(
            {
                **{name: rows.c[name] for name in _NAMES},
                "updated_at": bindparam("at", type_=UTCDateTime),
            }
        )
    )


def _holding(dialect: str, key: Column[str], parameter: str) -> Select[Any]:
    """The user's contacts whose ``key`` is one of the JSON list bound to ``parameter``, each
    found through the unique index on (user_id, ``key``)."""
    owner = bindparam("owner_id", type_=Integer)
    if dialect != "postgresql":
        return select(t).where(t.c.user_id == owner, key.in_(json_texts(dialect, parameter)))
    # PostgreSQL's statistics lag behind a big import (the user seems to own a few rows),
    # and an IN would scan all of them per batch: one probe per key instead. LIMIT 1 (the key
    # is unique anyway) keeps the planner from turning the LATERAL back into a join.
    wanted = json_texts(dialect, parameter).subquery("wanted")
    (value,) = wanted.c
    probe = select(t).where(t.c.user_id == owner, key == value).limit(1).lateral("found")
    return select(probe).select_from(wanted).join(probe, true())


def _sharing(connection: Connection) -> Executable:
    """The user's contacts holding one of the ``phones`` or ``emails``: one lookup per unique
    index (an OR of both can send SQLite's planner down every contact of the user instead)."""
    dialect = connection.dialect.name
    return union(_holding(dialect, t.c.phone, "phones"), _holding(dialect, t.c.email, "emails"))


def _plan(
    connection: Connection, user_id: int, rows: Sequence[ImportedRow], on_duplicate: OnDuplicate
) -> ImportPlan:
    phones, emails = batch_keys(rows)
    keys = {"owner_id": user_id, "phones": sorted(phones), "emails": sorted(emails)}
    existing = [
        contact_from_row(row._mapping) for row in connection.execute(_sharing(connection), keys)
    ]
    return plan_import(rows, existing, on_duplicate)


def _write(connection: Connection, user_id: int, plan: ImportPlan, now: datetime) -> None:
    common: dict[str, Any] = {"owner_id": user_id, "at": now}
    if plan.changed:
        changed = [{"id": stored.id, **draft_values(fields)} for stored, fields in plan.changed]
        connection.execute(_update(connection), {**common, "rows": changed})
    if plan.created:
        created = [draft_values(draft) for draft in plan.created]
        inserted = connection.execute(_insert(connection), {**common, "rows": created}).all()
        if len(inserted) != len(created):
            raise _Overtaken


def _import_batch(
    connection: Connection,
    user_id: int,
    rows: Sequence[ImportedRow],
    on_duplicate: OnDuplicate,
    now: datetime,
) -> list[Settlement]:
    if on_duplicate == "skip" and _keys_distinct(rows):
        return _insert_new(connection, user_id, rows, now)
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with connection.begin_nested():
                plan = _plan(connection, user_id, rows, on_duplicate)
                _write(connection, user_id, plan, now)
                return list(plan.settlements)
        except IntegrityError as error:
            if violated_unique(error, t) is None or attempt == ATTEMPTS:
                raise
        except _Overtaken:
            if attempt == ATTEMPTS:
                raise Conflict("import.concurrent_changes") from None
    raise AssertionError("unreachable")


def import_rows(
    connection: Connection,
    user_id: int,
    rows: Sequence[ImportedRow],
    on_duplicate: OnDuplicate,
    now: datetime,
) -> list[Settlement]:
    """``ContactRepository.import_batch``, ``BATCH_ROWS`` rows at a time."""
    settlements: list[Settlement] = []
    for start in range(0, len(rows), BATCH_ROWS):
        batch = rows[start : start + BATCH_ROWS]
        settlements.extend(_import_batch(connection, user_id, batch, on_duplicate, now))
    return settlements
