"""A ``ContactQuery`` as SQL: which rows (search, status, tags), in which order, and where a
batch of a keyset walk resumes.

Search and tags are substring tests over columns the application already folded
(``name_key``, ``email``, ``phone``, ``tags``), so they mean the same on both databases. Each is
served by a trigram index: pg_trgm GIN indexes of ``LIKE '%…%'`` on PostgreSQL, the FTS5 table
``contacts_search`` on SQLite. FTS5's trigrams need three characters: shorter terms fall back
to ``LIKE`` there (PostgreSQL's planner makes that choice by itself).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Text,
    bindparam,
    column,
    literal,
    or_,
    select,
    table,
    tuple_,
)
from sqlalchemy.sql.elements import UnaryExpression

from nexus_adapters.sql.repositories.contact_rows import tag_pattern
from nexus_adapters.sql.tables import SQLITE_SEARCH_INDEX
from nexus_adapters.sql.tables import contacts as t
from nexus_core.domain.contact_queries import ContactQuery

_TRIGRAM = 3
_LIKE_ESCAPE = "/"
_search_index = table(SQLITE_SEARCH_INDEX, column("rowid"), column(SQLITE_SEARCH_INDEX))


def _like_pattern(fragment: str) -> str:
    """``%fragment%``, its own ``%``, ``_`` and escape character taken literally."""
    for special in (_LIKE_ESCAPE, "%", "_"):
        fragment = fragment.replace(special, _LIKE_ESCAPE + special)
    return f"%{fragment}%"


def _contains(column_: ColumnElement[Any], fragment: str) -> ColumnElement[bool]:
    """``column_`` holds ``fragment``. The pattern is written into the statement (quoted by
    SQLAlchemy): PostgreSQL then plans each search knowing its pattern, where a prepared
    statement's generic plan for ``LIKE $1`` (psycopg prepares after five runs) misjudges the
    trigram indexes and can scan the table."""
    pattern = bindparam(None, _like_pattern(fragment), type_=Text(), literal_execute=True)
    return column_.like(pattern, escape=_LIKE_ESCAPE)


Terms = list[tuple[tuple[ColumnElement[Any], ...], str]]


def _search_terms(query: ContactQuery) -> Terms:
    """(columns, fragment) pairs: a contact matches the search when any fragment is a
    substring of any of its columns."""
    needle, digits = query.search_key, query.search_digits
    if needle is None:
        return []
    terms: Terms = [((t.c.name_key, t.c.email), needle)]
    if digits is not None:
        terms.append(((t.c.phone,), digits))
    return terms


def _like_any(terms: Terms) -> ColumnElement[bool]:
    return or_(*(_contains(column_, text) for columns, text in terms for column_ in columns))


def _phrase(columns: tuple[ColumnElement[Any], ...], fragment: str) -> str:
    """An FTS5 phrase in ``columns``: with the trigram tokenizer, a substring test."""
    names = " ".join(str(column_.key) for column_ in columns)
    quoted = fragment.replace('"', '""')
    return f'{{{names}}} : "{quoted}"'


def _sqlite_search(user_id: int, terms: Terms, tags: tuple[str, ...]) -> list[ColumnElement[bool]]:
    phrases = [_phrase((t.c.tags,), tag_pattern(tag)) for tag in tags]
    conditions: list[ColumnElement[bool]] = []
    if terms and all(len(text) >= _TRIGRAM for _, text in terms):
        phrases.insert(0, f"({' OR '.join(_phrase(*term) for term in terms)})")
    elif terms:
        conditions.append(_like_any(terms))
    if not phrases:
        return [t.c.user_id == user_id, *conditions]
    match = _search_index.c[SQLITE_SEARCH_INDEX].match(" AND ".join(phrases))
    # The search index drives: its matches are looked up by id. Without statistics SQLite's
    # planner would rather walk every contact of the user and probe the matches, so the
    # owner test is written in a form no index can serve ("+ 0"), leaving only the ids.
    return [
        t.c.id.in_(select(_search_index.c.rowid).where(match)),
        t.c.user_id + 0 == user_id,
        *conditions,
    ]


def contact_filter(
    dialect_name: str, user_id: int, query: ContactQuery
) -> list[ColumnElement[bool]]:
    """The conditions a row meets when it is one of the user's contacts matching ``query``."""
    status = [] if query.status is None else [t.c.status == query.status]
    terms = _search_terms(query)
    if dialect_name == "sqlite":
        return [*_sqlite_search(user_id, terms, query.tags), *status]
    conditions: list[ColumnElement[bool]] = [t.c.user_id == user_id, *status]
    if terms:
        conditions.append(_like_any(terms))
    conditions.extend(_contains(t.c.tags, tag_pattern(tag)) for tag in query.tags)
    return conditions


def _sort_column(query: ContactQuery) -> ColumnElement[Any]:
    return t.c.name_key if query.sort.endswith("name") else t.c.created_at


def _descending(query: ContactQuery) -> bool:
    return query.sort.startswith("-")


def contact_order(query: ContactQuery) -> list[UnaryExpression[Any]]:
    """The query's sort, ties broken by id in the same direction (an index serves both)."""
    keys = (_sort_column(query), t.c.id)
    return [key.desc() if _descending(query) else key.asc() for key in keys]


def after(query: ContactQuery, last: Mapping[str, Any]) -> ColumnElement[bool]:
    """Rows that come after ``last`` (a row of ``contacts``) in the query's order."""
    sort = _sort_column(query)
    position = tuple_(sort, t.c.id)
    bound = tuple_(literal(last[str(sort.key)], sort.type), literal(last["id"], t.c.id.type))
    return position < bound if _descending(query) else position > bound
