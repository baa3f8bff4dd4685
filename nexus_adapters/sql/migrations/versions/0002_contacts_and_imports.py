"""contacts and imports

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import nexus_adapters.sql.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SEARCHED = ("name_key", "email", "phone", "tags")

# SQLite: an external-content FTS5 index over the searched columns (the trigram tokenizer
# matches any substring of three characters or more). Every column it indexes is already
# folded by the application, hence case_sensitive 1; columnsize=0 skips a per-row table that
# only ranking uses. Triggers keep it in step with every write, bulk imports included (those
# write a batch per statement: FTS5 flushes per statement, so row-by-row inserts cost 4×).
SQLITE_SEARCH_DDL = (
    "CREATE VIRTUAL TABLE contacts_search USING fts5("
    "name_key, email, phone, tags, content='contacts', content_rowid='id', "
    "tokenize='trigram case_sensitive 1', columnsize=0)",
    "CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts BEGIN "
    "INSERT INTO contacts_search(rowid, name_key, email, phone, tags) "
    "VALUES (new.id, new.name_key, new.email, new.phone, new.tags); END",
    "CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts BEGIN "
    "INSERT INTO contacts_search(contacts_search, rowid, name_key, email, phone, tags) "
    "VALUES ('delete', old.id, old.name_key, old.email, old.phone, old.tags); END",
    "CREATE TRIGGER contacts_search_update AFTER UPDATE OF name_key, email, phone, tags "
    "ON contacts WHEN old.name_key IS NOT new.name_key OR old.email IS NOT new.email "
    "OR old.phone IS NOT new.phone OR old.tags IS NOT new.tags BEGIN "
    "INSERT INTO contacts_search(contacts_search, rowid, name_key, email, phone, tags) "
    "VALUES ('delete', old.id, old.name_key, old.email, old.phone, old.tags); "
    "INSERT INTO contacts_search(rowid, name_key, email, phone, tags) "
    "VALUES (new.id, new.name_key, new.email, new.phone, new.tags); END",
)


def _dialect() -> str:
    return op.get_context().dialect.name


def upgrade() -> None:
    if _dialect() == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "contact_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.Text(), nullable=False),
        sa.Column("file_type", sa.String(length=10), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("total_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("contacts_imported", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("duplicate_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("invalid_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column(
            "created_at", nexus_adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "completed_at", nexus_adapters.sql.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_contact_imports_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_imports")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("contact_imports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contact_imports_user_id_created_at",
            ["user_id", "created_at", "id"],
            unique=False,
        )

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "name_key", sa.Text().with_variant(sa.Text(collation="C"), "postgresql"), nullable=False
        ),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("opted_out", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column(
            "created_at", nexus_adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", nexus_adapters.sql.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_message", nexus_adapters.sql.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_contacts_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("user_id", "email", name=op.f("uq_contacts_user_id_email")),
        sa.UniqueConstraint("user_id", "phone", name=op.f("uq_contacts_user_id_phone")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_contacts_user_id_created_at", ["user_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            "ix_contacts_user_id_name_key", ["user_id", "name_key", "id"], unique=False
        )
        batch_op.create_index(
            "ix_contacts_user_id_status",
            ["user_id", "status", "created_at", "id"],
            unique=False,
        )

    if _dialect() == "postgresql":
        for column in SEARCHED:
            op.create_index(
                f"ix_contacts_{column}_trigrams",
                "contacts",
                [column],
                unique=False,
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            )
    else:
        for statement in SQLITE_SEARCH_DDL:
            op.execute(statement)


def downgrade() -> None:
    if _dialect() == "postgresql":
        for column in SEARCHED:
            op.drop_index(f"ix_contacts_{column}_trigrams", table_name="contacts")
        # pg_trgm stays: other schemas of the database may use it.
    else:
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER contacts_search_{trigger}")
        op.execute("DROP TABLE contacts_search")

    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_contacts_user_id_status")
        batch_op.drop_index("ix_contacts_user_id_name_key")
        batch_op.drop_index("ix_contacts_user_id_created_at")

    op.drop_table("contacts")
    with op.batch_alter_table("contact_imports", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_imports_user_id_created_at")

    op.drop_table("contact_imports")
