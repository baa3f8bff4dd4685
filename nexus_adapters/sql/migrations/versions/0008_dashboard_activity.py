"""the dashboard's counts: each user's contacts counted by triggers, when deliveries reached
their milestones, and the activity per user and quarter-hour

``users.contacts_total``, ``contacts_active`` and ``contacts_opted_out`` count the user's
contacts; triggers on ``contacts`` keep them in the writing transaction, whoever writes (row
triggers on SQLite; on PostgreSQL statement triggers over transition tables, so that an
import of 100,000 rows updates the user once per statement, not once per row).
``deliveries.<milestone>_at`` (sent, delivered, read, failed) hold when a delivery reached
each milestone of its status; ``delivery_activity`` counts them per user and UTC
quarter-hour, kept by every status move, so the last 30 days are read from a few thousand
small rows whatever the number of deliveries. Existing contacts are counted; existing
deliveries are dated by their ``updated_at`` (the moment of their last move) and counted.

A later migration that rebuilds ``contacts`` on SQLite (batch mode) must create the triggers
again, as it must the search index's.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import nexus_adapters.sql.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Frozen copies of the rules of this revision (``dashboard.reached``, ``bucket_of``).
MILESTONES = ("sent", "delivered", "read", "failed")
REACHED_BY = {
    "sent": ("sent", "delivered", "read"),
    "delivered": ("delivered", "read"),
    "read": ("read",),
    "failed": ("failed",),
}
BUCKET_SECONDS = 900
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
COUNTERS = ("contacts_total", "contacts_active", "contacts_opted_out")
COUNT_EXISTING = """UPDATE users SET
    contacts_total = (SELECT count(*) FROM contacts AS c WHERE c.user_id = users.id),
    contacts_active = (SELECT count(*) FROM contacts AS c
                       WHERE c.user_id = users.id AND c.status = 'activo'),
    contacts_opted_out = (SELECT count(*) FROM contacts AS c
                          WHERE c.user_id = users.id AND c.opted_out)"""
TRIGGERS = ("contacts_counted_insert", "contacts_counted_update", "contacts_counted_delete")

# SQLite: one UPDATE of the owner per row written.
SQLITE_TRIGGERS = (
    """CREATE TRIGGER contacts_counted_insert AFTER INSERT ON contacts BEGIN
        UPDATE users SET contacts_total = contacts_total + 1,
            contacts_active = contacts_active + (NEW.status = 'activo'),
            contacts_opted_out = contacts_opted_out + (NEW.opted_out != 0)
        WHERE id = NEW.user_id;
    END""",
    """CREATE TRIGGER contacts_counted_update AFTER UPDATE OF status, opted_out ON contacts
    WHEN (OLD.status = 'activo') != (NEW.status = 'activo') OR OLD.opted_out != NEW.opted_out
    BEGIN
        UPDATE users SET
            contacts_active = contacts_active - (OLD.status = 'activo') + (NEW.status = 'activo'),
            contacts_opted_out = contacts_opted_out - (OLD.opted_out != 0) + (NEW.opted_out != 0)
        WHERE id = NEW.user_id;
    END""",
    """CREATE TRIGGER contacts_counted_delete AFTER DELETE ON contacts BEGIN
        UPDATE users SET contacts_total = contacts_total - 1,
            contacts_active = contacts_active - (OLD.status = 'activo'),
            contacts_opted_out = contacts_opted_out - (OLD.opted_out != 0)
        WHERE id = OLD.user_id;
    END""",
)

# PostgreSQL: one UPDATE of each owner per statement, from the rows it wrote (the inserted
# count +1, the deleted -1, an update's new +1 and old -1).
_SIGNED_ROWS = {
    "INSERT": "SELECT user_id, 1 AS total, (status = 'activo')::int AS active, "
    "opted_out::int AS opted_out FROM new_rows",
    "DELETE": "SELECT user_id, -1 AS total, -(status = 'activo')::int AS active, "
    "-opted_out::int AS opted_out FROM old_rows",
}
_SIGNED_ROWS["UPDATE"] = (
    _SIGNED_ROWS["INSERT"].replace("1 AS total", "0 AS total")
    + " UNION ALL "
    + _SIGNED_ROWS["DELETE"].replace("-1 AS total", "0 AS total")
)
_APPLY = """
        UPDATE users SET contacts_total = users.contacts_total + d.total,
            contacts_active = users.contacts_active + d.active,
            contacts_opted_out = users.contacts_opted_out + d.opted_out
        FROM (SELECT user_id, sum(total) AS total, sum(active) AS active,
                     sum(opted_out) AS opted_out
              FROM ({rows}) AS signed GROUP BY user_id) AS d
        WHERE users.id = d.user_id AND (d.total, d.active, d.opted_out) <> (0, 0, 0);"""
POSTGRESQL_FUNCTION = f"""CREATE FUNCTION contacts_counted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN{_APPLY.format(rows=_SIGNED_ROWS["INSERT"])}
    ELSIF TG_OP = 'DELETE' THEN{_APPLY.format(rows=_SIGNED_ROWS["DELETE"])}
    ELSE{_APPLY.format(rows=_SIGNED_ROWS["UPDATE"])}
    END IF;
    RETURN NULL;
