"""``record_receipts`` on the in-memory fakes: receipts move the deliveries they name and the
campaign's counters, never backwards, each in a unit of work of its own."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_core.domain.campaigns import Campaign
from nexus_core.domain.deliveries import (
    RECEIPT_STATUSES,
    Delivery,
    DeliveryStatus,
    Outcome,
    after_receipt,
    count_deliveries,
)
from nexus_core.domain.whatsapp_webhook import Receipt
from nexus_core.testing.fakes import (
    FakeClock,
    FakeContactFileReader,
    FakeHasher,
    FakeStore,
    FakeTokens,
    FakeUnitOfWork,
)
from nexus_core.use_cases import accounts, campaign_actions, campaigns, contacts, profile
from nexus_core.use_cases.context import Ports
from nexus_core.use_cases.receipts import record_receipts

WHATSAPP = {"whatsapp_api_key": "EAAG-token-1234", "whatsapp_phone_number_id": "1098765"}
EARLY = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class CountingStore:
    """The fake store, counting the units of work opened through it."""

    def __init__(self, store: FakeStore) -> None:
        self.store = store
        self.opened = 0

    def __call__(self, *, write: bool = False) -> FakeUnitOfWork:
        self.opened += 1
        return self.store(write=write)


@dataclasses.dataclass
class World:
    store: FakeStore
    uows: CountingStore
    clock: FakeClock
    ports: Ports
    campaign: Campaign

    def delivery(self, message_id: str) -> Delivery:
        (found,) = (
            d for d in self.store.state.deliveries.values() if d.provider_message_id == message_id
        )
        return found

    def statuses(self) -> dict[str, DeliveryStatus]:
        return {d.provider_message_id or "": d.status for d in self.store.state.deliveries.values()}

    def stored(self) -> Campaign:
        return self.store.state.campaigns[self.campaign.id]

    def record(self, *receipts: Receipt) -> int:
        return record_receipts(self.ports, receipts, self.clock())


def make_world(recipients: int = 3) -> World:
    """Ana's campaign to ``recipients`` contacts, each delivery ``sent`` by the dispatcher's
    repository calls with the provider id ``wamid.<n>`` (n from 1)."""
    store = FakeStore()
    uows = CountingStore(store)
    clock = FakeClock()
    ports = Ports(uows, FakeHasher(), FakeTokens(), clock, FakeContactFileReader())
    ana = accounts.register(ports, email="ana@example.com", password="x" * 10, name="Ana").user
    ana = profile.update_profile(ports, ana.id, WHATSAPP)
    for n in range(recipients):
        contacts.create_contact(ports, ana, {"name": f"C{n}", "phone": f"+3460000000{n}"})
    draft = campaigns.create_campaign(
        ports, ana.id, {"name": "Promo", "message": "Hola", "audience": {"all_contacts": True}}
    )
    campaign = campaign_actions.send_campaign(ports, ana, draft.id)
    sent = 0
    while sent < recipients:  # one delivery per user per claim: the user's pace
        clock.advance(timedelta(minutes=1))
        with store(write=True) as uow:
            for claimed in uow.deliveries.claim_due(clock(), 60, 10, "w1"):
                sent += 1
                uow.deliveries.record_outcomes(
                    "w1",
                    [Outcome(claimed.delivery.id, "sent", provider_message_id=f"wamid.{sent}")],
                    clock(),
                )
            uow.commit()
    clock.advance(timedelta(minutes=1))
    uows.opened = 0
    return World(store, uows, clock, ports, campaign)


@pytest.fixture
def world() -> World:
    return make_world()


def receipt(message_id: str, status: str, seconds: int = 0) -> Receipt:
    return Receipt(message_id, status, EARLY + timedelta(seconds=seconds))


def test_delivered_then_read_move_the_delivery_and_the_counters(world: World) -> None:
    assert world.stored().sent_count == 3
    assert world.record(receipt("wamid.1", "delivered")) == 1
    stored = world.stored()
    assert (stored.sent_count, stored.delivered_count, stored.opened_count) == (3, 1, 0)
    assert world.record(receipt("wamid.1", "read", 5)) == 1
    stored = world.stored()
    assert (stored.sent_count, stored.delivered_count, stored.opened_count) == (3, 1, 1)
    delivery = world.delivery("wamid.1")
    assert delivery.status == "read"
    assert delivery.updated_at == world.clock()


def test_a_late_delivered_after_read_changes_nothing(world: World) -> None:
    world.record(receipt("wamid.1", "read"))
    before = world.store.state.deliveries.copy(), world.stored()
    assert world.record(receipt("wamid.1", "delivered", -5)) == 0
    assert (world.store.state.deliveries, world.stored()) == before


def test_a_repeated_receipt_changes_nothing(world: World) -> None:
    assert world.record(receipt("wamid.2", "delivered")) == 1
    before = world.store.state.deliveries.copy(), world.stored()
    world.clock.advance(timedelta(minutes=1))
    assert world.record(receipt("wamid.2", "delivered")) == 0
    assert (world.store.state.deliveries, world.stored()) == before


def test_an_unknown_id_changes_nothing(world: World) -> None:
    before = world.store.state.deliveries.copy(), world.stored()
    assert world.record(receipt("wamid.unknown", "read")) == 0
    assert (world.store.state.deliveries, world.stored()) == before


def test_failed_after_sent_fails_the_delivery(world: World) -> None:
    assert world.record(receipt("wamid.3", "failed")) == 1
    stored = world.stored()
    assert (stored.sent_count, stored.failed_count) == (2, 1)
    delivery = world.delivery("wamid.3")
    assert (delivery.status, delivery.error) == ("failed", "receipt_failed")


def test_every_receipt_of_a_call_is_applied_each_in_its_own_unit_of_work(world: World) -> None:
    applied = world.record(
        receipt("wamid.1", "delivered"),
        receipt("wamid.2", "read"),
        receipt("wamid.3", "failed"),
        receipt("wamid.1", "read", 1),
        receipt("wamid.unknown", "read"),
    )
    assert applied == 4
    assert world.uows.opened == 5  # one per receipt, the unknown one included
    assert world.statuses() == {"wamid.1": "read", "wamid.2": "read", "wamid.3": "failed"}
    stored = world.stored()
    assert (stored.sent_count, stored.delivered_count, stored.opened_count) == (2, 2, 2)
    assert stored.failed_count == 1


def test_receipts_before_one_that_cannot_be_applied_stay_applied(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = FakeUnitOfWork.__enter__

    def entered(self: FakeUnitOfWork) -> FakeUnitOfWork:
        uow = original(self)
        apply = uow.deliveries.apply_receipt

        def failing_second(message_id: str, *args: Any) -> bool:
            calls.append(message_id)
            if len(calls) == 2:
                raise RuntimeError("the database went away")
            return apply(message_id, *args)

        monkeypatch.setattr(uow.deliveries, "apply_receipt", failing_second)
        return uow

    monkeypatch.setattr(FakeUnitOfWork, "__enter__", entered)
    with pytest.raises(RuntimeError):
        world.record(receipt("wamid.1", "read"), receipt("wamid.2", "read"))
    assert calls == ["wamid.1", "wamid.2"]
    assert world.statuses() == {"wamid.1": "read", "wamid.2": "sent", "wamid.3": "sent"}
    # The call, repeated as Meta does, applies what is left and nothing twice.
    monkeypatch.undo()
    assert world.record(receipt("wamid.1", "read"), receipt("wamid.2", "read")) == 1
    assert world.stored().opened_count == 2


@pytest.mark.parametrize("status", ["deleted", "played", "warning", "READ", ""])
def test_a_status_we_do_not_know_is_ignored_without_a_unit_of_work(
    world: World, status: str
) -> None:
    before = world.store.state.deliveries.copy()
    assert world.record(receipt("wamid.1", status)) == 0
    assert world.store.state.deliveries == before
    assert world.uows.opened == 0


@pytest.mark.parametrize("message_id", ["", "wamid.\x00", "x" * 256, "wamid.\ud800"])
def test_ids_no_stored_message_can_have_are_never_looked_up(world: World, message_id: str) -> None:
    assert world.record(receipt(message_id, "read")) == 0
    assert world.uows.opened == 0


def test_no_receipt_opens_no_unit_of_work(world: World) -> None:
    assert world.record() == 0
    assert world.uows.opened == 0


@pytest.mark.parametrize(
    ("delivered_at", "failed_at", "final"),
    [(0, 5, "delivered"), (5, 0, "failed"), (3, 3, "failed")],
)
def test_receipts_are_applied_in_the_order_they_happened(
    world: World, delivered_at: int, failed_at: int, final: DeliveryStatus
) -> None:
    # The payload lists the failed receipt first; among equal times its order holds.
    world.record(
        receipt("wamid.1", "failed", failed_at), receipt("wamid.1", "delivered", delivered_at)
    )
    assert world.delivery("wamid.1").status == final


_RECEIPTS = st.lists(
    st.tuples(
        st.sampled_from(["wamid.1", "wamid.2", "wamid.9"]),
        st.sampled_from([*RECEIPT_STATUSES, "deleted"]),
        st.integers(0, 20),
    ),
    max_size=8,
)


@settings(max_examples=60)
@given(st.lists(_RECEIPTS, min_size=1, max_size=3))
def test_any_calls_end_as_the_rules_say_and_the_counters_add_up(
    calls: list[list[tuple[str, str, int]]],
) -> None:
    world = make_world(2)
    expected: dict[str, DeliveryStatus] = {"wamid.1": "sent", "wamid.2": "sent"}
    for call in calls:
        receipts = [receipt(message_id, status, at) for message_id, status, at in call]
        changed = 0
        for r in sorted(receipts, key=lambda r: r.timestamp):
            known = r.receipt_status
            if known is None or r.provider_message_id not in expected:
                continue
            new = after_receipt(expected[r.provider_message_id], known)
            if new is not None:
                expected[r.provider_message_id] = new
                changed += 1
        assert world.record(*receipts) == changed
    assert world.statuses() == expected
    stored = world.stored()
    recount = count_deliveries(expected.values())
    assert (
        stored.sent_count,
        stored.delivered_count,
        stored.opened_count,
        stored.failed_count,
        stored.pending_count,
    ) == (
        recount.sent_count,
        recount.delivered_count,
        recount.opened_count,
        recount.failed_count,
        recount.pending_count,
    )
