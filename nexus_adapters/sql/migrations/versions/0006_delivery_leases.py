"""delivery leases and the users' dispatch pace

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

import nexus_adapters.sql.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LEASED = sa.text("claimed_by IS NOT NULL")


def _moment(name: str) -> sa.Column[datetime]:
    return sa.Column(name, nexus_adapters.sql.types.UTCDateTime(timezone=True), nullable=True)


def upgrade() -> None:
    # Nullable columns without defaults: plain ALTER TABLE … ADD COLUMN on both databases.
    op.add_column("users", _moment("dispatch_next_at"))
    op.add_column("deliveries", sa.Column("claimed_by", sa.String(length=200), nullable=True))
    op.add_column("deliveries", _moment("lease_expires_at"))
    op.create_index(
        "ix_deliveries_lease_expires_at",
        "deliveries",
        ["lease_expires_at"],
        unique=False,
        postgresql_where=LEASED,
        sqlite_where=LEASED,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_lease_expires_at", table_name="deliveries")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("claimed_by")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("dispatch_next_at")
