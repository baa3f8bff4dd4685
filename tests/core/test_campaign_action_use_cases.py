"""Campaign actions through the use cases, on in-memory fakes: the audience snapshot, the
status machine, counters recounted from the deliveries, nothing changed when refused."""

from __future__ import annotations

import dataclasses

import pytest

from nexus_core.domain.campaigns import Campaign
from nexus_core.domain.users import User
from nexus_core.errors import Conflict, NotFound, ValidationFailed
from nexus_core.testing.fakes import (
    FakeClock,
    FakeContactFileReader,
    FakeHasher,
    FakeStore,
    FakeTokens,
)
from nexus_core.use_cases import accounts, campaign_actions, campaigns, contacts, profile
from nexus_core.use_cases.context import Ports

WHATSAPP = {"whatsapp_api_key": "EAAG-token-1234", "whatsapp_phone_number_id": "1098765"}


@dataclasses.dataclass
class World:
    store: FakeStore
    ports: Ports
    ana: User

    def configured(self) -> User:
        self.ana = profile.update_profile(self.ports, self.ana.id, WHATSAPP)
        return self.ana

    def contact(self, phone: str, **fields: object) -> int:
        body = {"name": "Ana García", "phone": phone, **fields}
        return contacts.create_contact(self.ports, self.ana, body).id

    def campaign(self, **fields: object) -> Campaign:
        body = {"name": "Promo", "message": "Hola {first_name}", **fields}
        return campaigns.create_campaign(self.ports, self.ana.id, body)

    def stored(self, campaign: Campaign) -> Campaign:
        return self.store.state.campaigns[campaign.id]


@pytest.fixture
def world() -> World:
    store = FakeStore()
    ports = Ports(store, FakeHasher(), FakeTokens(), FakeClock(), FakeContactFileReader())
    ana = accounts.register(ports, email="ana@example.com", password="x" * 10, name="Ana").user
    return World(store, ports, ana)


def test_send_snapshots_only_eligible_contacts(world: World) -> None:
    owner = world.configured()
    world.contact("+34600000001")
    world.contact("+34600000002", status="inactivo")
    world.contact("+34600000003", opted_out=True)
    draft = world.campaign(audience={"all_contacts": True})
    sent = campaign_actions.send_campaign(world.ports, owner, draft.id)
    assert (sent.status, sent.total_recipients, sent.pending_count) == ("active", 1, 1)
    assert sent.sent_at is not None
    assert world.stored(draft) == sent


def test_nothing_changes_when_sending_is_refused(world: World) -> None:
    world.contact("+34600000001")
    draft = world.campaign(audience={"all_contacts": True})
    with pytest.raises(ValidationFailed) as unconfigured:
        campaign_actions.send_campaign(world.ports, world.ana, draft.id)
    assert unconfigured.value.errors[0].code == "campaign.channel_not_configured"
    owner = world.configured()
    nobody = world.campaign(audience={"tags": ["nadie"]})
    with pytest.raises(ValidationFailed) as empty:
        campaign_actions.send_campaign(world.ports, owner, nobody.id)
    assert empty.value.errors[0].code == "campaign.audience_empty"
    assert world.stored(draft) == draft
    assert world.stored(nobody) == nobody
    assert world.store.state.deliveries == {}


def test_cancel_skips_what_is_pending_and_counts_it(world: World) -> None:
    owner = world.configured()
    world.contact("+34600000001")
    world.contact("+34600000002")
    draft = world.campaign(audience={"all_contacts": True})
    campaign_actions.send_campaign(world.ports, owner, draft.id)
    paused = campaign_actions.pause_campaign(world.ports, owner, draft.id)
    assert paused.status == "paused"
    with pytest.raises(Conflict):
        campaign_actions.pause_campaign(world.ports, owner, draft.id)
    cancelled = campaign_actions.cancel_campaign(world.ports, owner, draft.id)
    assert (cancelled.status, cancelled.pending_count, cancelled.skipped_count) == (
        "cancelled",
        0,
        2,
    )
    assert {d.error for d in world.store.state.deliveries.values()} == {"cancelled"}


def test_preview_renders_for_the_first_recipient(world: World) -> None:
    world.contact("+34600000009")
    draft = world.campaign(audience={"all_contacts": True})
    preview = campaign_actions.preview_campaign(world.ports, world.ana, draft.id)
    assert preview.message == "Hola Ana"
    assert preview.total_recipients == 1
    assert preview.sample_contact is not None


def test_another_users_campaign_is_not_found(world: World) -> None:
    draft = world.campaign()
    bob = accounts.register(
        world.ports, email="bob@example.com", password="x" * 10, name="Bob"
    ).user
    for action in (
        campaign_actions.send_campaign,
        campaign_actions.pause_campaign,
        campaign_actions.cancel_campaign,
        campaign_actions.preview_campaign,
    ):
        with pytest.raises(NotFound):
            action(world.ports, bob, draft.id)
    assert world.stored(draft) == draft
