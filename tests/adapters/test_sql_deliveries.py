"""``DeliveryRepository``: ``SqlDeliveries`` on SQLite and PostgreSQL and the in-memory fake
held to the same checks (every ``@shared`` function runs on all three). The fake selects
recipients with ``audience.recipients`` itself, and the SQL snapshot is compared with that
reference, on chosen and on generated contacts; then what only the database does: the
unique keys, the CHECK, the cascades."""

from __future__ import annotations

import dataclasses
import itertools
import random
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from nexus_adapters.sql import tables
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.audience import CHANNELS, Audience, Channel, address_for, recipients
from nexus_core.domain.campaigns import Campaign, CampaignDraft
from nexus_core.domain.contact_queries import ContactQuery
from nexus_core.domain.contact_records import Contact
from nexus_core.domain.contacts import ContactDraft
from nexus_core.domain.deliveries import DELIVERY_STATUSES, Delivery, count_deliveries
from nexus_core.domain.users import User
from nexus_core.ports import UnitOfWorkFactory
from nexus_core.testing.fakes import FakeStore
from tests.adapters.two_users import fake_store_with_two_users

NOW = datetime(2026, 11, 26, 12, 0, 0, 654321, tzinfo=UTC)
LATER = NOW + timedelta(hours=2, microseconds=5)
# Whole tags only ("vip" is not "vip-gold"); LIKE's own characters are taken literally.
TAGS = ("vip", "vip-gold", "cliente", "50%", "a_b", "añó")
_serial = itertools.count()


@dataclasses.dataclass(frozen=True)
class World:
    """A repository's store with two users in it."""

    uow: UnitOfWorkFactory
    ana: int
    bob: int

    def contact(self, draft: ContactDraft, *, user: int | None = None) -> Contact:
        with self.uow(write=True) as uow:
            contact = uow.contacts.add(self.ana if user is None else user, draft, "manual", NOW)
            uow.commit()
        return contact

    def contacts(self, user: int | None = None) -> list[Contact]:
        """The user's contacts, by id."""
        owner = self.ana if user is None else user
        with self.uow() as uow:
            return sorted(uow.contacts.stream(owner, ContactQuery()), key=lambda c: c.id)

    def campaign(
        self, audience: Audience, channel: Channel = "whatsapp", *, user: int | None = None
    ) -> Campaign:
        draft = CampaignDraft(
            name="Campaña",
            channel=channel,
            subject="Hola" if channel == "email" else None,
            message="Hola {nombre}",
            audience=audience,
        )
        with self.uow(write=True) as uow:
            campaign = uow.campaigns.add(self.ana if user is None else user, draft, NOW)
            uow.commit()
        return campaign

    def snapshot(self, campaign: Campaign, now: datetime = NOW) -> int:
        with self.uow(write=True) as uow:
            added = uow.deliveries.snapshot(campaign, now)
            uow.commit()
        return added

    def deliveries(self, campaign: Campaign, status: Any = None) -> list[Delivery]:
        with self.uow() as uow:
            found, total = uow.deliveries.page(campaign.user_id, campaign.id, status, 1, 10_000)
        assert total == len(found)
        return found

    def set_status(self, campaign: Campaign, statuses: Sequence[Any]) -> None:
        """Give the campaign's deliveries, in id order, these statuses (through the database
        for SQL, through the state for the fake: the port has no single-delivery writer)."""
        ids = [delivery.id for delivery in self.deliveries(campaign)]
        if isinstance(self.uow, FakeStore):
            state = self.uow.state
            for delivery_id, status in zip(ids, statuses, strict=False):
                stored = state.deliveries[delivery_id]
                state.deliveries[delivery_id] = dataclasses.replace(
                    stored, status=status, error="boom" if status == "failed" else None
                )
            return
        assert isinstance(self.uow, SqlUnitOfWorkFactory)
        with self.uow.engine.begin() as connection:
            for delivery_id, status in zip(ids, statuses, strict=False):
                connection.execute(
                    sa.update(tables.deliveries)
                    .where(tables.deliveries.c.id == delivery_id)
                    .values(
                        status=status,
                        error="boom" if status == "failed" else None,
                        attempts=3,
                        provider_message_id=f"wamid.{delivery_id}",
                    )
                )


