"""campaigns

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

import nexus_adapters.sql.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Written out rather than imported: a migration builds the schema of its own day.
STATUSES = ("draft", "scheduled", "active", "paused", "completed", "cancelled", "failed")
CHANNELS = ("whatsapp", "email")
COUNTERS = (
    "total_recipients",
    "pending_count",
    "sent_count",
    "delivered_count",
    "opened_count",
    "clicked_count",
    "failed_count",
    "skipped_count",
)


def _one_of(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    allowed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({allowed})", name=op.f(f"ck_campaigns_{column}"))


def _moment(name: str, *, nullable: bool) -> sa.Column[datetime]:
    return sa.Column(name, nexus_adapters.sql.types.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("media_url", sa.String(length=2048), nullable=True),
        sa.Column("media_type", sa.String(length=8), nullable=True),
        sa.Column("audience_all_contacts", sa.Boolean(), nullable=False),
        sa.Column("audience_tags", sa.Text(), nullable=False),
        sa.Column("audience_contact_ids", sa.Text(), nullable=False),
        sa.Column("whatsapp_template", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        _moment("scheduled_at", nullable=True),
        _moment("sent_at", nullable=True),
        _moment("completed_at", nullable=True),
        *(sa.Column(name, sa.Integer(), server_default="0", nullable=False) for name in COUNTERS),
        _moment("created_at", nullable=False),
        _moment("updated_at", nullable=False),
        _one_of("status", STATUSES),
        _one_of("channel", CHANNELS),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_campaigns_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaigns_user_id_created_at", ["user_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_campaigns_user_id_status", ["user_id", "status", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index("ix_campaigns_user_id_status")
        batch_op.drop_index("ix_campaigns_user_id_created_at")

    op.drop_table("campaigns")
