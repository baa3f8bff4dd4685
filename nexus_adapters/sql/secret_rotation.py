"""Re-encrypt every stored secret under the newest encryption key (key rotation).

Rotation: put the new key first in ``NEXUS_ENCRYPTION_KEYS`` (old keys after it), deploy, run
``nexus db rotate-keys``, then drop the old keys. Until then both keys decrypt.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine, select, update

from nexus_adapters.sql.engine import WRITER_OPTIONS
from nexus_adapters.sql.tables import users

ENCRYPTED_COLUMNS = (
    users.c.whatsapp_api_key_encrypted,
    users.c.gmail_api_key_encrypted,
    users.c.gemini_api_key_encrypted,
)
BATCH = 500


class Rotator(Protocol):
    def rotate(self, ciphertext: str) -> str: ...


def rotate_stored_secrets(engine: Engine, box: Rotator) -> int:
    """Re-encrypt all users' API keys; returns how many values were rewritten.

    Works in batches of users, each in its own transaction, so a large table is never locked
    for long; running it twice is harmless.
    """
    rewritten = 0
    last_id = 0
    while True:
        # Writer options and row locks: a profile saved meanwhile waits, and is not overwritten.
        with engine.connect().execution_options(**WRITER_OPTIONS) as connection, connection.begin():
            rows = connection.execute(
                select(users.c.id, *ENCRYPTED_COLUMNS)
                .where(users.c.id > last_id)
                .order_by(users.c.id)
                .limit(BATCH)
                .with_for_update()
            ).all()
            if not rows:
                return rewritten
            for row in rows:
                changes = {
                    column.name: box.rotate(value)
                    for column, value in zip(ENCRYPTED_COLUMNS, row[1:], strict=True)
                    if value is not None
                }
                if changes:
                    connection.execute(update(users).where(users.c.id == row.id).values(changes))
                    rewritten += len(changes)
            last_id = rows[-1].id
