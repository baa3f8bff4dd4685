"""``CampaignRepository``: ``SqlCampaigns`` on SQLite and PostgreSQL and the in-memory fake
held to the same checks (every ``@shared`` function runs on all three), then what only the
database does: time zones, the CHECKs, the row lock, the cascade."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from nexus_adapters.sql import tables
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.audience import Audience
from nexus_core.domain.campaign_status import CAMPAIGN_STATUSES
from nexus_core.domain.campaigns import Campaign, CampaignDraft, WhatsAppTemplate, revised
from nexus_core.domain.users import User
from nexus_core.ports import UnitOfWorkFactory
from tests.adapters.two_users import fake_store_with_two_users

NOW = datetime(2026, 11, 26, 12, 0, 0, 654321, tzinfo=UTC)
LATER = NOW + timedelta(hours=2, microseconds=5)

FULL = CampaignDraft(
    name="Campaña de Año Nuevo 🎉",
    channel="email",
    subject="¡Feliz año, {nombre}!",
    message="Hola {nombre},\n«Ofertas» con ñ, 中文 y emojis 🎆.\n",
    media_url="https://cdn.example.com/imágenes/año.png?size=2",
    media_type="image",
    audience=Audience(all_contacts=True, tags=("vip", "año-2026"), contact_ids=(9, 7, 2**31 - 1)),
    whatsapp_template=WhatsAppTemplate("promo_navidad", "es_ES", ("{nombre}", "20 %", "ñ\"'")),
    scheduled_at=datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
)
BARE = CampaignDraft(name="Sin nada", message="Hola")


@dataclasses.dataclass(frozen=True)
class World:
    """A repository's store with two users in it."""

    uow: UnitOfWorkFactory
    ana: int
    bob: int

    def add(
        self, draft: CampaignDraft = BARE, *, user: int | None = None, now: datetime = NOW
    ) -> Campaign:
        with self.uow(write=True) as uow:
            campaign = uow.campaigns.add(self.ana if user is None else user, draft, now)
            uow.commit()
        return campaign

    def get(self, campaign_id: int, *, user: int | None = None) -> Campaign | None:
        with self.uow() as uow:
            return uow.campaigns.get(self.ana if user is None else user, campaign_id)

    def save(self, campaign: Campaign) -> None:
        with self.uow(write=True) as uow:
            uow.campaigns.save(campaign)
            uow.commit()

    def listed(
        self, status: Any = None, page: int = 1, per_page: int = 20
    ) -> tuple[list[int], int]:
        with self.uow() as uow:
            campaigns, total = uow.campaigns.page(self.ana, status, page, per_page)
        return [campaign.id for campaign in campaigns], total


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


# -- single writes ------------------------------------------------------------------------------


@shared
def every_field_reads_back_as_written(world: World) -> None:
    for written in (
        FULL,
        BARE,
        dataclasses.replace(FULL, whatsapp_template=WhatsAppTemplate("t", "en")),
    ):
        campaign = world.add(written)
        assert campaign.draft == written
        assert (campaign.user_id, campaign.status) == (world.ana, "draft")
        assert (campaign.sent_at, campaign.completed_at) == (None, None)
        assert campaign.created_at == campaign.updated_at == NOW
        assert campaign.created_at.tzinfo is UTC
        assert [getattr(campaign, name) for name in tables.CAMPAIGN_COUNTERS] == [0] * 8
        assert world.get(campaign.id) == campaign


@shared
def another_users_campaign_is_like_a_missing_one(world: World) -> None:
    campaign = world.add(FULL)
    with world.uow(write=True) as uow:
        assert uow.campaigns.get(world.bob, campaign.id) is None
        assert uow.campaigns.get_for_update(world.bob, campaign.id) is None
        assert uow.campaigns.get(world.ana, campaign.id + 1000) is None
        assert uow.campaigns.delete(world.bob, campaign.id) is False
        uow.campaigns.save(dataclasses.replace(campaign, user_id=world.bob, name="Robada"))
        assert uow.campaigns.page(world.bob, None, 1, 20) == ([], 0)
        assert set(uow.campaigns.count_by_status(world.bob).values()) == {0}
        uow.commit()
    assert world.get(campaign.id) == campaign


