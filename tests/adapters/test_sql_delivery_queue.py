"""The sending queue of ``DeliveryRepository`` (claim, outcome, reap, completion, failure,
receipts): ``SqlDeliveries`` on SQLite and PostgreSQL and the fake held to the same checks
(every ``@shared`` function runs on all three); then, on PostgreSQL, concurrent claimers."""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.audience import Audience
from nexus_core.domain.campaigns import Campaign
from nexus_core.domain.contacts import ContactDraft
from nexus_core.domain.deliveries import COUNTERS, ClaimedDelivery, Delivery, Outcome
from nexus_core.domain.users import User
from tests.adapters.databases import only_postgresql
from tests.adapters.test_sql_deliveries import NOW, World, fake_world

SECOND = timedelta(seconds=1)
LEASE = 30.0


# -- helpers ------------------------------------------------------------------------------------


def contacts(world: World, how_many: int, *, user: int | None = None, first: int = 0) -> None:
    for number in range(first, first + how_many):
        world.contact(
            ContactDraft(f"C{number}", f"+3460{number:07d}", f"c{number}@example.com"),
            user=user,
        )


def started(world: World, *, user: int | None = None, channel: Any = "whatsapp") -> Campaign:
    """A campaign of all the user's contacts, started as ``send_campaign`` starts one:
    snapshotted at ``NOW``, ``active``, its counters recounted."""
    campaign = world.campaign(Audience(all_contacts=True), channel, user=user)
    world.snapshot(campaign)
    with world.uow(write=True) as uow:
        counts = uow.deliveries.counts(campaign.id)
        stored = dataclasses.replace(
            campaign,
            status="active",
            sent_at=NOW,
            **{name: getattr(counts, name) for name in COUNTERS},
            total_recipients=counts.total_recipients,
        )
        uow.campaigns.save(stored)
        uow.commit()
    return stored


def stored_campaign(world: World, campaign: Campaign) -> Campaign:
    with world.uow() as uow:
        found = uow.campaigns.get(campaign.user_id, campaign.id)
    assert found is not None
    return found


def set_campaign_status(world: World, campaign: Campaign, status: Any) -> None:
    with world.uow(write=True) as uow:
        found = uow.campaigns.get_for_update(campaign.user_id, campaign.id)
        assert found is not None
        uow.campaigns.save(dataclasses.replace(found, status=status))
        uow.commit()


def set_rate(world: World, user_id: int, rate: int) -> None:
    with world.uow(write=True) as uow:
        user = uow.users.get_for_update(user_id)
        assert user is not None
        preferences = dataclasses.replace(user.preferences, send_rate_per_minute=rate)
        uow.users.save(dataclasses.replace(user, preferences=preferences))
        uow.commit()


def claim(
    world: World,
    now: datetime,
    limit: int = 50,
    worker: str = "w1",
    lease: float = LEASE,
    horizon: float = 0.0,
) -> list[ClaimedDelivery]:
    with world.uow(write=True) as uow:
        claimed = uow.deliveries.claim_due(now, lease, limit, worker, horizon)
        uow.commit()
    return claimed


def record(world: World, delivery_id: int, worker: str = "w1", **changes: Any) -> bool:
    values: dict[str, Any] = {"status": "sent", "now": NOW}
    values.update(changes)
    now = values.pop("now")
    with world.uow(write=True) as uow:
        done = uow.deliveries.record_outcomes(worker, [Outcome(delivery_id, **values)], now)
        uow.commit()
    return done == {delivery_id}


def write(world: World, action: Callable[[Any], Any]) -> Any:
    with world.uow(write=True) as uow:
        result = action(uow.deliveries)
        uow.commit()
    return result


def by_id(world: World, campaign: Campaign) -> dict[int, Delivery]:
    return {d.id: d for d in world.deliveries(campaign)}


def assert_counters_recounted(world: World, campaign: Campaign) -> None:
    stored = stored_campaign(world, campaign)
    with world.uow() as uow:
        counts = uow.deliveries.counts(campaign.id)
    assert {name: getattr(stored, name) for name in COUNTERS} == {
        name: getattr(counts, name) for name in COUNTERS
    }
    assert stored.total_recipients == counts.total_recipients


