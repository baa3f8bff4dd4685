"""A user's contacts counted (``GET /api/contacts/stats`` and the dashboard): the counts the
triggers on contacts keep on the user's row (migration 0008), and the recent ones from
``ix_contacts_user_id_created_at``. Statements built once: a statement made anew per call
costs more to build than to run. Parameters: ``owner_id``, and ``since``
(``contact_records.recent_since``) for the recent ones.
"""

from __future__ import annotations

from sqlalchemy import Integer, bindparam, func, select

from nexus_adapters.sql.tables import contacts as t
from nexus_adapters.sql.tables import users

_OWNER = bindparam("owner_id", type_=Integer)
_RECENT = (t.c.user_id == _OWNER, t.c.created_at >= bindparam("since", type_=t.c.created_at.type))

# How many of the user's contacts are recent: a range of the creation-time index.
RECENT_CONTACTS = select(func.count()).where(*_RECENT).scalar_subquery()
# When the oldest of them was created (NULL: there is none): one step into the same range.
OLDEST_RECENT_CONTACT = select(func.min(t.c.created_at)).where(*_RECENT).scalar_subquery()

CONTACT_STATS = select(users.c.contacts_total, users.c.contacts_active, RECENT_CONTACTS).where(
    users.c.id == _OWNER
)
OPTED_OUT_CONTACTS = select(users.c.contacts_opted_out).where(users.c.id == _OWNER)