def expected(world: World, campaign: Campaign) -> list[tuple[int, str, str]]:
    """What the core's rule says the snapshot holds: (contact id, address, name)."""
    mine = world.contacts(campaign.user_id)
    return [
        (contact.id, address_for(contact, campaign.channel) or "", contact.name)
        for contact in recipients(campaign.audience, campaign.channel, mine)
    ]


def snapshotted(world: World, campaign: Campaign) -> list[tuple[int, str, str]]:
    return sorted(
        (delivery.contact_id or 0, delivery.to, delivery.name)
        for delivery in world.deliveries(campaign)
    )


Check = Callable[[World], None]
SHARED: list[Check] = []


def shared(check: Check) -> Check:
    SHARED.append(check)
    return check


@pytest.fixture
def sql_world(uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]) -> World:
    return World(uow_factory, add_user("ana@example.com").id, add_user("bob@example.com").id)


def fake_world() -> World:
    return World(*fake_store_with_two_users(NOW))


def random_contacts(world: World, seed: int, how_many: int = 40) -> None:
    """Contacts of every kind for both users: statuses, opt-outs, missing addresses, tags."""
    rng = random.Random(seed)
    for number in range(how_many):
        user = world.ana if rng.random() < 0.75 else world.bob
        world.contact(
            ContactDraft(
                name=f"Contacto {number} ñ",
                phone=f"+3461{number:07d}" if rng.random() < 0.7 else None,
                email=f"c{number}@example.com" if rng.random() < 0.7 else None,
                status="activo" if rng.random() < 0.75 else "inactivo",
                tags=tuple(rng.sample(TAGS, rng.randint(0, 2))),
                opted_out=rng.random() < 0.2,
            ),
            user=user,
        )


def audiences(world: World, seed: int) -> list[Audience]:
    rng = random.Random(seed)
    mine = [contact.id for contact in world.contacts()]
    theirs = [contact.id for contact in world.contacts(world.bob)]
    return [
        Audience(all_contacts=True),
        Audience(tags=("vip",)),
        Audience(tags=("50%", "a_b")),
        Audience(tags=("nadie",)),
        Audience(contact_ids=tuple(rng.sample(mine, min(8, len(mine))))),
        # Another user's contact and a missing one select nobody.
        Audience(contact_ids=(*theirs[:2], 99_999)),
        Audience(tags=("cliente", "añó"), contact_ids=tuple(rng.sample(mine, min(5, len(mine))))),
        Audience(all_contacts=True, tags=("vip",), contact_ids=tuple(mine[:3])),
        Audience(),
    ]


# -- the snapshot -------------------------------------------------------------------------------


@shared
def the_snapshot_holds_the_cores_recipients_on_both_channels(world: World) -> None:
    random_contacts(world, seed=7)
    for audience, channel in itertools.product(audiences(world, seed=3), CHANNELS):
        campaign = world.campaign(audience, channel)
        wanted = expected(world, campaign)
        with world.uow() as uow:
            assert uow.deliveries.count_recipients(campaign) == len(wanted)
            first = uow.deliveries.preview_recipient(campaign)
        assert (first.id if first else None) == (wanted[0][0] if wanted else None)
        assert world.snapshot(campaign) == len(wanted)
        assert snapshotted(world, campaign) == wanted, (audience, channel)
        # Repeating it adds nothing.
        assert world.snapshot(campaign, LATER) == 0
        assert snapshotted(world, campaign) == wanted


