"""WhatsApp conversations, their messages, and the bot activities of the AI automation

``conversations`` holds one row per user and contact with what the inbox shows (newest
message, unread count, last inbound time: the 24-hour window); ``conversation_messages`` the
messages, one per provider id and user (Meta repeats webhook calls); ``bot_activities`` each
inbound message the automation answers, leased by the dispatch workers like deliveries. Users
are indexed by their WhatsApp phone number id: each inbound message looks its user up by it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from alembic import op

import nexus_adapters.sql.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Written out rather than imported: a migration builds the schema of its own day.
ACTIVITY_STATUSES = ("pending", "sent", "failed", "skipped")
CLAIMABLE = sa.text("status = 'pending' AND claimed_by IS NULL")
LEASED = sa.text("claimed_by IS NOT NULL")


def _moment(name: str, *, nullable: bool) -> sa.Column[datetime]:
    return sa.Column(name, nexus_adapters.sql.types.UTCDateTime(timezone=True), nullable=nullable)


def _owner(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_index(
        "ix_users_whatsapp_phone_number_id", "users", ["whatsapp_phone_number_id"], unique=False
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        _moment("last_activity_at", nullable=False),
        sa.Column("last_message_id", sa.Integer(), nullable=True),
        _moment("last_inbound_at", nullable=True),
        sa.Column("unread_count", sa.Integer(), server_default="0", nullable=False),
        _owner("conversations"),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_conversations_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint(
            "user_id", "contact_id", name=op.f("uq_conversations_user_id_contact_id")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_conversations_user_id_last_activity_at",
        "conversations",
        ["user_id", "last_activity_at", "id"],
        unique=False,
    )
    op.create_table(
        "conversation_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("provider_message_id", sa.String(length=255), nullable=True),
        sa.Column("generated_by_ai", sa.Boolean(), server_default=sa.false(), nullable=False),
        _moment("created_at", nullable=False),
        sa.CheckConstraint(
            "direction IN ('in', 'out')", name=op.f("ck_conversation_messages_direction")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_messages_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        _owner("conversation_messages"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_messages")),
        sa.UniqueConstraint(
            "user_id",
            "provider_message_id",
            name=op.f("uq_conversation_messages_user_id_provider_message_id"),
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_conversation_messages_conversation_id",
        "conversation_messages",
        ["conversation_id", "id"],
        unique=False,
    )
    allowed = ", ".join(f"'{status}'" for status in ACTIVITY_STATUSES)
    op.create_table(
        "bot_activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("inbound_message_id", sa.Integer(), nullable=True),
        sa.Column("contact_phone", sa.String(length=20), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("message_content", sa.Text(), nullable=False),
        sa.Column("response_content", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("error", sa.String(length=100), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=True),
        _moment("claimed_at", nullable=True),
        _moment("lease_expires_at", nullable=True),
        _moment("created_at", nullable=False),
        _moment("updated_at", nullable=False),
        sa.CheckConstraint(f"status IN ({allowed})", name=op.f("ck_bot_activities_status")),
        _owner("bot_activities"),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_bot_activities_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["inbound_message_id"],
            ["conversation_messages.id"],
            name=op.f("fk_bot_activities_inbound_message_id_conversation_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_activities")),
        sa.UniqueConstraint(
            "inbound_message_id", name=op.f("uq_bot_activities_inbound_message_id")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_bot_activities_user_id_created_at",
        "bot_activities",
        ["user_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_bot_activities_user_id_claimed_at",
        "bot_activities",
        ["user_id", "claimed_at"],
        unique=False,
    )
    op.create_index(
        "ix_bot_activities_claimable",
        "bot_activities",
        ["id"],
        unique=False,
        postgresql_where=CLAIMABLE,
        sqlite_where=CLAIMABLE,
    )
    op.create_index(
        "ix_bot_activities_lease_expires_at",
        "bot_activities",
        ["lease_expires_at"],
        unique=False,
        postgresql_where=LEASED,
        sqlite_where=LEASED,
    )


def downgrade() -> None:
    op.drop_table("bot_activities")
    op.drop_table("conversation_messages")
    op.drop_table("conversations")
    op.drop_index("ix_users_whatsapp_phone_number_id", table_name="users")
