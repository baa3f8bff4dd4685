"""The dispatcher's round (``dispatch_once``) on the in-memory fakes, with a scripted channel:
what is sent, retried, failed, skipped; campaigns failed, completed and started on time."""

from __future__ import annotations

import dataclasses
import random
from collections import defaultdict, deque
from datetime import timedelta

import pytest

from nexus_core.domain.campaigns import Campaign
from nexus_core.domain.deliveries import Delivery
from nexus_core.domain.outbound import ChannelAccount, OutboundMessage, SendResult
from nexus_core.domain.users import User
from nexus_core.testing.fakes import (
    FakeClock,
    FakeContactFileReader,
    FakeHasher,
    FakeStore,
    FakeTokens,
)
from nexus_core.use_cases import accounts, campaign_actions, campaigns, contacts, profile
from nexus_core.use_cases.context import Ports
from nexus_core.use_cases.dispatch import DispatchReport, dispatch_once

WHATSAPP = {"whatsapp_api_key": "EAAG-token-1234", "whatsapp_phone_number_id": "1098765"}
STEP = timedelta(seconds=10)  # longer than any retry wait's first steps and the default pace


class ScriptedChannel:
    """A ``MessageChannel`` double: records every call; answers per recipient as scripted
    (``SendResult``s, or an exception to raise), then with successes."""

    def __init__(self) -> None:
        self.calls: list[tuple[ChannelAccount, OutboundMessage]] = []
        self.scripts: defaultdict[str, deque[SendResult | Exception]] = defaultdict(deque)

    def script(self, to: str, *answers: SendResult | Exception) -> None:
        self.scripts[to].extend(answers)

    def send(self, account: ChannelAccount, message: OutboundMessage) -> SendResult:
        self.calls.append((account, message))
        queue = self.scripts.get(message.to)
        answer = queue.popleft() if queue else SendResult.sent(f"wamid.{len(self.calls)}")
        if isinstance(answer, Exception):
            raise answer
        return answer

    def to(self) -> list[str]:
        return [message.to for _, message in self.calls]


@dataclasses.dataclass
class World:
    store: FakeStore
    clock: FakeClock
    ports: Ports
    ana: User
    channel: ScriptedChannel

    def configured(self) -> User:
        self.ana = profile.update_profile(self.ports, self.ana.id, WHATSAPP)
        return self.ana

    def contact(self, phone: str, name: str = "Ana García", **fields: object) -> int:
        body = {"name": name, "phone": phone, **fields}
        return contacts.create_contact(self.ports, self.ana, body).id

    def campaign(self, **fields: object) -> Campaign:
        body = {"name": "Promo", "message": "Hola {first_name} ({phone})", **fields}
        body.setdefault("audience", {"all_contacts": True})
        return campaigns.create_campaign(self.ports, self.ana.id, body)

    def sent(self, **fields: object) -> Campaign:
        draft = self.campaign(**fields)
        return campaign_actions.send_campaign(self.ports, self.configured(), draft.id)

    def stored(self, campaign: Campaign) -> Campaign:
        return self.store.state.campaigns[campaign.id]

    def deliveries(self, campaign: Campaign) -> dict[str, Delivery]:
        return {
            d.to: d for d in self.store.state.deliveries.values() if d.campaign_id == campaign.id
        }

    def waiting(self) -> bool:
        """Whether an active campaign still has a pending delivery (due later)."""
        state = self.store.state
        return any(
            d.status == "pending" and state.campaigns[d.campaign_id].status == "active"
            for d in state.deliveries.values()
        )

    def round(self) -> DispatchReport:
        return dispatch_once(
            self.ports,
            {"whatsapp": self.channel},
            worker_id="w1",
            lease_seconds=60,
            batch=10,
            rng=random.Random(7),
        )

    def drain(self, rounds: int = 30) -> list[DispatchReport]:
        """Rounds ``STEP`` apart until one finds nothing to do and nothing waits for later."""
        reports = []
        for _ in range(rounds):
            report = self.round()
            reports.append(report)
            if report.idle and not self.waiting():
                return reports
            self.clock.advance(STEP)
        raise AssertionError("the dispatcher never went idle")


@pytest.fixture
def world() -> World:
    store = FakeStore()
    clock = FakeClock()
    ports = Ports(store, FakeHasher(), FakeTokens(), clock, FakeContactFileReader())
    ana = accounts.register(ports, email="ana@example.com", password="x" * 10, name="Ana").user
    return World(store, clock, ports, ana, ScriptedChannel())


def total(reports: list[DispatchReport], field: str) -> int:
    return sum(getattr(report, field) for report in reports)