@shared
def a_snapshot_writes_pending_deliveries_due_now(world: World) -> None:
    ana = world.contact(ContactDraft("Ana María", "+34600000001", "ana@correo.es", tags=("vip",)))
    campaign = world.campaign(Audience(tags=("vip",)), "email")
    assert world.snapshot(campaign) == 1
    [delivery] = world.deliveries(campaign)
    assert delivery == Delivery(
        id=delivery.id,
        campaign_id=campaign.id,
        user_id=world.ana,
        contact_id=ana.id,
        to="ana@correo.es",
        name="Ana María",
        status="pending",
        error=None,
        attempts=0,
        provider_message_id=None,
        next_attempt_at=NOW,
        created_at=NOW,
        updated_at=NOW,
    )
    assert delivery.created_at.tzinfo is UTC


@shared
def a_repeated_snapshot_adds_only_the_new_recipients(world: World) -> None:
    first = world.contact(ContactDraft("Uno", "+34600000001", None))
    campaign = world.campaign(Audience(all_contacts=True))
    assert world.snapshot(campaign) == 1
    second = world.contact(ContactDraft("Dos", "+34600000002", None))
    assert world.snapshot(campaign, LATER) == 1
    assert [d.contact_id for d in world.deliveries(campaign)] == [first.id, second.id]
    assert world.snapshot(campaign, LATER) == 0
    # Another campaign of the same audience has its own deliveries.
    assert world.snapshot(world.campaign(Audience(all_contacts=True))) == 2


@shared
def nobody_selected_means_no_delivery(world: World) -> None:
    world.contact(ContactDraft("Uno", "+34600000001", None, tags=("vip",)))
    for audience in (Audience(), Audience(tags=("vi",)), Audience(tags=("vip-gold",))):
        campaign = world.campaign(audience)
        with world.uow() as uow:
            assert uow.deliveries.preview_recipient(campaign) is None
            assert uow.deliveries.count_recipients(campaign) == 0
        assert world.snapshot(campaign) == 0


# -- the list and the counts --------------------------------------------------------------------


def _campaign_with(world: World, how_many: int) -> Campaign:
    for number in range(how_many):
        world.contact(ContactDraft(f"C{number}", f"+3460000{number:04d}", None))
    campaign = world.campaign(Audience(all_contacts=True))
    assert world.snapshot(campaign) == how_many
    return campaign


@shared
def the_list_pages_in_id_order_and_filters_by_status(world: World) -> None:
    campaign = _campaign_with(world, 7)
    statuses = ["sent", "failed", "pending", "read", "failed", "skipped", "delivered"]
    world.set_status(campaign, statuses)
    ids = [delivery.id for delivery in world.deliveries(campaign)]
    assert ids == sorted(ids)
    with world.uow() as uow:
        page, total = uow.deliveries.page(world.ana, campaign.id, None, 2, 3)
        assert ([d.id for d in page], total) == (ids[3:6], 7)
        assert uow.deliveries.page(world.ana, campaign.id, None, 4, 3) == ([], 7)
        failed, total = uow.deliveries.page(world.ana, campaign.id, "failed", 1, 20)
        assert ([d.id for d in failed], total) == ([ids[1], ids[4]], 2)
        assert [d.status for d in failed] == ["failed", "failed"]
        assert uow.deliveries.page(world.ana, campaign.id, "failed", 2, 1)[0][0].id == ids[4]
        # Another user's campaign, or a missing one, has no delivery.
        assert uow.deliveries.page(world.bob, campaign.id, None, 1, 20) == ([], 0)
        assert uow.deliveries.page(world.ana, campaign.id + 1000, None, 1, 20) == ([], 0)


