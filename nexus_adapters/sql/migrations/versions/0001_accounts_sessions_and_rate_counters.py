"""accounts, sessions and rate counters

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nexus_adapters.sql.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column(
            "window_started_at", nexus_adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_counters")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("company", sa.String(length=200), nullable=True),
        sa.Column("whatsapp_api_key_encrypted", sa.Text(), nullable=True),
        sa.Column("whatsapp_phone_number_id", sa.String(length=200), nullable=True),
        sa.Column("gmail_api_key_encrypted", sa.Text(), nullable=True),
        sa.Column("gmail_address", sa.String(length=254), nullable=True),
        sa.Column("gemini_api_key_encrypted", sa.Text(), nullable=True),
        sa.Column(
            "gemini_auto_reply_enabled", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("gemini_knowledge_base", sa.Text(), nullable=True),
        sa.Column("email_notifications", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("push_notifications", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("sms_notifications", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("profile_visible", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("data_sharing", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("analytics", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("language", sa.String(length=2), server_default="es", nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="Europe/Madrid", nullable=False),
        sa.Column("theme", sa.String(length=10), server_default="light", nullable=False),
        sa.Column("default_country", sa.String(length=2), server_default="ES", nullable=False),
        sa.Column("send_rate_per_minute", sa.Integer(), server_default="60", nullable=False),
        sa.Column(
            "created_at", nexus_adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", nexus_adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("last_login", nexus_adapters.sql.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", nexus_adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_seen_at", nexus_adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sessions_token_hash")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_user_id", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_user_id")

    op.drop_table("sessions")
    op.drop_table("users")
    op.drop_table("rate_counters")