Check = Callable[[World], None]
SHARED: list[Check] = []


def shared(check: Check) -> Check:
    SHARED.append(check)
    return check


# -- claiming -----------------------------------------------------------------------------------


@shared
def a_claim_takes_only_due_deliveries_of_active_campaigns(world: World) -> None:
    contacts(world, 1)
    campaign = started(world)
    assert claim(world, NOW - SECOND) == []  # not due yet
    set_campaign_status(world, campaign, "paused")
    assert claim(world, NOW) == []
    set_campaign_status(world, campaign, "active")
    [claimed] = claim(world, NOW + SECOND)
    [before] = world.deliveries(campaign)
    assert claimed.delivery == before
    assert (before.status, before.attempts, before.updated_at) == ("pending", 1, NOW + SECOND)
    assert claimed.worker_id == "w1"
    assert claimed.lease_expires_at == NOW + SECOND + timedelta(seconds=LEASE)
    assert (claimed.channel, claimed.message, claimed.subject) == (
        "whatsapp",
        "Hola {nombre}",
        None,
    )
    assert (claimed.to, claimed.name, claimed.user_id) == ("+34600000000", "C0", world.ana)
    assert (claimed.phone, claimed.email) == ("+34600000000", "c0@example.com")
    # Leased: never claimed again, by anyone, even once the user's pace allows it.
    assert claim(world, NOW + 10 * SECOND, worker="w2") == []
    assert_counters_recounted(world, campaign)
    for status in ("cancelled", "completed", "draft"):
        other = started(world)
        set_campaign_status(world, other, status)
        assert claim(world, NOW + 20 * SECOND) == []


@shared
def a_claim_takes_at_most_one_delivery_per_user_at_their_pace(world: World) -> None:
    contacts(world, 3)
    contacts(world, 2, user=world.bob, first=10)
    mine, theirs = started(world), started(world, user=world.bob)
    set_rate(world, world.bob, 30)  # one every 2 s
    first = claim(world, NOW)
    assert sorted(c.user_id for c in first) == sorted([world.ana, world.bob])
    assert claim(world, NOW, worker="w2") == []  # the same instant: nothing more
    assert [c.user_id for c in claim(world, NOW + SECOND / 2)] == []
    assert [c.user_id for c in claim(world, NOW + SECOND)] == [world.ana]
    both = claim(world, NOW + 2 * SECOND)
    assert sorted(c.user_id for c in both) == sorted([world.ana, world.bob])
    leased = [d for d in world.deliveries(mine) + world.deliveries(theirs) if d.attempts]
    assert len(leased) == 5
    assert claim(world, NOW + 60 * SECOND) == []  # everything is leased
    # The limit caps the users served in one call.
    contacts(world, 2, first=20)
    again = started(world)
    contacts(world, 1, user=world.bob, first=30)
    started(world, user=world.bob)
    assert len(claim(world, NOW + 100 * SECOND, limit=1)) == 1
    assert len(world.deliveries(again)) == 5


@shared
def a_claim_with_a_horizon_takes_what_the_users_pace_fits_in_it(world: World) -> None:
    contacts(world, 12)
    contacts(world, 3, user=world.bob, first=20)
    mine, theirs = started(world), started(world, user=world.bob)
    set_rate(world, world.ana, 240)  # one every 0.25 s: four fit in a second
    set_rate(world, world.bob, 30)  # one every 2 s: one fits
    first = claim(world, NOW, limit=50, horizon=1.0)
    quarter = SECOND / 4
    ana = [c for c in first if c.user_id == world.ana]
    assert [c.send_at for c in ana] == [NOW, NOW + quarter, NOW + 2 * quarter, NOW + 3 * quarter]
    assert [c.send_at for c in first if c.user_id == world.bob] == [NOW]
    assert [c.send_at for c in first] == sorted(c.send_at for c in first)
    # The oldest deliveries, each leased from its user's last send time.
    assert [c.delivery.id for c in ana] == sorted(by_id(world, mine))[:4]
    assert {c.lease_expires_at for c in ana} == {NOW + 3 * quarter + timedelta(seconds=LEASE)}
    # The pace goes on from one spacing past the last send time.
    assert claim(world, NOW + 3 * quarter, horizon=1.0) == []
    assert [c.send_at for c in claim(world, NOW + SECOND, horizon=1.0)][:1] == [NOW + SECOND]
    # The limit caps the deliveries of one claim, not only the users.
    capped = claim(world, NOW + 10 * SECOND, limit=2, horizon=5.0)
    assert len(capped) == 2
    assert len(world.deliveries(theirs)) == 3
    assert_counters_recounted(world, mine)