def test_every_recipient_gets_one_rendered_message_and_the_campaign_completes(
    world: World,
) -> None:
    world.contact("+34600000001", "Luis Pérez")
    world.contact("+34600000002", "Marta")
    world.contact("+34600000003", status="inactivo")
    campaign = world.sent()
    reports = world.drain()
    assert sorted(world.channel.to()) == ["+34600000001", "+34600000002"]
    texts = {message.to: message.text for _, message in world.channel.calls}
    assert texts["+34600000001"] == "Hola Luis (+34600000001)"
    assert texts["+34600000002"] == "Hola Marta (+34600000002)"
    account = world.channel.calls[0][0]
    assert account.whatsapp_phone_number_id == "1098765"
    assert (total(reports, "claimed"), total(reports, "sent"), total(reports, "completed")) == (
        2,
        2,
        1,
    )
    stored = world.stored(campaign)
    assert stored.status == "completed"
    assert stored.completed_at is not None
    assert (stored.total_recipients, stored.sent_count, stored.pending_count) == (2, 2, 0)
    for delivery in world.deliveries(campaign).values():
        assert (delivery.status, delivery.attempts, delivery.error) == ("sent", 1, None)
        assert delivery.provider_message_id is not None


def test_template_parameters_are_rendered_per_recipient(world: World) -> None:
    world.contact("+34600000001", "Luis Pérez")
    template = {"name": "promo", "language": "es", "body_params": ["{nombre}", "20%"]}
    world.sent(whatsapp_template=template)
    world.drain()
    (_, message), *_ = world.channel.calls
    assert message.template is not None
    assert (message.template.name, message.template.language) == ("promo", "es")
    assert message.template.body_params == ("Luis Pérez", "20%")


def test_a_retryable_failure_waits_then_is_sent(world: World) -> None:
    world.contact("+34600000001")
    world.channel.script("+34600000001", SendResult.failed("retryable", "http_503"))
    campaign = world.sent()
    first = world.round()
    assert (first.claimed, first.retried, first.sent) == (1, 1, 0)
    waiting = world.deliveries(campaign)["+34600000001"]
    assert (waiting.status, waiting.attempts, waiting.error) == ("pending", 1, "http_503")
    assert waiting.next_attempt_at is not None
    assert waiting.next_attempt_at > world.clock()
    assert world.round().claimed == 0  # not due yet
    world.drain()
    done = world.deliveries(campaign)["+34600000001"]
    assert (done.status, done.attempts, done.error) == ("sent", 2, None)
    assert world.channel.to() == ["+34600000001", "+34600000001"]
    assert world.stored(campaign).status == "completed"


def test_retryable_failures_give_up_after_four_calls(world: World) -> None:
    world.contact("+34600000001")
    busy = SendResult.failed("retryable", "130429")
    world.channel.script("+34600000001", busy, busy, busy, busy, busy)
    campaign = world.sent()
    world.drain()
    delivery = world.deliveries(campaign)["+34600000001"]
    assert (delivery.status, delivery.attempts, delivery.error) == ("failed", 4, "130429")
    assert len(world.channel.calls) == 4


def test_a_permanent_failure_fails_the_delivery(world: World) -> None:
    world.contact("+34600000001")
    world.contact("+34600000002")
    world.channel.script("+34600000001", SendResult.failed("permanent", "131026"))
    campaign = world.sent()
    reports = world.drain()
    assert (total(reports, "sent"), total(reports, "failed")) == (1, 1)
    failed = world.deliveries(campaign)["+34600000001"]
    assert (failed.status, failed.error, failed.attempts) == ("failed", "131026", 1)
    stored = world.stored(campaign)
    assert (stored.status, stored.sent_count, stored.failed_count) == ("completed", 1, 1)


def test_bad_credentials_fail_the_campaign(world: World) -> None:
    for n in range(1, 4):
        world.contact(f"+3460000000{n}")
    world.channel.script("+34600000001", SendResult.failed("bad_credentials", "190"))
    campaign = world.sent()
    report = world.round()
    assert report.failed_campaigns == 1
    stored = world.stored(campaign)
    assert stored.status == "failed"
    assert (stored.pending_count, stored.failed_count) == (0, 3)
    world.clock.advance(STEP)
    world.drain()
    assert world.channel.to() == ["+34600000001"]  # nothing else was sent
    assert world.deliveries(campaign)["+34600000001"].error == "190"


def test_an_unknown_outcome_fails_and_is_never_retried(world: World) -> None:
    world.contact("+34600000001")
    world.channel.script("+34600000001", SendResult.failed("unknown_outcome", "timeout"))
    campaign = world.sent()
    world.drain()
    delivery = world.deliveries(campaign)["+34600000001"]
    assert (delivery.status, delivery.error, delivery.attempts) == ("failed", "unknown_outcome", 1)
    assert len(world.channel.calls) == 1
    assert world.stored(campaign).status == "completed"


