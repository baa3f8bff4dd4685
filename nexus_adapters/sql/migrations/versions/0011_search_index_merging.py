"""the SQLite search index merges its segments sixteen at a time

FTS5 writes each flush of new rows as a segment and, by default, merges segments as soon as
four of a level exist: during a bulk import most of the index's cost was that merging, done
again and again. Sixteen a level (``automerge``, kept in the index's own configuration) took
a 100,000-contact import's database work from about 5.0 to 4.2 s on the same machine, and the
searches of ``bench/contacts_search.py`` answer as fast as before: a search reads a few more,
smaller segments. PostgreSQL has nothing to change.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SEGMENTS_MERGED_AT_ONCE = 16
FTS5_DEFAULT = 4


def _set_automerge(segments: int) -> None:
    if op.get_context().dialect.name == "sqlite":
        op.get_bind().execute(
            sa.text(
                "INSERT INTO contacts_search(contacts_search, rank) VALUES ('automerge', :segments)"
            ),
            {"segments": segments},
        )


def upgrade() -> None:
    _set_automerge(SEGMENTS_MERGED_AT_ONCE)


def downgrade() -> None:
    _set_automerge(FTS5_DEFAULT)
