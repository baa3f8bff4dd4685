"""A fake store holding two users, Ana and Bob: the in-memory side of the repository checks
that run on the fake, SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import datetime

from nexus_core.domain.users import Registration
from nexus_core.testing.fakes import FakeStore


def fake_store_with_two_users(now: datetime) -> tuple[FakeStore, int, int]:
    """The store, Ana's id and Bob's id."""
    store = FakeStore()
    with store(write=True) as uow:
        ana, bob = (
            uow.users.add(Registration(email, "Ana", None, None), "hash", now).id
            for email in ("ana@example.com", "bob@example.com")
        )
        uow.commit()
    return store, ana, bob