@shared
def the_counts_match_the_cores_recount(world: World) -> None:
    campaign = _campaign_with(world, 9)
    other = world.campaign(Audience(all_contacts=True))
    with world.uow() as uow:
        assert uow.deliveries.counts(campaign.id) == count_deliveries(["pending"] * 9)
        assert uow.deliveries.counts(other.id) == count_deliveries([])
    statuses: list[Any] = [*DELIVERY_STATUSES, "read", "failed", "sent"]
    world.set_status(campaign, statuses)
    with world.uow() as uow:
        counts = uow.deliveries.counts(campaign.id)
    assert counts == count_deliveries(statuses)
    assert counts.total_recipients == 9


@shared
def cancelling_skips_only_what_is_pending(world: World) -> None:
    campaign = _campaign_with(world, 5)
    other = world.campaign(Audience(all_contacts=True))
    world.set_status(campaign, ["sent", "failed"])
    with world.uow(write=True) as uow:
        assert uow.deliveries.skip_pending(campaign.id, "cancelled", LATER) == 3
        assert uow.deliveries.skip_pending(other.id, "cancelled", LATER) == 0
        uow.commit()
    found = world.deliveries(campaign)
    assert [d.status for d in found] == ["sent", "failed", "skipped", "skipped", "skipped"]
    for delivery in found[2:]:
        assert (delivery.error, delivery.next_attempt_at) == ("cancelled", None)
        assert delivery.updated_at == LATER
    assert found[1].error == "boom"
    with world.uow(write=True) as uow:
        assert uow.deliveries.skip_pending(campaign.id, "cancelled", LATER) == 0


@shared
def retrying_makes_failed_deliveries_pending_again(world: World) -> None:
    campaign = _campaign_with(world, 4)
    world.set_status(campaign, ["failed", "sent", "failed", "skipped"])
    before = world.deliveries(campaign)
    with world.uow(write=True) as uow:
        assert uow.deliveries.reset_failed(campaign.id, LATER) == 2
        uow.commit()
    after = world.deliveries(campaign)
    assert [d.status for d in after] == ["pending", "sent", "pending", "skipped"]
    for old, new in ((before[0], after[0]), (before[2], after[2])):
        assert new == dataclasses.replace(
            old,
            status="pending",
            error=None,
            provider_message_id=None,
            next_attempt_at=LATER,
            updated_at=LATER,
        )
        assert new.attempts == old.attempts  # calls to the channel, kept
    assert after[1] == before[1]
    with world.uow(write=True) as uow:
        assert uow.deliveries.reset_failed(campaign.id, LATER) == 0


@shared
def deleting_a_contact_keeps_its_delivery_and_the_campaign_takes_its_own(world: World) -> None:
    campaign = _campaign_with(world, 2)
    first, second = world.deliveries(campaign)
    assert first.contact_id is not None
    with world.uow(write=True) as uow:
        assert uow.contacts.delete(world.ana, first.contact_id)
        uow.commit()
    assert world.deliveries(campaign) == [dataclasses.replace(first, contact_id=None), second]
    assert world.snapshot(campaign) == 0
    with world.uow(write=True) as uow:
        assert uow.campaigns.delete(world.ana, campaign.id)
        uow.commit()
    assert world.deliveries(campaign) == []
    with world.uow() as uow:
        assert uow.deliveries.counts(campaign.id) == count_deliveries([])


@shared
def deleting_the_user_deletes_their_deliveries(world: World) -> None:
    mine = _campaign_with(world, 2)
    world.contact(ContactDraft("Bob's", "+34699999999", None), user=world.bob)
    theirs = world.campaign(Audience(all_contacts=True), user=world.bob)
    assert world.snapshot(theirs) == 1
    with world.uow(write=True) as uow:
        uow.users.delete(world.ana)
        uow.commit()
    with world.uow() as uow:
        assert uow.deliveries.counts(mine.id) == count_deliveries([])
        assert uow.deliveries.counts(theirs.id) == count_deliveries(["pending"])


def _name(check: Check) -> str:
    return check.__name__


@pytest.mark.parametrize("check", SHARED, ids=_name)
def test_sql_deliveries(check: Check, sql_world: World) -> None:
    check(sql_world)


