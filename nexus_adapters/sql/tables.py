"""The schema, as SQLAlchemy Core tables. Migrations must produce exactly this."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)

from nexus_adapters.sql.types import UTCDateTime
from nexus_core.domain.audience import CHANNELS
from nexus_core.domain.automation import ACTIVITY_STATUSES
from nexus_core.domain.campaign_status import CAMPAIGN_STATUSES
from nexus_core.domain.dashboard import MILESTONES
from nexus_core.domain.deliveries import DELIVERY_STATUSES

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
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
    # Set anew by every transaction that changes the user's contacts (``SqlContacts``): what
    # a process remembers of those contacts is good while this reads the same.
    Column("contacts_version", BigInteger, nullable=False, server_default="0"),
    # The dispatcher's pace: the earliest moment the user's next message may be claimed
    # (NULL: no message claimed yet). Advanced by ``spacing(send_rate_per_minute)`` per claim.
    Column("dispatch_next_at", UTCDateTime),
    # The user's contacts counted: all, ``activo`` ones, opted-out ones. Kept by triggers on
    # ``contacts`` (CONTACT_COUNT_TRIGGERS, built by the migrations), whoever writes them,
    # in the writing statement's transaction: the stats never count 100,000 rows.
    Column("contacts_total", Integer, nullable=False, server_default="0"),
    Column("contacts_active", Integer, nullable=False, server_default="0"),
    Column("contacts_opted_out", Integer, nullable=False, server_default="0"),
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


# Compared by code point on both databases, as in Python (SQLite's default BINARY collation
# does; PostgreSQL's database collation may not, so the column says "C").
SEARCH_KEY = Text().with_variant(Text(collation="C"), "postgresql")
# Options of indexes only one database has, read by ``schema_scope``.
ONLY_ON = "only_on"


def _trigram_index(table: str, column: str) -> Index:
    """PostgreSQL only: a pg_trgm GIN index, which serves ``LIKE '%…%'`` on ``column``."""
    return Index(
        f"ix_{table}_{column}_trigrams",
        column,
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops"},
        info={ONLY_ON: "postgresql"},
    ).ddl_if(dialect="postgresql")


contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    # contact_queries.search_key(name): what searches and the ``name`` sort compare.
    Column("name_key", SEARCH_KEY, nullable=False),
    Column("phone", String(20)),
    Column("email", String(254)),
    # No CHECKs (as for users' settings): the core validates, and a new value would cost a
    # table rebuild on SQLite.
    Column("status", String(8), nullable=False),
    # "|vip|cliente|" (tags can't hold "|"), "" for none: "carries vip" is a substring test,
    # which the trigram indexes below serve.
    Column("tags", Text, nullable=False),
    Column("notes", Text),
    Column("opted_out", Boolean, nullable=False),
    Column("source", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_message", UTCDateTime),
    # Unique per user; NULLs never collide, so phone-less or email-less contacts are fine.
    UniqueConstraint("user_id", "phone"),
    UniqueConstraint("user_id", "email"),
    # The list's sorts, newest first by default; id breaks ties and serves keyset paging.
    Index("ix_contacts_user_id_created_at", "user_id", "created_at", "id"),
    Index("ix_contacts_user_id_name_key", "user_id", "name_key", "id"),
    # The status filter in the default order, and the counts of the stats.
    Index("ix_contacts_user_id_status", "user_id", "status", "created_at", "id"),
    # Substring search and the tags filter. On SQLite the FTS5 table SQLITE_SEARCH_INDEX
    # (trigram tokenizer, kept by triggers; built by the migrations) does this job.
    *(_trigram_index("contacts", column) for column in ("name_key", "email", "phone", "tags")),
    sqlite_autoincrement=True,  # never reuse a deleted contact's id, as PostgreSQL doesn't
)

# SQLite only: an external-content FTS5 table over contacts(name_key, email, phone, tags) and
# the shadow tables FTS5 keeps beside it (``contacts_search_data`` …). SQLAlchemy does not model
# virtual tables: the migration creates them with plain DDL.
SQLITE_SEARCH_INDEX = "contacts_search"
# The triggers on contacts that keep ``users.contacts_total`` … (migration 0008): row triggers
# on SQLite, statement triggers with transition tables (and their function) on PostgreSQL.
CONTACT_COUNT_TRIGGERS = (
    "contacts_counted_insert",
    "contacts_counted_update",
    "contacts_counted_delete",
)
CONTACT_COUNT_FUNCTION = "contacts_counted"

contact_imports = Table(
    "contact_imports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("filename", Text, nullable=False),
    Column("file_type", String(10)),
    Column("status", String(10), nullable=False),
    Column("total_rows", Integer, nullable=False, server_default="0"),
    Column("contacts_imported", Integer, nullable=False, server_default="0"),
    Column("updated_count", Integer, nullable=False, server_default="0"),
    Column("duplicate_count", Integer, nullable=False, server_default="0"),
    Column("invalid_count", Integer, nullable=False, server_default="0"),
    Column("error_message", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime),
    Index("ix_contact_imports_user_id_created_at", "user_id", "created_at", "id"),
    sqlite_autoincrement=True,
)


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    """``column`` holds one of ``values``: a CHECK named ``ck_<table>_<column>`` (named, so
    that batch migrations on SQLite keep it when they rebuild the table)."""
    allowed = ", ".join(f"'{value}'" for value in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


# The delivery counters, named as ``Campaign`` names them.
CAMPAIGN_COUNTERS = (
    "total_recipients",
    "pending_count",
    "sent_count",
    "delivered_count",
    "opened_count",
    "clicked_count",
    "failed_count",
    "skipped_count",
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("subject", String(255)),
    Column("message", Text, nullable=False),
    Column("media_url", String(2048)),
    Column("media_type", String(8)),
    # The audience: a flag, and its two lists as JSON arrays (``["vip"]``, ``[7, 9]``), which
    # both databases can expand into rows to select the recipients in SQL. No table of
    # campaign contacts: ids of deleted contacts just select nobody, as in the core.
    Column("audience_all_contacts", Boolean, nullable=False),
    Column("audience_tags", Text, nullable=False),
    Column("audience_contact_ids", Text, nullable=False),
    # {"name", "language", "body_params"} as JSON, or NULL: replaced whole, never queried.
    Column("whatsapp_template", Text),
    Column("status", String(10), nullable=False),
    Column("scheduled_at", UTCDateTime),
    Column("sent_at", UTCDateTime),
    Column("completed_at", UTCDateTime),
    *(Column(name, Integer, nullable=False, server_default="0") for name in CAMPAIGN_COUNTERS),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # CHECKs, unlike contacts: statuses will also be written by the dispatcher's set-based
    # SQL, out of the core's sight, and this small table is cheap to rebuild for a new value.
    _one_of("status", CAMPAIGN_STATUSES),
    _one_of("channel", CHANNELS),
    # The list, newest first; id breaks ties.
    Index("ix_campaigns_user_id_created_at", "user_id", "created_at", "id"),
    # The status filter in the list's order, and the counts by status (from the index alone).
    Index("ix_campaigns_user_id_status", "user_id", "status", "created_at", "id"),
    sqlite_autoincrement=True,  # never reuse a deleted campaign's id, as PostgreSQL doesn't
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("campaign_id", Integer, ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False),
    # The campaign's owner, copied: the dispatcher paces each user's sending by it.
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    # NULL once the contact is deleted: the delivery stays, with its snapshot, for the counts.
    Column("contact_id", Integer, ForeignKey("contacts.id", ondelete="SET NULL")),
    # Snapshots, taken when sending starts: the address for the channel (``Delivery.to``;
    # not named "to", a reserved word in SQL) and the name.
    Column("address", String(254), nullable=False),
    Column("name", String(200), nullable=False),
    Column("status", String(10), nullable=False),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("provider_message_id", String(255)),
    Column("next_attempt_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # The dispatcher's lease on a pending delivery it is sending: which worker, until when.
    # A leased delivery is never claimed again; an expired lease is reaped (unknown_outcome).
    Column("claimed_by", String(200)),
    Column("lease_expires_at", UTCDateTime),
    # When the delivery reached each milestone of its status (``dashboard.reached``), NULL for
    # the others: what ``delivery_activity`` counts, recountable from here.
    *(Column(f"{milestone}_at", UTCDateTime) for milestone in MILESTONES),
    # A CHECK, as for campaigns: the dispatcher writes statuses with set-based SQL.
    _one_of("status", DELIVERY_STATUSES),
    # Nobody messaged twice for one campaign: a repeated snapshot inserts nothing. Deleted
    # contacts' NULLs never collide.
    UniqueConstraint("campaign_id", "contact_id"),
    # The pages (campaign, status filter, id order) and the recounts by status.
    Index("ix_deliveries_campaign_id_status", "campaign_id", "status", "id"),
    # The dispatcher's claim of due work: each user's unleased pending deliveries, in the
    # order a claim takes them.
    Index(
        "ix_deliveries_claimable",
        "user_id",
        "next_attempt_at",
        "id",
        postgresql_where=text("status = 'pending' AND claimed_by IS NULL"),
        sqlite_where=text("status = 'pending' AND claimed_by IS NULL"),
    ),
    # The reaper's search for expired leases: only leased rows are indexed.
    Index(
        "ix_deliveries_lease_expires_at",
        "lease_expires_at",
        postgresql_where=text("claimed_by IS NOT NULL"),
        sqlite_where=text("claimed_by IS NOT NULL"),
    ),
    # Receipts find their delivery by the channel's message id, unique once known.
    Index(
        "ix_deliveries_provider_message_id",
        "provider_message_id",
        unique=True,
        postgresql_where=text("provider_message_id IS NOT NULL"),
        sqlite_where=text("provider_message_id IS NOT NULL"),
    ),
    sqlite_autoincrement=True,
)

# The dashboard's ``daily``: per user and UTC quarter-hour (``dashboard.bucket_of``), how many
# of the user's deliveries reached each milestone then and are still there. Kept by every
# status move in the move's transaction (``delivery_activity.py``); a recount of the
# deliveries' ``<milestone>_at`` gives the same numbers.
delivery_activity = Table(
    "delivery_activity",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("bucket", Integer, primary_key=True, autoincrement=False),
    *(Column(milestone, Integer, nullable=False, server_default="0") for milestone in MILESTONES),
)

# WhatsApp conversations: one per user and contact, with what the inbox shows of it (its
# newest message, unread count and last inbound time) kept by every write of its messages.
conversations = Table(
    "conversations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("contact_id", Integer, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("last_activity_at", UTCDateTime, nullable=False),
    # No foreign key: a message row already names its conversation.
    Column("last_message_id", Integer),
    Column("last_inbound_at", UTCDateTime),
    Column("unread_count", Integer, nullable=False, server_default="0"),
    UniqueConstraint("user_id", "contact_id"),
    # The inbox, newest activity first; id breaks ties.
    Index("ix_conversations_user_id_last_activity_at", "user_id", "last_activity_at", "id"),
    sqlite_autoincrement=True,
)

conversation_messages = Table(
    "conversation_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "conversation_id",
        Integer,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("direction", String(3), nullable=False),
    Column("text", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("provider_message_id", String(255)),
    Column("generated_by_ai", Boolean, nullable=False, server_default=false()),
    Column("created_at", UTCDateTime, nullable=False),
    _one_of("direction", ("in", "out")),
    # Meta repeats webhook calls: one user stores a provider's message once (NULLs, replies
    # that never left, never collide).
    UniqueConstraint("user_id", "provider_message_id"),
    # A conversation's pages, newest first, and its unread messages.
    Index("ix_conversation_messages_conversation_id", "conversation_id", "id"),
    # Delivery receipts find the replies we sent by provider id (inbound messages stay out).
    Index(
        "ix_conversation_messages_outbound_provider_message_id",
        "provider_message_id",
        postgresql_where=text("direction = 'out'"),
        sqlite_where=text("direction = 'out'"),
    ),
    sqlite_autoincrement=True,
)

# Bot activities: each inbound message the automation answers, its queue (leased by the
# dispatch workers like deliveries) and its record.
bot_activities = Table(
    "bot_activities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("contact_id", Integer, ForeignKey("contacts.id", ondelete="SET NULL")),
    Column(
        "inbound_message_id",
        Integer,
        ForeignKey("conversation_messages.id", ondelete="SET NULL"),
    ),
    # Snapshots, taken when the message arrived: the record outlives the contact.
    Column("contact_phone", String(20), nullable=False),
    Column("contact_name", String(200), nullable=False),
    Column("message_content", Text, nullable=False),
    Column("response_content", Text),
    Column("status", String(10), nullable=False),
    Column("error", String(100)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("claimed_by", String(200)),
    Column("claimed_at", UTCDateTime),
    Column("lease_expires_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    _one_of("status", ACTIVITY_STATUSES),
    # One reply per inbound message, however often the webhook repeats it.
    UniqueConstraint("inbound_message_id"),
    # The activity list, newest first, and today's counts.
    Index("ix_bot_activities_user_id_created_at", "user_id", "created_at", "id"),
    # The pace: each user's claims of the last minute.
    Index("ix_bot_activities_user_id_claimed_at", "user_id", "claimed_at"),
    # The claim: unleased pending activities, oldest first.
    Index(
        "ix_bot_activities_claimable",
        "id",
        postgresql_where=text("status = 'pending' AND claimed_by IS NULL"),
        sqlite_where=text("status = 'pending' AND claimed_by IS NULL"),
    ),
    Index(
        "ix_bot_activities_lease_expires_at",
        "lease_expires_at",
        postgresql_where=text("claimed_by IS NOT NULL"),
        sqlite_where=text("claimed_by IS NOT NULL"),
    ),
    sqlite_autoincrement=True,
)

# The inbound pipeline finds a message's user by the number that received it.
Index("ix_users_whatsapp_phone_number_id", users.c.whatsapp_phone_number_id)
