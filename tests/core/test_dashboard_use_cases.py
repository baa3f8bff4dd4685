"""``dashboard_stats`` on the in-memory fakes: the contract's figures from contacts, imports,
campaigns, deliveries and receipts, the days in the user's timezone, and agreement with the
contacts' and campaigns' own stats."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from nexus_core.domain.dashboard import Activity, Dashboard
from nexus_core.domain.deliveries import Outcome
from nexus_core.domain.users import User
from nexus_core.testing.fakes import (
    FakeClock,
    FakeContactFileReader,
    FakeHasher,
    FakeStore,
    FakeTokens,
)
from nexus_core.use_cases import (
    accounts,
    campaign_actions,
    campaigns,
    contact_imports,
    contacts,
    profile,
)
from nexus_core.use_cases.context import Ports
from nexus_core.use_cases.dashboard import dashboard_stats

WHATSAPP = {"whatsapp_api_key": "EAAG-token-1234", "whatsapp_phone_number_id": "1098765"}
# 10:00 in Madrid (UTC+1 in November).
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclasses.dataclass
class World:
    store: FakeStore
    clock: FakeClock
    ports: Ports
    ana: User

    def dashboard(self, timezone: str = "Europe/Madrid", user_id: int | None = None) -> Dashboard:
        return dashboard_stats(self.ports, user_id or self.ana.id, timezone)

    def day(self, wanted: date, timezone: str = "Europe/Madrid") -> Activity:
        (found,) = (row.activity for row in self.dashboard(timezone).daily if row.day == wanted)
        return found

    def dispatch(self, *statuses: str) -> list[str]:
        """Claim and record one delivery per status given (``sent`` ones get ``wamid.<n>``)."""
        ids: list[str] = []
        for status in statuses:
            self.clock.advance(timedelta(minutes=1))
            with self.store(write=True) as uow:
                (claimed,) = uow.deliveries.claim_due(self.clock(), 60, 1, "w1")
                message_id = f"wamid.{claimed.delivery.id}" if status == "sent" else None
                uow.deliveries.record_outcomes(
                    "w1",
                    [Outcome(claimed.delivery.id, status, provider_message_id=message_id)],  # type: ignore[arg-type]
                    self.clock(),
                )
                uow.commit()
            ids.append(message_id or "")
        return ids

    def complete(self) -> None:
        """What the dispatcher does next: campaigns with nothing pending complete."""
        with self.store(write=True) as uow:
            uow.deliveries.complete_finished(self.clock())
            uow.commit()

    def receipt(self, message_id: str, status: str) -> None:
        with self.store(write=True) as uow:
            assert uow.deliveries.apply_receipt(message_id, status, self.clock())  # type: ignore[arg-type]
            uow.commit()


@pytest.fixture
def world() -> World:
    store = FakeStore()
    clock = FakeClock(START)
    ports = Ports(store, FakeHasher(), FakeTokens(), clock, FakeContactFileReader())
    ana = accounts.register(ports, email="ana@example.com", password="x" * 10, name="Ana").user
    ana = profile.update_profile(ports, ana.id, WHATSAPP)
    return World(store, clock, ports, ana)


def add_contacts(world: World) -> None:
    contacts.create_contact(world.ports, world.ana, {"name": "A", "phone": "+34600000001"})
    contacts.create_contact(
        world.ports, world.ana, {"name": "B", "phone": "+34600000002", "opted_out": True}
    )
    contacts.create_contact(
        world.ports, world.ana, {"name": "C", "phone": "+34600000003", "status": "inactivo"}
    )
    contact_imports.import_contacts(
        world.ports,
        world.ana,
        filename="clientes.csv",
        content=io.BytesIO(b"name,phone\nD,+34600000004\nE,+34600000005\nF,+34600000006\n"),
    )


def start_campaign(world: World) -> int:
    draft = campaigns.create_campaign(
        world.ports,
        world.ana.id,
        {"name": "Promo", "message": "Hola", "audience": {"all_contacts": True}},
    )
    return campaign_actions.send_campaign(world.ports, world.ana, draft.id).id


def test_a_new_account_counts_nothing_and_has_thirty_empty_days(world: World) -> None:
    dashboard = world.dashboard()
    assert dashboard.contacts.total == dashboard.messages.sent == dashboard.total_campaigns == 0
    assert dashboard.delivery_rate == dashboard.read_rate == 0.0
    assert dashboard.imports.imports == dashboard.imports.contacts_imported == 0
    assert len(dashboard.daily) == 30
    assert dashboard.daily[-1].day == date(2026, 11, 20)
    assert dashboard.daily[0].day == date(2026, 10, 22)
    assert all(row.activity == Activity() for row in dashboard.daily)


def test_contacts_and_imports_are_counted(world: World) -> None:
    add_contacts(world)
    world.clock.advance(timedelta(days=8))
    contacts.create_contact(world.ports, world.ana, {"name": "G", "email": "g@example.com"})
    dashboard = world.dashboard()
    assert dataclasses.astuple(dashboard.contacts) == (7, 6, 1, 1, 1)
    assert (dashboard.imports.imports, dashboard.imports.contacts_imported) == (1, 3)
    stats = contacts.contact_stats(world.ports, world.ana.id)
    assert (stats.total, stats.active, stats.inactive, stats.recent) == (7, 6, 1, 1)


def test_messages_rates_and_days_follow_deliveries_and_receipts(world: World) -> None:
    add_contacts(world)
    start_campaign(world)  # to A, D, E and F: activo and not opted out
    first, second, _, _ = world.dispatch("sent", "sent", "failed", "sent")
    world.receipt(first, "read")
    world.receipt(second, "delivered")
    dashboard = world.dashboard()
    assert dataclasses.astuple(dashboard.messages) == (3, 2, 1, 1)
    assert dashboard.delivery_rate == pytest.approx(2 / 3)
    assert dashboard.read_rate == pytest.approx(1 / 3)
    assert dashboard.campaigns_by_status["active"] == 1
    assert dashboard.total_campaigns == 1
    today = date(2026, 11, 20)
    assert world.day(today) == Activity(3, 2, 1, 1)
    counted = campaigns.campaign_stats(world.ports, world.ana.id)
    assert (counted.sent, counted.delivered, counted.opened, counted.failed) == (3, 2, 1, 1)
    assert counted.by_status == dashboard.campaigns_by_status


def test_a_failed_receipt_days_later_moves_the_message_to_that_day(world: World) -> None:
    add_contacts(world)
    start_campaign(world)
    sent, *_ = world.dispatch("sent", "sent", "sent", "sent")
    world.clock.advance(timedelta(days=2))
    world.receipt(sent, "failed")
    assert world.day(date(2026, 11, 20)) == Activity(sent=3)
    assert world.day(date(2026, 11, 22)) == Activity(failed=1)
    dashboard = world.dashboard()
    assert (dashboard.messages.sent, dashboard.messages.failed) == (3, 1)


def test_retry_failed_takes_the_failures_out_of_their_day(world: World) -> None:
    add_contacts(world)
    campaign_id = start_campaign(world)
    world.dispatch("failed", "failed", "sent", "sent")
    world.complete()
    assert world.day(date(2026, 11, 20)).failed == 2
    world.clock.advance(timedelta(days=1))
    campaign_actions.retry_failed(world.ports, world.ana, campaign_id)
    assert world.day(date(2026, 11, 20)) == Activity(sent=2)
    world.dispatch("sent")
    assert world.day(date(2026, 11, 21)) == Activity(sent=1)
    assert world.dashboard().messages == Activity(sent=3)


def test_a_deleted_campaign_counts_nowhere(world: World) -> None:
    add_contacts(world)
    campaign_id = start_campaign(world)
    world.dispatch("sent", "sent", "sent", "failed")
    world.complete()
    campaigns.delete_campaign(world.ports, world.ana.id, campaign_id)
    dashboard = world.dashboard()
    assert dashboard.messages == Activity()
    assert all(row.activity == Activity() for row in dashboard.daily)
    assert dashboard.total_campaigns == 0


def test_the_days_are_the_users_timezone_days(world: World) -> None:
    add_contacts(world)
    start_campaign(world)
    world.clock.advance(timedelta(hours=14, minutes=50))  # 23:50 UTC: the 21st in Tokyo
    world.dispatch("sent")
    assert world.day(date(2026, 11, 20), "UTC") == Activity(sent=1)
    tokyo = world.dashboard("Asia/Tokyo")
    assert tokyo.daily[-1].day == date(2026, 11, 21)
    assert tokyo.daily[-1].activity == Activity(sent=1)
    honolulu = world.dashboard("Pacific/Honolulu")
    assert honolulu.daily[-1].day == date(2026, 11, 20)
    assert honolulu.daily[-1].activity == Activity(sent=1)


def test_activity_older_than_thirty_days_leaves_the_days_not_the_totals(world: World) -> None:
    add_contacts(world)
    start_campaign(world)
    world.dispatch("sent")
    world.clock.advance(timedelta(days=30))
    dashboard = world.dashboard()
    assert dashboard.messages.sent == 1
    assert all(row.activity == Activity() for row in dashboard.daily)


def test_another_users_figures_never_show(world: World) -> None:
    add_contacts(world)
    start_campaign(world)
    world.dispatch("sent", "failed")
    bob = accounts.register(world.ports, email="bob@example.com", password="y" * 10, name="Bob")
    dashboard = world.dashboard(user_id=bob.user.id)
    assert dashboard.contacts.total == dashboard.messages.sent == dashboard.messages.failed == 0
    assert dashboard.imports.imports == 0
    assert all(row.activity == Activity() for row in dashboard.daily)