def test_a_send_that_raises_is_an_unknown_outcome_and_the_others_are_recorded(
    world: World,
) -> None:
    world.contact("+34600000001")
    campaign = world.sent()
    bob = accounts.register(world.ports, email="bob@example.com", password="y" * 10, name="Bob")
    bob_user = profile.update_profile(world.ports, bob.user.id, WHATSAPP)
    # A second user, so that both deliveries are claimed in the same round.
    contacts.create_contact(world.ports, bob_user, {"name": "Eva", "phone": "+34600000009"})
    body = {"name": "B", "message": "Hi {name}", "audience": {"all_contacts": True}}
    bobs = campaigns.create_campaign(world.ports, bob_user.id, body)
    bobs = campaign_actions.send_campaign(world.ports, bob_user, bobs.id)
    world.channel.script("+34600000001", RuntimeError("bug in the channel"))
    report = world.round()
    assert (report.claimed, report.sent, report.failed) == (2, 1, 1)
    crashed = world.deliveries(campaign)["+34600000001"]
    assert (crashed.status, crashed.error) == ("failed", "unknown_outcome")
    assert world.deliveries(bobs)["+34600000009"].status == "sent"


def test_a_contact_opted_out_after_the_snapshot_is_skipped(world: World) -> None:
    world.contact("+34600000001")
    leaving = world.contact("+34600000002")
    campaign = world.sent()
    state = world.store.state
    state.contacts[leaving] = dataclasses.replace(state.contacts[leaving], opted_out=True)
    world.drain()
    assert world.channel.to() == ["+34600000001"]
    skipped = world.deliveries(campaign)["+34600000002"]
    assert (skipped.status, skipped.error, skipped.attempts) == ("skipped", "opted_out", 0)
    stored = world.stored(campaign)
    assert (stored.status, stored.sent_count, stored.skipped_count) == ("completed", 1, 1)


def test_a_paused_campaign_sends_nothing_until_resumed(world: World) -> None:
    world.contact("+34600000001")
    campaign = world.sent()
    campaign_actions.pause_campaign(world.ports, world.ana, campaign.id)
    world.drain()
    assert world.channel.calls == []
    assert world.stored(campaign).status == "paused"
    campaign_actions.resume_campaign(world.ports, world.ana, campaign.id)
    world.drain()
    assert world.channel.to() == ["+34600000001"]
    assert world.stored(campaign).status == "completed"


def test_a_scheduled_campaign_starts_when_due(world: World) -> None:
    world.contact("+34600000001", "Luis")
    owner = world.configured()
    draft = world.campaign()
    when = world.clock() + timedelta(minutes=5)
    campaign_actions.schedule_campaign(
        world.ports, owner, draft.id, {"scheduled_at": when.isoformat()}
    )
    early = world.round()
    assert (early.started, early.claimed) == (0, 0)
    assert world.stored(draft).status == "scheduled"
    world.clock.advance(timedelta(minutes=5))
    reports = world.drain()
    assert reports[0].started == 1
    stored = world.stored(draft)
    assert (stored.status, stored.total_recipients, stored.sent_count) == ("completed", 1, 1)
    assert stored.sent_at == when
    assert world.channel.to() == ["+34600000001"]


def test_an_expired_lease_is_reaped_as_unknown_outcome(world: World) -> None:
    world.contact("+34600000001")
    campaign = world.sent()
    with world.ports.uow(write=True) as uow:  # a worker that died after claiming
        assert len(uow.deliveries.claim_due(world.clock(), 30, 10, "dead")) == 1
        uow.commit()
    world.clock.advance(timedelta(seconds=31))
    report = world.round()
    assert (report.reaped, report.completed) == (1, 1)
    assert world.deliveries(campaign)["+34600000001"].error == "unknown_outcome"
    assert world.channel.calls == []


def test_with_a_horizon_a_round_sends_at_the_users_pace(world: World) -> None:
    for n in range(8):
        world.contact(f"60011122{n}", name=f"C{n}")
    world.ana = profile.update_profile(world.ports, world.ana.id, {"send_rate_per_minute": 240})
    campaign = world.sent()
    start = world.clock()
    sent_at: list[timedelta] = []
    channel_send = world.channel.send

    def timed_send(account: ChannelAccount, message: OutboundMessage) -> SendResult:
        sent_at.append(world.clock() - start)
        return channel_send(account, message)

    world.channel.send = timed_send  # type: ignore[method-assign]
    report = dispatch_once(
        world.ports,
        {"whatsapp": world.channel},
        worker_id="w1",
        lease_seconds=60,
        batch=10,
        horizon_seconds=1.0,
        sleep=lambda seconds: world.clock.advance(timedelta(seconds=seconds)),
    )
    # 240 a minute: one every 0.25 s, four in the second's horizon, each at its time.
    quarter = timedelta(seconds=0.25)
    assert (report.claimed, report.sent) == (4, 4)
    assert sent_at == [timedelta(0), quarter, 2 * quarter, 3 * quarter]
    assert world.stored(campaign).sent_count == 4
