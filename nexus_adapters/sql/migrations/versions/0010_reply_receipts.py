"""the receipts of conversation replies: outbound conversation messages indexed by their
provider message id

Delivery receipts name a message by its provider id alone (``wamid…``); besides campaign
deliveries they now move the status of the replies sent from the inbox and by the automation.
The index is partial (outbound messages only): storing inbound messages, the webhook's hot
path, does not maintain it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

INDEX = "ix_conversation_messages_outbound_provider_message_id"
OUTBOUND = sa.text("direction = 'out'")


def upgrade() -> None:
    op.create_index(
        INDEX,
        "conversation_messages",
        ["provider_message_id"],
        unique=False,
        postgresql_where=OUTBOUND,
        sqlite_where=OUTBOUND,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="conversation_messages")
