"""the claimable deliveries, indexed by owner and due time

A claim asks for one user's oldest due deliveries that no worker holds. The index it had
(pending deliveries by due time) held the leased ones too and not the owner, so a claim read
every pending delivery of a big campaign and sorted them to keep 128. This one holds only
what can be claimed, in the order a claim takes it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")
CLAIMABLE = sa.text("status = 'pending' AND claimed_by IS NULL")


def upgrade() -> None:
    op.drop_index("ix_deliveries_due", table_name="deliveries")
    op.create_index(
        "ix_deliveries_claimable",
        "deliveries",
        ["user_id", "next_attempt_at", "id"],
        unique=False,
        postgresql_where=CLAIMABLE,
        sqlite_where=CLAIMABLE,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_claimable", table_name="deliveries")
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