@shared
def save_writes_every_field_but_the_id_owner_and_creation(world: World) -> None:
    campaign = world.add(FULL)
    changed = dataclasses.replace(
        revised(campaign, BARE, LATER),
        status="completed",
        sent_at=NOW + timedelta(minutes=1, microseconds=1),
        completed_at=LATER,
        **{name: number + 1 for number, name in enumerate(tables.CAMPAIGN_COUNTERS)},
    )
    with world.uow(write=True) as uow:
        assert uow.campaigns.get_for_update(world.ana, campaign.id) == campaign
        uow.campaigns.save(dataclasses.replace(changed, created_at=LATER))
        uow.commit()
    assert world.get(campaign.id) == changed


@shared
def save_of_a_deleted_campaign_brings_nothing_back(world: World) -> None:
    campaign = world.add()
    with world.uow(write=True) as uow:
        assert uow.campaigns.delete(world.ana, campaign.id) is True
        assert uow.campaigns.delete(world.ana, campaign.id) is False
        uow.campaigns.save(dataclasses.replace(campaign, status="active"))
        uow.commit()
    assert world.get(campaign.id) is None
    assert world.listed() == ([], 0)


@shared
def deleting_the_user_deletes_their_campaigns(world: World) -> None:
    mine, theirs = world.add(), world.add(user=world.bob)
    with world.uow(write=True) as uow:
        uow.users.delete(world.ana)
        uow.commit()
    assert world.get(mine.id) is None
    assert world.get(theirs.id, user=world.bob) == theirs


# -- the list and the counts --------------------------------------------------------------------


def _with_status(world: World, campaign: Campaign, status: Any) -> Campaign:
    moved = dataclasses.replace(campaign, status=status)
    world.save(moved)
    return moved


@shared
def the_list_is_newest_first_and_ties_go_to_the_later_created(world: World) -> None:
    moments = [NOW, NOW + timedelta(microseconds=1), NOW - timedelta(days=1), NOW, NOW]
    ids = [world.add(now=moment).id for moment in moments]
    world.add(user=world.bob, now=NOW + timedelta(days=1))
    assert world.listed() == ([ids[1], ids[4], ids[3], ids[0], ids[2]], 5)
    assert world.listed(page=1, per_page=2) == ([ids[1], ids[4]], 5)
    assert world.listed(page=3, per_page=2) == ([ids[2]], 5)
    assert world.listed(page=4, per_page=2) == ([], 5)


@shared
def the_list_filters_by_status(world: World) -> None:
    first, second, third = (world.add(now=NOW + timedelta(minutes=m)) for m in range(3))
    _with_status(world, first, "active")
    _with_status(world, third, "active")
    _with_status(world, world.add(user=world.bob), "active")
    assert world.listed("active") == ([third.id, first.id], 2)
    assert world.listed("active", page=2, per_page=1) == ([first.id], 2)
    assert world.listed("draft") == ([second.id], 1)
    assert world.listed("failed") == ([], 0)


@shared
def the_counts_name_every_status(world: World) -> None:
    with world.uow() as uow:
        assert uow.campaigns.count_by_status(world.ana) == dict.fromkeys(CAMPAIGN_STATUSES, 0)
    for status in ("active", "active", "paused", "draft"):
        _with_status(world, world.add(), status)
    _with_status(world, world.add(user=world.bob), "failed")
    with world.uow() as uow:
        counts = uow.campaigns.count_by_status(world.ana)
    assert list(counts) == list(CAMPAIGN_STATUSES)
    assert counts == {**dict.fromkeys(CAMPAIGN_STATUSES, 0), "active": 2, "paused": 1, "draft": 1}