@pytest.mark.parametrize("check", SHARED, ids=_name)
def test_fake_deliveries(check: Check) -> None:
    check(fake_world())


# -- generated contacts -------------------------------------------------------------------------

_contact_specs = st.lists(
    st.tuples(
        st.booleans(),  # Bob's rather than Ana's
        st.booleans(),  # has a phone
        st.booleans(),  # has an email
        st.sampled_from(("activo", "inactivo")),
        st.lists(st.sampled_from(TAGS), max_size=3, unique=True),
        st.booleans(),  # opted out
    ),
    max_size=12,
)
_audience_specs = st.tuples(
    st.booleans(),
    st.lists(st.sampled_from((*TAGS, "nadie")), max_size=3, unique=True),
    st.lists(st.integers(min_value=0, max_value=14), max_size=5, unique=True),
    st.sampled_from(CHANNELS),
)


def test_generated_snapshots_are_the_cores_recipients(
    sql_world: World, dialect: str, add_user: Callable[..., User]
) -> None:
    """New users per example, so no table needs emptying between them."""

    @settings(
        max_examples=25 if dialect == "sqlite" else 8,
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(contact_specs=_contact_specs, audience_spec=_audience_specs)
    def check(contact_specs: list[Any], audience_spec: Any) -> None:
        serial = next(_serial)
        ana = add_user(f"ana{serial}@example.com").id
        bob = add_user(f"bob{serial}@example.com").id
        world = dataclasses.replace(sql_world, ana=ana, bob=bob)
        created: list[Contact] = []
        for number, (bobs, phone, email, status, tags, opted_out) in enumerate(contact_specs):
            draft = ContactDraft(
                name=f"C{number}",
                phone=f"+3462{number:07d}" if phone else None,
                email=f"c{number}@example.com" if email else None,
                status=status,
                tags=tuple(tags),
                opted_out=opted_out,
            )
            created.append(world.contact(draft, user=bob if bobs else ana))
        all_contacts, tags, positions, channel = audience_spec
        ids = tuple(created[p].id if p < len(created) else 10**6 + p for p in positions)
        campaign = world.campaign(Audience(all_contacts, tuple(tags), ids), channel)
        mine = [contact for contact in created if contact.user_id == ana]
        wanted = [
            (c.id, address_for(c, channel) or "", c.name)
            for c in recipients(campaign.audience, channel, mine)
        ]
        with world.uow() as uow:
            assert uow.deliveries.count_recipients(campaign) == len(wanted)
        assert world.snapshot(campaign) == len(wanted)
        assert snapshotted(world, campaign) == wanted
        assert world.snapshot(campaign) == 0

    check()


# -- the database's own -------------------------------------------------------------------------


def test_the_database_refuses_a_second_delivery_and_unknown_statuses(
    sql_world: World, migrated_engine: Engine
) -> None:
    campaign = _campaign_with(sql_world, 2)
    first, second = sql_world.deliveries(campaign)
    d = tables.deliveries
    with migrated_engine.connect() as connection:
        for status in DELIVERY_STATUSES:
            connection.execute(sa.update(d).where(d.c.id == first.id).values(status=status))
        with pytest.raises(sa.exc.IntegrityError):
            connection.execute(sa.update(d).values(status="sending"))
        connection.rollback()
        with pytest.raises(sa.exc.IntegrityError):
            connection.execute(
                sa.update(d).where(d.c.id == second.id).values(contact_id=first.contact_id)
            )
        connection.rollback()
        # Provider message ids are unique once known; unknown ones (NULL) never collide.
        connection.execute(sa.update(d).where(d.c.id == first.id).values(provider_message_id="m"))
        with pytest.raises(sa.exc.IntegrityError):
            connection.execute(
                sa.update(d).where(d.c.id == second.id).values(provider_message_id="m")
            )
        connection.rollback()
