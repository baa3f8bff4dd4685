"""The unsubscribe use case on the in-memory fakes: the contact the link names opts out, once;
a link that is not valid, or whose contact is gone, changes nothing."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from nexus_core.domain.contact_records import Contact
from nexus_core.domain.unsubscribe_links import UnsubscribeTokens
from nexus_core.domain.users import User
from nexus_core.errors import NotFound
from nexus_core.testing.fakes import (
    FakeClock,
    FakeContactFileReader,
    FakeHasher,
    FakeStore,
    FakeTokens,
)
from nexus_core.use_cases import accounts, contacts
from nexus_core.use_cases.context import Ports
from nexus_core.use_cases.unsubscribe import LINK_INVALID, unsubscribe

TOKENS = UnsubscribeTokens("k" * 64)


@dataclasses.dataclass
class World:
    store: FakeStore
    clock: FakeClock
    ports: Ports
    ana: User
    bob: User

    def add(self, owner: User, **fields: object) -> Contact:
        body = {"name": "Luis", "email": "luis@example.com", **fields}
        return contacts.create_contact(self.ports, owner, body)

    def stored(self, contact: Contact) -> Contact | None:
        return self.store.state.contacts.get(contact.id)


@pytest.fixture
def world() -> World:
    store, clock = FakeStore(), FakeClock()
    ports = Ports(store, FakeHasher(), FakeTokens(), clock, FakeContactFileReader())
    ana = accounts.register(ports, email="ana@example.com", password="x" * 10, name="Ana").user
    bob = accounts.register(ports, email="bob@example.com", password="x" * 10, name="Bob").user
    return World(store, clock, ports, ana, bob)


def test_the_named_contact_opts_out_and_nothing_else_changes(world: World) -> None:
    luis = world.add(world.ana, tags=["vip"], notes="N")
    other = world.add(world.ana, name="Eva", email="eva@example.com")
    world.clock.advance(timedelta(minutes=5))

    assert unsubscribe(world.ports, TOKENS, TOKENS.issue(world.ana.id, luis.id)) is True

    assert world.stored(luis) == dataclasses.replace(
        luis, opted_out=True, updated_at=world.clock.now
    )
    assert world.stored(other) == other


def test_a_repeated_click_changes_nothing(world: World) -> None:
    luis = world.add(world.ana)
    token = TOKENS.issue(world.ana.id, luis.id)
    assert unsubscribe(world.ports, TOKENS, token) is True
    after_first = world.stored(luis)
    world.clock.advance(timedelta(minutes=5))

    assert unsubscribe(world.ports, TOKENS, token) is False
    assert world.stored(luis) == after_first


def test_a_contact_opted_out_already_stays_as_it_is(world: World) -> None:
    luis = world.add(world.ana, opted_out=True)
    assert unsubscribe(world.ports, TOKENS, TOKENS.issue(world.ana.id, luis.id)) is False
    assert world.stored(luis) == luis


def test_a_deleted_contact_gives_a_link_no_longer_valid(world: World) -> None:
    luis = world.add(world.ana)
    token = TOKENS.issue(world.ana.id, luis.id)
    contacts.delete_contact(world.ports, world.ana.id, luis.id)
    before = world.store.state

    with pytest.raises(NotFound) as raised:
        unsubscribe(world.ports, TOKENS, token)
    assert raised.value.code == LINK_INVALID
    assert world.store.state is before  # nothing committed


@pytest.mark.parametrize(
    "token",
    ["", "x", "A" * 34, "not a token at all", "%2e%2e%2f"],
)
def test_a_token_that_is_not_valid_changes_nothing(world: World, token: str) -> None:
    world.add(world.ana)
    before = world.store.state
    with pytest.raises(NotFound) as raised:
        unsubscribe(world.ports, TOKENS, token)
    assert raised.value.code == LINK_INVALID
    assert world.store.state is before


def test_a_tampered_token_changes_nothing(world: World) -> None:
    luis = world.add(world.ana)
    token = TOKENS.issue(world.ana.id, luis.id)
    tampered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    with pytest.raises(NotFound):
        unsubscribe(world.ports, TOKENS, tampered)
    assert world.stored(luis) == luis


def test_a_token_under_another_secret_key_changes_nothing(world: World) -> None:
    luis = world.add(world.ana)
    foreign = UnsubscribeTokens("f" * 64).issue(world.ana.id, luis.id)
    with pytest.raises(NotFound):
        unsubscribe(world.ports, TOKENS, foreign)
    assert world.stored(luis) == luis


def test_a_token_reaches_only_the_contact_of_the_user_it_names(world: World) -> None:
    """Bob's contact cannot be reached with a token naming Ana: the pair is what is signed."""
    bobs = world.add(world.bob, name="Of Bob", email="of.bob@example.com")
    with pytest.raises(NotFound):
        unsubscribe(world.ports, TOKENS, TOKENS.issue(world.ana.id, bobs.id))
    assert world.stored(bobs) == bobs