@shared
def a_claim_with_a_horizon_skips_the_unreachable_it_meets(world: World) -> None:
    contacts(world, 4)
    campaign = started(world)
    ids = sorted(by_id(world, campaign))
    second = world.contacts()[1]
    with world.uow(write=True) as uow:
        uow.contacts.save(dataclasses.replace(second, opted_out=True))
        uow.commit()
    set_rate(world, world.ana, 600)
    claimed = claim(world, NOW, horizon=0.2)  # two slots: 0 and 0.1 s
    assert [c.delivery.id for c in claimed] == [ids[0], ids[2]]
    statuses = {d.id: (d.status, d.error) for d in world.deliveries(campaign)}
    assert statuses[ids[1]] == ("skipped", "opted_out")
    assert_counters_recounted(world, campaign)


@shared
def the_oldest_due_delivery_goes_first(world: World) -> None:
    contacts(world, 3)
    campaign = started(world)
    ids = sorted(by_id(world, campaign))
    # Retried later: the third delivery was due first.
    taken = [c.delivery.id for c in claim(world, NOW)]
    assert taken == [ids[0]]
    assert record(world, ids[0], status="pending", next_attempt_at=NOW + 5 * SECOND)
    order = [claim(world, NOW + step * SECOND)[0].delivery.id for step in (1, 2, 5)]
    assert order == [ids[1], ids[2], ids[0]]
    assert by_id(world, campaign)[ids[0]].attempts == 2


@shared
def unreachable_recipients_are_skipped_not_claimed(world: World) -> None:
    contacts(world, 3)
    campaign = started(world)
    first, second, third = world.contacts()
    with world.uow(write=True) as uow:
        uow.contacts.save(dataclasses.replace(first, opted_out=True))
        assert uow.contacts.delete(world.ana, second.id)
        uow.commit()
    [claimed] = claim(world, NOW)
    assert claimed.delivery.contact_id == third.id
    found = world.deliveries(campaign)
    assert [(d.status, d.error, d.attempts) for d in found] == [
        ("skipped", "opted_out", 0),
        ("skipped", "opted_out", 0),
        ("pending", None, 1),
    ]
    assert found[0].next_attempt_at is None
    assert_counters_recounted(world, campaign)
    assert stored_campaign(world, campaign).skipped_count == 2


# -- outcomes and leases ------------------------------------------------------------------------


@shared
def only_the_leaseholder_records_an_outcome(world: World) -> None:
    contacts(world, 2)
    campaign = started(world)
    [claimed] = claim(world, NOW)
    delivery_id = claimed.delivery.id
    before = world.deliveries(campaign)
    assert not record(world, delivery_id, worker="w2")
    assert world.deliveries(campaign) == before
    later = NOW + 2 * SECOND
    assert record(world, delivery_id, provider_message_id="wamid.1", now=later)
    done = by_id(world, campaign)[delivery_id]
    assert (done.status, done.provider_message_id, done.updated_at) == ("sent", "wamid.1", later)
    assert done.next_attempt_at is None
    assert not record(world, delivery_id, status="failed", error="boom")  # lease gone
    assert by_id(world, campaign)[delivery_id] == done
    assert_counters_recounted(world, campaign)
    # A failure, and a retry that is due again later.
    [second] = claim(world, NOW + 5 * SECOND)
    retry_at = NOW + 9 * SECOND
    assert record(
        world, second.delivery.id, status="pending", error="429", next_attempt_at=retry_at
    )
    assert claim(world, NOW + 8 * SECOND) == []
    [again] = claim(world, retry_at)
    assert (again.delivery.id, again.delivery.attempts) == (second.delivery.id, 2)
    assert record(world, again.delivery.id, status="failed", error="131026")
    assert_counters_recounted(world, campaign)
    assert stored_campaign(world, campaign).failed_count == 1


