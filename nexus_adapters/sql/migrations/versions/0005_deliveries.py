"""deliveries

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

import nexus_adapters.sql.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# Written out rather than imported: a migration builds the schema of its own day.
STATUSES = ("pending", "sent", "delivered", "read", "failed", "skipped")
PENDING = sa.text("status = 'pending'")
KNOWN_ID = sa.text("provider_message_id IS NOT NULL")


def _moment(name: str, *, nullable: bool) -> sa.Column[datetime]:
    return sa.Column(name, nexus_adapters.sql.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    allowed = ", ".join(f"'{status}'" for status in STATUSES)
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("provider_message_id", sa.String(length=255), nullable=True),
        _moment("next_attempt_at", nullable=True),
        _moment("created_at", nullable=False),
        _moment("updated_at", nullable=False),
        sa.CheckConstraint(f"status IN ({allowed})", name=op.f("ck_deliveries_status")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_deliveries_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_deliveries_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_deliveries_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint(
            "campaign_id", "contact_id", name=op.f("uq_deliveries_campaign_id_contact_id")
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deliveries_campaign_id_status", ["campaign_id", "status", "id"], unique=False
        )
        batch_op.create_index(
            "ix_deliveries_due",
            ["next_attempt_at"],
            unique=False,
            postgresql_where=PENDING,
            sqlite_where=PENDING,
        )
        batch_op.create_index(
            "ix_deliveries_provider_message_id",
            ["provider_message_id"],
            unique=True,
            postgresql_where=KNOWN_ID,
            sqlite_where=KNOWN_ID,
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_provider_message_id")
        batch_op.drop_index("ix_deliveries_due")
        batch_op.drop_index("ix_deliveries_campaign_id_status")

    op.drop_table("deliveries")