@shared
def due_scheduled_campaigns_of_every_user_earliest_first(world: World) -> None:
    def scheduled(at: datetime, *, user: int | None = None, status: Any = "scheduled") -> int:
        added = world.add(dataclasses.replace(BARE, scheduled_at=at), user=user)
        return _with_status(world, added, status).id

    late = scheduled(NOW)
    early = scheduled(NOW - timedelta(hours=1), user=world.bob)
    tie = scheduled(NOW)
    scheduled(NOW + timedelta(microseconds=1))  # not yet
    scheduled(NOW - timedelta(days=1), status="draft")  # not scheduled
    scheduled(NOW - timedelta(days=1), status="active")
    with world.uow() as uow:
        assert [c.id for c in uow.campaigns.due_scheduled(NOW, 10)] == [early, late, tie]
        assert [c.id for c in uow.campaigns.due_scheduled(NOW, 2)] == [early, late]
        assert uow.campaigns.due_scheduled(NOW - timedelta(days=2), 10) == []


def _name(check: Check) -> str:
    return check.__name__


@pytest.mark.parametrize("check", SHARED, ids=_name)
def test_sql_campaigns(check: Check, sql_world: World) -> None:
    check(sql_world)


@pytest.mark.parametrize("check", SHARED, ids=_name)
def test_fake_campaigns(check: Check) -> None:
    check(fake_world())


# -- the database's own -------------------------------------------------------------------------


def test_times_in_other_offsets_come_back_as_the_same_instant_in_utc(sql_world: World) -> None:
    plus_one = timezone(timedelta(hours=1))
    local = datetime(2026, 11, 26, 13, 0, 0, 1, tzinfo=plus_one)
    scheduled = datetime(2026, 12, 1, 10, 30, 0, 999999, tzinfo=timezone(timedelta(hours=-5)))
    campaign = sql_world.add(dataclasses.replace(BARE, scheduled_at=scheduled), now=local)
    stored = sql_world.get(campaign.id)
    assert stored is not None
    assert stored.created_at == datetime(2026, 11, 26, 12, 0, 0, 1, tzinfo=UTC)
    assert stored.scheduled_at == datetime(2026, 12, 1, 15, 30, 0, 999999, tzinfo=UTC)
    assert stored.created_at.tzinfo is stored.scheduled_at.tzinfo is UTC


def test_the_database_takes_every_status_and_channel_and_refuses_others(
    sql_world: World, migrated_engine: Engine
) -> None:
    """The migration's CHECKs list what the core knows, neither less nor more."""
    campaign = sql_world.add()
    for status in CAMPAIGN_STATUSES:
        moved = _with_status(sql_world, campaign, status)
        assert sql_world.get(campaign.id) == moved
    emailed = dataclasses.replace(campaign, channel="email", subject="Hola")
    sql_world.save(emailed)
    assert sql_world.get(campaign.id) == emailed
    for column, value in (("status", "sending"), ("channel", "sms")):
        with migrated_engine.connect() as connection, pytest.raises(sa.exc.IntegrityError):
            connection.execute(sa.update(tables.campaigns).values({column: value}))


def test_writers_of_one_campaign_through_get_for_update_lose_no_update(
    sql_world: World,
) -> None:
    """Each writer reads the counter, waits, and writes it plus one: without the row lock
    (PostgreSQL) or the database lock (SQLite) they would overwrite each other."""
    campaign = sql_world.add()
    writers = 4
    start = threading.Barrier(writers)
    failures: list[str] = []

    def count_one() -> None:
        try:
            start.wait(timeout=10)
            with sql_world.uow(write=True) as uow:
                current = uow.campaigns.get_for_update(sql_world.ana, campaign.id)
                assert current is not None
                time.sleep(0.05)
                uow.campaigns.save(dataclasses.replace(current, sent_count=current.sent_count + 1))
                uow.commit()
        except BaseException as error:  # reported below, in the test's thread
            failures.append(repr(error))

    threads = [threading.Thread(target=count_one) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    stored = sql_world.get(campaign.id)
    assert stored is not None
    assert stored.sent_count == writers


def test_deleting_the_user_deletes_the_rows(sql_world: World, migrated_engine: Engine) -> None:
    sql_world.add(FULL)
    sql_world.add(user=sql_world.bob)
    with sql_world.uow(write=True) as uow:
        uow.users.delete(sql_world.ana)
        uow.commit()
    with migrated_engine.connect() as connection:
        owners = connection.execute(sa.select(tables.campaigns.c.user_id)).scalars().all()
    assert owners == [sql_world.bob]