END $$"""
POSTGRESQL_TRIGGERS = (
    "CREATE TRIGGER contacts_counted_insert AFTER INSERT ON contacts "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION contacts_counted()",
    "CREATE TRIGGER contacts_counted_update AFTER UPDATE ON contacts "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION contacts_counted()",
    "CREATE TRIGGER contacts_counted_delete AFTER DELETE ON contacts "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION contacts_counted()",
)


def _bucket_of(moment: datetime) -> int:
    return int((moment - EPOCH).total_seconds() // BUCKET_SECONDS)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        for counter in COUNTERS:
            batch_op.add_column(
                sa.Column(counter, sa.Integer(), server_default="0", nullable=False)
            )
    _count_contacts()
    with op.batch_alter_table("deliveries") as batch_op:
        for milestone in MILESTONES:
            batch_op.add_column(
                sa.Column(
                    f"{milestone}_at",
                    nexus_adapters.sql.types.UTCDateTime(timezone=True),
                    nullable=True,
                )
            )
    op.create_table(
        "delivery_activity",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        *(
            sa.Column(milestone, sa.Integer(), server_default="0", nullable=False)
            for milestone in MILESTONES
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_delivery_activity_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "bucket", name=op.f("pk_delivery_activity")),
    )
    _date_existing_deliveries()


def _count_contacts() -> None:
    """Count the contacts there are, then keep counting (the triggers)."""
    connection = op.get_bind()
    op.execute(COUNT_EXISTING)
    if connection.dialect.name == "postgresql":
        op.execute(POSTGRESQL_FUNCTION)
        for trigger in POSTGRESQL_TRIGGERS:
            op.execute(trigger)
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(trigger)


def _date_existing_deliveries() -> None:
    deliveries = sa.table(
        "deliveries",
        sa.column("user_id", sa.Integer()),
        sa.column("status", sa.String()),
        sa.column("updated_at", nexus_adapters.sql.types.UTCDateTime(timezone=True)),
        *(
            sa.column(f"{milestone}_at", nexus_adapters.sql.types.UTCDateTime(timezone=True))
            for milestone in MILESTONES
        ),
    )
    activity = sa.table(
        "delivery_activity",
        sa.column("user_id", sa.Integer()),
        sa.column("bucket", sa.Integer()),
        *(sa.column(milestone, sa.Integer()) for milestone in MILESTONES),
    )
    connection = op.get_bind()
    counted: dict[tuple[int, int], Counter[str]] = {}
    for milestone in MILESTONES:
        statuses = REACHED_BY[milestone]
        connection.execute(
            sa.update(deliveries)
            .where(deliveries.c.status.in_(statuses))
            .values({f"{milestone}_at": deliveries.c.updated_at})
        )
        grouped = connection.execute(
            sa.select(deliveries.c.user_id, deliveries.c.updated_at, sa.func.count())
            .where(deliveries.c.status.in_(statuses))
            .group_by(deliveries.c.user_id, deliveries.c.updated_at)
        )
        for user_id, moment, how_many in grouped:
            counted.setdefault((user_id, _bucket_of(moment)), Counter())[milestone] += how_many
    if counted:
        connection.execute(
            sa.insert(activity),
            [
                {"user_id": user_id, "bucket": bucket, **{m: counts[m] for m in MILESTONES}}
                for (user_id, bucket), counts in sorted(counted.items())
            ],
        )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for trigger in TRIGGERS:
        op.execute(
            f"DROP TRIGGER {trigger} ON contacts" if postgresql else f"DROP TRIGGER {trigger}"
        )
    if postgresql:
        op.execute("DROP FUNCTION contacts_counted()")
    with op.batch_alter_table("users") as batch_op:
        for counter in reversed(COUNTERS):
            batch_op.drop_column(counter)
    op.drop_table("delivery_activity")
    with op.batch_alter_table("deliveries") as batch_op:
        for milestone in reversed(MILESTONES):
            batch_op.drop_column(f"{milestone}_at")
