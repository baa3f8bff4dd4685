"""Campaigns through the use cases, on in-memory fakes: stored on success, untouched on
failure, someone else's campaigns and contacts out of reach."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from nexus_core.domain.campaign_status import CAMPAIGN_STATUSES, CampaignStatus
from nexus_core.domain.campaigns import Campaign
from nexus_core.domain.identifiers import ID_MAX
from nexus_core.domain.users import User
from nexus_core.errors import Conflict, NotFound, ValidationFailed
from nexus_core.testing.fakes import (
    FakeClock,
    FakeContactFileReader,
    FakeHasher,
    FakeStore,
    FakeTokens,
)
from nexus_core.use_cases import accounts, campaigns, contacts
from nexus_core.use_cases.context import Ports

BODY = {"name": "Black Friday", "message": "Hola {nombre}"}


@dataclasses.dataclass
class World:
    store: FakeStore
    clock: FakeClock
    ports: Ports
    ana: User
    bob: User

    def add(self, user: User | None = None, **fields: Any) -> Campaign:
        return campaigns.create_campaign(self.ports, (user or self.ana).id, {**BODY, **fields})

    def contact(self, user: User, phone: str) -> int:
        return contacts.create_contact(self.ports, user, {"name": "C", "phone": phone}).id

    def force(self, campaign: Campaign, status: CampaignStatus, **counters: Any) -> None:
        changed = dataclasses.replace(campaign, status=status, **counters)
        self.store.state.campaigns[campaign.id] = changed

    def stored(self, user: User) -> list[Campaign]:
        return [c for c in self.store.state.campaigns.values() if c.user_id == user.id]


@pytest.fixture
def world() -> World:
    store, clock = FakeStore(), FakeClock()
    ports = Ports(store, FakeHasher(), FakeTokens(), clock, FakeContactFileReader())
    ana = accounts.register(ports, email="ana@example.com", password="x" * 10, name="Ana").user
    bob = accounts.register(ports, email="bob@example.com", password="x" * 10, name="Bob").user
    return World(store, clock, ports, ana, bob)


def _fields(failure: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return {error.field for error in failure.value.errors}


# --- create --------------------------------------------------------------------------------


def test_create_stores_a_draft_ignoring_status(world: World) -> None:
    campaign = world.add(status="active", channel="email", subject="Hola")
    assert campaign.status == "draft"
    assert (campaign.channel, campaign.subject, campaign.user_id) == ("email", "Hola", world.ana.id)
    assert campaign.created_at == campaign.updated_at == world.clock()
    assert world.stored(world.ana) == [campaign]


def test_create_reports_every_bad_field_and_stores_nothing(world: World) -> None:
    with pytest.raises(ValidationFailed) as failure:
        campaigns.create_campaign(world.ports, world.ana.id, {"channel": "email"})
    assert _fields(failure) == {"name", "message", "subject"}
    assert world.stored(world.ana) == []


def test_contact_ids_must_be_the_owners(world: World) -> None:
    mine = world.contact(world.ana, "600000001")
    bobs = world.contact(world.bob, "600000002")
    assert world.add(contact_ids=[mine]).audience.contact_ids == (mine,)
    for ids in ([bobs], [mine, bobs], [mine, ID_MAX]):
        with pytest.raises(ValidationFailed) as failure:
            world.add(audience={"contact_ids": ids})
        assert _fields(failure) == {"audience.contact_ids"}
        assert failure.value.errors[0].code == "campaign.contact_not_found"
    assert len(world.stored(world.ana)) == 1


def test_many_contact_ids_are_checked_in_one_pass(world: World) -> None:
    ids = [world.contact(world.ana, f"6000000{n:02d}") for n in range(30)]
    bobs = world.contact(world.bob, "600000099")
    assert world.add(contact_ids=ids).audience.contact_ids == tuple(ids)
    with pytest.raises(ValidationFailed) as failure:
        world.add(contact_ids=[*ids, bobs])
    assert failure.value.errors[0].params["id"] == bobs


# --- read and list -------------------------------------------------------------------------


def test_get_and_list_see_only_the_owners(world: World) -> None:
    first = world.add(name="A")
    world.clock.advance(timedelta(seconds=1))
    second = world.add(name="B")
    world.add(world.bob)
    world.force(second, "active")

    assert campaigns.get_campaign(world.ports, world.ana.id, first.id) == first
    with pytest.raises(NotFound):
        campaigns.get_campaign(world.ports, world.bob.id, first.id)
    with pytest.raises(NotFound):
        campaigns.get_campaign(world.ports, world.ana.id, 0)

    page = campaigns.list_campaigns(world.ports, world.ana.id, {})
    assert [c.name for c in page.items] == ["B", "A"]
    assert page.total == 2
    active = campaigns.list_campaigns(world.ports, world.ana.id, {"status": "active"})
    assert [c.name for c in active.items] == ["B"]
    paged = campaigns.list_campaigns(world.ports, world.ana.id, {"page": "2", "per_page": "1"})
    assert ([c.name for c in paged.items], paged.has_prev, paged.has_next) == (["A"], True, False)


def test_bad_list_parameters_are_reported_together(world: World) -> None:
    with pytest.raises(ValidationFailed) as failure:
        campaigns.list_campaigns(world.ports, world.ana.id, {"status": "x", "per_page": "a"})
    assert _fields(failure) == {"status", "per_page"}


# --- update --------------------------------------------------------------------------------


def test_update_changes_only_what_is_sent(world: World) -> None:
    campaign = world.add(audience={"tags": ["vip"]})
    world.clock.advance(timedelta(minutes=1))
    updated = campaigns.update_campaign(
        world.ports,
        world.ana.id,
        campaign.id,
        {"message": "Nuevo", "status": "completed", "audience": {"all_contacts": True}},
    )
    assert updated.message == "Nuevo"
    assert updated.status == "draft"
    assert (updated.audience.all_contacts, updated.audience.tags) == (True, ("vip",))
    assert updated.updated_at == world.clock() != campaign.updated_at
    assert world.stored(world.ana) == [updated]


def test_an_update_that_changes_nothing_stores_nothing(world: World) -> None:
    campaign = world.add()
    world.clock.advance(timedelta(minutes=1))
    same = campaigns.update_campaign(world.ports, world.ana.id, campaign.id, {"name": BODY["name"]})
    assert same == campaign


@pytest.mark.parametrize("status", ["active", "paused", "completed", "cancelled", "failed"])
def test_update_is_a_conflict_once_sending_started(world: World, status: CampaignStatus) -> None:
    campaign = world.add()
    world.force(campaign, status)
    with pytest.raises(Conflict) as conflict:
        campaigns.update_campaign(world.ports, world.ana.id, campaign.id, {"name": "Otra"})
    assert conflict.value.code == "campaign.not_editable"
    unchanged = campaigns.update_campaign(world.ports, world.ana.id, campaign.id, {})
    assert unchanged.name == BODY["name"]


def test_update_checks_only_the_contact_ids_it_adds(world: World) -> None:
    kept = world.contact(world.ana, "600000001")
    campaign = world.add(contact_ids=[kept])
    world.store.state.contacts.pop(kept)
    renamed = campaigns.update_campaign(world.ports, world.ana.id, campaign.id, {"name": "Otra"})
    assert renamed.audience.contact_ids == (kept,)
    bobs = world.contact(world.bob, "600000002")
    with pytest.raises(ValidationFailed):
        campaigns.update_campaign(
            world.ports, world.ana.id, campaign.id, {"contact_ids": [kept, bobs]}
        )


def test_another_users_campaign_cannot_be_changed_or_deleted(world: World) -> None:
    campaign = world.add()
    with pytest.raises(NotFound):
        campaigns.update_campaign(world.ports, world.bob.id, campaign.id, {"name": "Mía"})
    with pytest.raises(NotFound):
        campaigns.delete_campaign(world.ports, world.bob.id, campaign.id)
    assert world.stored(world.ana) == [campaign]


# --- delete --------------------------------------------------------------------------------


def test_delete_is_refused_while_active(world: World) -> None:
    campaign = world.add()
    world.force(campaign, "active")
    with pytest.raises(Conflict) as conflict:
        campaigns.delete_campaign(world.ports, world.ana.id, campaign.id)
    assert conflict.value.code == "campaign.not_deletable"
    world.force(campaign, "cancelled")
    campaigns.delete_campaign(world.ports, world.ana.id, campaign.id)
    assert world.stored(world.ana) == []
    with pytest.raises(NotFound):
        campaigns.delete_campaign(world.ports, world.ana.id, campaign.id)


# --- stats ---------------------------------------------------------------------------------


def test_stats_count_by_status_and_sum_the_counters(world: World) -> None:
    empty = campaigns.campaign_stats(world.ports, world.ana.id)
    assert empty.total_campaigns == 0
    assert dict(empty.by_status) == dict.fromkeys(CAMPAIGN_STATUSES, 0)

    world.force(world.add(), "completed", total_recipients=4, sent_count=3, failed_count=1)
    world.force(world.add(), "active", total_recipients=2, delivered_count=1, opened_count=1)
    world.force(world.add(world.bob), "completed", total_recipients=50, sent_count=50)
    stats = campaigns.campaign_stats(world.ports, world.ana.id)
    assert stats.total_campaigns == 2
    assert stats.by_status["completed"] == stats.by_status["active"] == 1
    assert (stats.total_recipients, stats.sent, stats.delivered, stats.opened, stats.failed) == (
        6,
        3,
        1,
        1,
        1,
    )