@shared
def a_sent_delivery_is_its_contacts_last_message(world: World) -> None:
    contacts(world, 3)
    campaign = started(world)
    first, second, third = sorted(claim(world, NOW, limit=3) + claim(world, NOW + SECOND, limit=3)
                                  + claim(world, NOW + 2 * SECOND, limit=3),
                                  key=lambda c: c.delivery.id)  # fmt: skip
    retry_at = NOW + 60 * SECOND
    later = NOW + 5 * SECOND
    assert record(world, first.delivery.id, now=later)
    assert record(world, second.delivery.id, status="failed", error="131026", now=later)
    assert record(world, third.delivery.id, status="pending", error="429",
                  next_attempt_at=retry_at, now=later)  # fmt: skip
    last = {c.id: c.last_message for c in world.contacts()}
    assert last == {first.delivery.contact_id: later, second.delivery.contact_id: None,
                    third.delivery.contact_id: None}  # fmt: skip
    assert len(world.deliveries(campaign)) == 3


@shared
def outcomes_of_several_campaigns_are_recorded_together(world: World) -> None:
    contacts(world, 3)
    first, second = started(world), started(world)
    set_rate(world, world.ana, 600)
    claimed = claim(world, NOW, horizon=1.0)
    assert len(claimed) == 6
    later = NOW + 2 * SECOND
    outcomes = [
        Outcome(claimed[0].delivery.id, "sent", provider_message_id="wamid.a"),
        Outcome(claimed[1].delivery.id, "failed", "131026"),
        Outcome(claimed[2].delivery.id, "pending", "429", next_attempt_at=NOW + 9 * SECOND),
        Outcome(claimed[3].delivery.id, "sent", provider_message_id="wamid.b"),
    ]
    with world.uow(write=True) as uow:
        recorded = uow.deliveries.record_outcomes("w1", outcomes, later)
        uow.commit()
    assert recorded == {o.delivery_id for o in outcomes}
    done = {d.id: d for d in world.deliveries(first) + world.deliveries(second)}
    for outcome in outcomes:
        found = done[outcome.delivery_id]
        assert (found.status, found.error, found.provider_message_id, found.updated_at) == (
            outcome.status,
            outcome.error,
            outcome.provider_message_id,
            later,
        )
        assert found.next_attempt_at == outcome.next_attempt_at
    # Another worker's outcomes, and outcomes recorded already, change nothing.
    with world.uow(write=True) as uow:
        assert (
            uow.deliveries.record_outcomes("w2", [Outcome(claimed[4].delivery.id, "sent")], later)
            == set()
        )
        assert uow.deliveries.record_outcomes("w1", outcomes[:1], later) == set()
        uow.commit()
    assert_counters_recounted(world, first)
    assert_counters_recounted(world, second)
    messaged = {claimed[0].delivery.contact_id, claimed[3].delivery.contact_id}
    assert {c.id for c in world.contacts() if c.last_message == later} == messaged


@shared
def expired_leases_are_reaped_as_unknown_outcome_and_never_resent(world: World) -> None:
    contacts(world, 1)
    campaign = started(world)
    [claimed] = claim(world, NOW)
    assert write(world, lambda r: r.reap_expired(NOW + 29 * SECOND)) == 0
    assert write(world, lambda r: r.reap_expired(NOW + 30 * SECOND)) == 1
    [reaped] = world.deliveries(campaign)
    assert (reaped.status, reaped.error, reaped.attempts) == ("failed", "unknown_outcome", 1)
    assert reaped.updated_at == NOW + 30 * SECOND
    assert not record(world, claimed.delivery.id)  # the worker comes back too late
    assert world.deliveries(campaign) == [reaped]
    assert claim(world, NOW + 100 * SECOND) == []
    assert write(world, lambda r: r.reap_expired(NOW + 100 * SECOND)) == 0
    assert_counters_recounted(world, campaign)


