"""The schema, as SQLAlchemy Core tables. Migrations must produce exactly this."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    true,
)

from nexus_adapters.sql.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", String(128), nullable=False),
    Column("name", String(200), nullable=False),
    Column("phone", String(20)),
    Column("company", String(200)),
    # Channel credentials: ciphertext only (Fernet tokens), never the secret itself.
    Column("whatsapp_api_key_encrypted", Text),
    Column("whatsapp_phone_number_id", String(200)),
    Column("gmail_api_key_encrypted", Text),
    Column("gmail_address", String(254)),
    Column("gemini_api_key_encrypted", Text),
    Column("gemini_auto_reply_enabled", Boolean, nullable=False, server_default=false()),
    Column("gemini_knowledge_base", Text),
    Column("email_notifications", Boolean, nullable=False, server_default=true()),
    Column("push_notifications", Boolean, nullable=False, server_default=true()),
    Column("sms_notifications", Boolean, nullable=False, server_default=false()),
    Column("profile_visible", Boolean, nullable=False, server_default=true()),
    Column("data_sharing", Boolean, nullable=False, server_default=false()),
    Column("analytics", Boolean, nullable=False, server_default=true()),
    Column("language", String(2), nullable=False, server_default="es"),
    Column("timezone", String(64), nullable=False, server_default="Europe/Madrid"),
    Column("theme", String(10), nullable=False, server_default="light"),
    Column("default_country", String(2), nullable=False, server_default="ES"),
    Column("send_rate_per_minute", Integer, nullable=False, server_default="60"),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_login", UTCDateTime),
    sqlite_autoincrement=True,  # never reuse a deleted user's id, as PostgreSQL doesn't
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # SHA-256 of the 256-bit token, hex: the token itself is never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Index("ix_sessions_user_id", "user_id"),
    sqlite_autoincrement=True,
)

rate_counters = Table(
    "rate_counters",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("window_started_at", UTCDateTime, nullable=False),
    Column("count", Integer, nullable=False),
)
