"""The count of a user's new contacts (``new_contacts``: created in the last week),
remembered while provably right.

Counting them is a range of ``ix_contacts_user_id_created_at``: 10,000 index entries for
10,000 contacts created this week, most of a dashboard's cost. So each process remembers,
per user, the count with the ``contacts_version`` it was counted at, and the dashboard's
statement takes the remembered count only when the user's row, read by that same statement,
still holds that version; otherwise it counts (``recent_contacts_columns``). The version
moves in the transaction of every write of contacts, from any process, and a remembered
count is also dropped once a contact it counted may have aged out: what is answered is
always a count of what the statement reads. No time-to-live and no write of its own.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, bindparam, case, null
from sqlalchemy.sql import ColumnElement, type_coerce

from nexus_adapters.sql.repositories.contact_counts import (
    OLDEST_RECENT_CONTACT,
    RECENT_CONTACTS,
)
from nexus_adapters.sql.tables import contacts, users

# Never a ``contacts_version`` (0 or positive): nothing remembered.
_UNKNOWN = -1
# The users whose recent contacts a process remembers.
RECENT_REMEMBERED = 4096


@dataclass(frozen=True, slots=True)
class _Counted:
    version: int  # the user's contacts_version when counted
    since: datetime  # counted from there
    oldest: datetime | None  # the oldest contact counted (None: none)
    recent: int


class RecentContacts:
    """Each user's count of recent contacts, with what proves it still right.

    While the user's ``contacts_version`` is unchanged, the contacts are exactly those
    counted (every write of contacts moves it, in its own transaction: see
    ``contacts.touch_contacts``); the count from ``since`` then holds for any later start up
    to the oldest contact counted, before which nothing ages out. The version is checked by
    the statement that uses the count, against the row it reads, so a change made by any
    process is seen at once. Safe to share between threads (a race only counts twice).
    """

    def __init__(self, capacity: int = RECENT_REMEMBERED) -> None:
        self._capacity = capacity
        self._counted: dict[int, _Counted] = {}
        self._lock = threading.Lock()

    def known(self, user_id: int, since: datetime) -> tuple[int, int]:
        """The version and the count that hold from ``since`` while the version does, or
        ``(-1, 0)`` (no version) when none is remembered for it."""
        counted = self._counted.get(user_id)
        if counted is None or since < counted.since:
            return _UNKNOWN, 0
        if counted.oldest is not None and since > counted.oldest:
            return _UNKNOWN, 0
        return counted.version, counted.recent

    def remember(
        self, user_id: int, version: int, since: datetime, oldest: datetime | None, recent: int
    ) -> None:
        with self._lock:
            self._counted.pop(user_id, None)
            while len(self._counted) >= self._capacity:
                del self._counted[next(iter(self._counted))]
            self._counted[user_id] = _Counted(version, since, oldest, recent)


def recent_contacts_columns() -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """The recent contacts' count, and when the oldest of them was created: the remembered
    count (``known_recent``) when the user's row still holds ``known_version``, and NULL for
    the oldest; otherwise counted. The database evaluates only the branch it takes."""
    known = users.c.contacts_version == bindparam("known_version", type_=BigInteger)
    recent = case((known, bindparam("known_recent", type_=Integer)), else_=RECENT_CONTACTS)
    oldest = type_coerce(
        case((known, null()), else_=OLDEST_RECENT_CONTACT), contacts.c.created_at.type
    )
    return recent.label("recent_contacts"), oldest.label("oldest_recent_contact")