@shared
def cancelling_leaves_leased_deliveries_to_their_worker(world: World) -> None:
    contacts(world, 2)
    campaign = started(world)
    [claimed] = claim(world, NOW)
    assert write(world, lambda r: r.skip_pending(campaign.id, "cancelled", NOW)) == 1
    assert record(world, claimed.delivery.id)
    assert sorted(d.status for d in world.deliveries(campaign)) == ["sent", "skipped"]


@shared
def counters_equal_a_recount_after_any_sequence(world: World) -> None:
    contacts(world, 8)
    contacts(world, 3, user=world.bob, first=20)
    campaigns = [started(world), started(world, user=world.bob)]
    rng = random.Random(11)
    now = NOW
    leased: list[ClaimedDelivery] = []
    sent: list[str] = []
    for step in range(120):
        now += SECOND * rng.choice((0.5, 1, 3))
        action = rng.random()
        if action < 0.35:
            leased += claim(world, now, limit=rng.randint(1, 3), worker=rng.choice(("w1", "w2")))
        elif action < 0.7 and leased:
            item = leased.pop(rng.randrange(len(leased)))
            status = rng.choice(("sent", "failed", "pending"))
            pmid = f"m{step}" if status == "sent" else None
            record(
                world,
                item.delivery.id,
                worker=rng.choice((item.worker_id, item.worker_id, "other")),
                status=status,
                error=None if status == "sent" else "boom",
                provider_message_id=pmid,
                next_attempt_at=now + 2 * SECOND if status == "pending" else None,
                now=now,
            )
            if pmid:
                sent.append(pmid)
        elif action < 0.8:
            write(world, lambda r, now=now: r.reap_expired(now))
        elif action < 0.92 and sent:
            pmid = rng.choice(sent)
            receipt = rng.choice(("sent", "delivered", "read", "failed"))
            write(world, lambda r, p=pmid, k=receipt, now=now: r.apply_receipt(p, k, now))
        else:
            target = rng.choice(world.contacts() + world.contacts(world.bob))
            with world.uow(write=True) as uow:
                uow.contacts.save(dataclasses.replace(target, opted_out=True))
                uow.commit()
        for campaign in campaigns:
            assert_counters_recounted(world, campaign)


# -- campaigns ----------------------------------------------------------------------------------


@shared
def a_campaign_completes_when_its_last_delivery_is_recorded(world: World) -> None:
    contacts(world, 2)
    campaign = started(world)
    empty = world.campaign(Audience(tags=("nadie",)))
    set_campaign_status(world, empty, "paused")
    for step in range(2):
        [claimed] = claim(world, NOW + step * SECOND)
        assert write(world, lambda r: r.complete_finished(NOW)) == []
        assert record(world, claimed.delivery.id)
    later = NOW + 5 * SECOND
    assert write(world, lambda r: r.complete_finished(later)) == [campaign.id]
    stored = stored_campaign(world, campaign)
    assert (stored.status, stored.completed_at, stored.updated_at) == ("completed", later, later)
    assert stored_campaign(world, empty).status == "paused"
    assert write(world, lambda r: r.complete_finished(later)) == []


@shared
def failing_a_campaign_fails_what_is_not_being_sent(world: World) -> None:
    contacts(world, 3)
    campaign = started(world)
    [claimed] = claim(world, NOW)
    later = NOW + SECOND
    assert write(world, lambda r: r.fail_campaign(campaign.id, "190", later))
    stored = stored_campaign(world, campaign)
    assert (stored.status, stored.updated_at) == ("failed", later)
    found = by_id(world, campaign)
    leased = found.pop(claimed.delivery.id)
    assert leased.status == "pending"
    assert [(d.status, d.error) for d in found.values()] == [("failed", "190")] * 2
    assert_counters_recounted(world, campaign)
    assert claim(world, NOW + 10 * SECOND) == []
    assert record(world, claimed.delivery.id, status="failed", error="190")
    assert not write(world, lambda r: r.fail_campaign(campaign.id, "190", later))
    assert_counters_recounted(world, campaign)
    assert stored_campaign(world, campaign).failed_count == 3


# -- receipts -----------------------------------------------------------------------------------


@shared
def receipts_only_move_forward(world: World) -> None:
    contacts(world, 1)
    campaign = started(world)
    [claimed] = claim(world, NOW)
    assert record(world, claimed.delivery.id, provider_message_id="wamid.7")

    def receipt(kind: str, pmid: str = "wamid.7") -> bool:
        result: bool = write(world, lambda r: r.apply_receipt(pmid, kind, NOW + SECOND))
        return result

    assert not receipt("sent")  # a repeat
    assert receipt("delivered")
    assert not receipt("sent")
    assert receipt("read")
    assert not receipt("delivered")
    assert not receipt("failed")  # delivered messages never fail
    assert not receipt("read", "wamid.unknown")
    [delivery] = world.deliveries(campaign)
    assert (delivery.status, delivery.updated_at) == ("read", NOW + SECOND)
    assert_counters_recounted(world, campaign)
    stored = stored_campaign(world, campaign)
    assert (stored.sent_count, stored.delivered_count, stored.opened_count) == (1, 1, 1)


@shared
def a_failed_receipt_fails_a_sent_delivery(world: World) -> None:
    contacts(world, 1)
    campaign = started(world)
    [claimed] = claim(world, NOW)
    assert record(world, claimed.delivery.id, provider_message_id="wamid.8")
    assert write(world, lambda r: r.apply_receipt("wamid.8", "failed", NOW))
    [delivery] = world.deliveries(campaign)
    assert (delivery.status, delivery.error) == ("failed", "receipt_failed")
    assert not write(world, lambda r: r.apply_receipt("wamid.8", "delivered", NOW))
    assert_counters_recounted(world, campaign)


def _name(check: Check) -> str:
    return check.__name__


@pytest.fixture
def queue_world(uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]) -> World:
    return World(uow_factory, add_user("ana@example.com").id, add_user("bob@example.com").id)


@pytest.mark.parametrize("check", SHARED, ids=_name)
def test_sql_delivery_queue(check: Check, queue_world: World) -> None:
    check(queue_world)


@pytest.mark.parametrize("check", SHARED, ids=_name)
def test_fake_delivery_queue(check: Check) -> None:
    check(fake_world())


# -- PostgreSQL: concurrent claimers ------------------------------------------------------------


@only_postgresql  # row locks; SQLite runs one dispatcher
def test_concurrent_claimers_never_share_a_delivery(
    queue_world: World, add_user: Callable[..., User]
) -> None:
    world = queue_world
    # 20 users with 10 deliveries each: 200 in all, each user paced at 600 a minute.
    owners = [add_user(f"u{number}@example.com").id for number in range(20)]
    for index, owner in enumerate(owners):
        contacts(world, 10, user=owner, first=index * 100)
        set_rate(world, owner, 600)
        started(world, user=owner)
    claimed: dict[str, list[int]] = {f"w{n}": [] for n in range(4)}
    errors: list[BaseException] = []
    start = threading.Barrier(len(claimed))

    def run(worker: str) -> None:
        try:
            start.wait()
            now = NOW
            for _ in range(400):
                got = claim(world, now, limit=7, worker=worker)
                claimed[worker].extend(c.delivery.id for c in got)
                now += timedelta(milliseconds=25)
                if now > NOW + 10 * SECOND and not got:
                    break
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(worker,)) for worker in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    everything = [delivery_id for ids in claimed.values() for delivery_id in ids]
    assert len(everything) == len(set(everything)) == 200
    assert sum(1 for ids in claimed.values() if ids) > 1  # they did run side by side
    with world.uow() as uow:
        leased = sum(uow.deliveries.counts(c).pending_count for c in _campaign_ids(world, owners))
    assert leased == 200


def _campaign_ids(world: World, owners: list[int]) -> list[int]:
    ids = []
    with world.uow() as uow:
        for owner in owners:
            page, _ = uow.campaigns.page(owner, None, 1, 10)
            ids += [campaign.id for campaign in page]
    return ids
