"""The dispatcher end to end on SQLite and PostgreSQL: a campaign created and sent through the
use cases, rounds of ``dispatch_once`` (sends on a thread pool) through the real WhatsApp
channel to the local Cloud API double, until nothing is left to do."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from nexus_adapters.channels.whatsapp import WhatsAppCloudChannel
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_adapters.worker import ready_runs
from nexus_core.domain.campaigns import Campaign
from nexus_core.domain.users import User
from nexus_core.testing.fakes import FakeClock, FakeContactFileReader, FakeHasher, FakeTokens
from nexus_core.use_cases import accounts, campaign_actions, campaigns, contacts, profile
from nexus_core.use_cases.context import Ports
from nexus_core.use_cases.dispatch import DispatchReport, dispatch_once
from tests.adapters.databases import only_postgresql
from tests.doubles.whatsapp_cloud import WhatsAppCloudDouble, cloud_error

TOKEN = "EAAG-test-token-1234"
PHONE_NUMBER_ID = "1098765"
NAMES = ["Luis Pérez", "Marta", "Ñandú Gómez", "Eva", "Tomás Ruiz"]
PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cloud() -> Iterator[WhatsAppCloudDouble]:
    with WhatsAppCloudDouble() as double:
        yield double


@pytest.fixture
def fresh_cloud(cloud: WhatsAppCloudDouble) -> WhatsAppCloudDouble:
    cloud.reset()
    return cloud


def phone(n: int) -> str:
    return f"+3460000{n:04d}"


def make_ports(uow_factory: SqlUnitOfWorkFactory, clock: FakeClock) -> Ports:
    return Ports(uow_factory, FakeHasher(), FakeTokens(), clock, FakeContactFileReader())


def owner_with_contacts(ports: Ports) -> User:
    """Ana, with the WhatsApp credentials and five reachable contacts, one inactive, one
    opted out."""
    ana = accounts.register(ports, email="ana@example.com", password="x" * 10, name="Ana").user
    ana = profile.update_profile(
        ports,
        ana.id,
        {
            "whatsapp_api_key": TOKEN,
            "whatsapp_phone_number_id": PHONE_NUMBER_ID,
            "send_rate_per_minute": 600,  # the real-clock tests need not wait a second a message
        },
    )
    for n, name in enumerate(NAMES):
        contacts.create_contact(ports, ana, {"name": name, "phone": phone(n)})
    contacts.create_contact(ports, ana, {"name": "Off", "phone": phone(90), "status": "inactivo"})
    contacts.create_contact(ports, ana, {"name": "Out", "phone": phone(91), "opted_out": True})
    return ana


def start_campaign(ports: Ports, ana: User) -> Campaign:
    body = {
        "name": "Promo",
        "message": "Hola {first_name}, tu número es {phone}",
        "audience": {"all_contacts": True},
    }
    draft = campaigns.create_campaign(ports, ana.id, body)
    started = campaign_actions.send_campaign(ports, ana, draft.id)
    assert (started.status, started.total_recipients) == ("active", len(NAMES))
    return started


def stored(ports: Ports, campaign: Campaign) -> Campaign:
    with ports.uow() as uow:
        found = uow.campaigns.get(campaign.user_id, campaign.id)
    assert found is not None
    return found


def test_every_recipient_gets_exactly_one_rendered_message(
    uow_factory: SqlUnitOfWorkFactory, fresh_cloud: WhatsAppCloudDouble
) -> None:
    clock = FakeClock()
    ports = make_ports(uow_factory, clock)
    ana = owner_with_contacts(ports)
    fresh_cloud.script(phone(1).removeprefix("+"), cloud_error(131016))  # retried, then sent
    fresh_cloud.script(phone(4).removeprefix("+"), cloud_error(131026))  # not on WhatsApp
    campaign = start_campaign(ports, ana)
    reports: list[DispatchReport] = []
    with (
        WhatsAppCloudChannel(fresh_cloud.base_url) as channel,
        ThreadPoolExecutor(8) as executor,
    ):
        for _ in range(40):
            report = dispatch_once(
                ports,
                {"whatsapp": channel},
                worker_id="test-worker",
                lease_seconds=120,
                batch=16,
                send=ready_runs(executor),
            )
            reports.append(report)
            if stored(ports, campaign).status == "completed":
                break
            clock.advance(timedelta(seconds=10))
    final = stored(ports, campaign)
    assert final.status == "completed"
    assert (final.total_recipients, final.pending_count) == (5, 0)
    assert (final.sent_count, final.failed_count, final.skipped_count) == (4, 1, 0)
    assert sum(r.sent for r in reports) == 4
    assert sum(r.retried for r in reports) == 1
    assert sum(r.failed for r in reports) == 1

    requests = fresh_cloud.requests
    assert {r.path for r in requests} == {f"/v21.0/{PHONE_NUMBER_ID}/messages"}
    assert {r.headers["authorization"] for r in requests} == {f"Bearer {TOKEN}"}
    calls = Counter(r.body["to"] for r in requests)
    expected = {phone(n).removeprefix("+"): 1 for n in range(len(NAMES))}
    expected[phone(1).removeprefix("+")] = 2  # the retryable answer, then the success
    assert calls == expected
    accepted = {r.body["to"]: r.body["text"]["body"] for r in requests}
    for n, name in enumerate(NAMES):
        first = name.split()[0]
        assert accepted[phone(n).removeprefix("+")] == f"Hola {first}, tu número es {phone(n)}"

    with ports.uow() as uow:
        deliveries, _ = uow.deliveries.page(ana.id, campaign.id, None, 1, 50)
    by_to = {d.to: d for d in deliveries}
    assert (by_to[phone(1)].status, by_to[phone(1)].attempts) == ("sent", 2)
    assert (by_to[phone(4)].status, by_to[phone(4)].error) == ("failed", "131026")
    assert all(d.provider_message_id for d in deliveries if d.status == "sent")

    again = dispatch_once(
        ports, {"whatsapp": channel}, worker_id="test-worker", lease_seconds=120, batch=16
    )
    assert again.idle
    assert len(fresh_cloud.requests) == len(requests)


@only_postgresql
def test_the_nexus_worker_process_sends_a_campaign(
    database_url: str,
    uow_factory: SqlUnitOfWorkFactory,
    encryption_key: str,
    fresh_cloud: WhatsAppCloudDouble,
    tmp_path: Path,
) -> None:
    """``nexus worker`` as a real process, with the real clock, until SIGTERM."""
    from nexus_adapters.bootstrap import utc_now

    ports = Ports(uow_factory, FakeHasher(), FakeTokens(), utc_now, FakeContactFileReader())
    ana = owner_with_contacts(ports)
    campaign = start_campaign(ports, ana)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "NEXUS_ENCRYPTION_KEYS": encryption_key,
        "SECRET_KEY": "x" * 64,
        "NEXUS_WHATSAPP_API_URL": fresh_cloud.base_url,
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "nexus_http.cli", "worker"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(PROJECT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and stored(ports, campaign).status != "completed":
            time.sleep(0.2)
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert "dispatching for database" in output
    assert TOKEN not in output
    assert encryption_key not in output
    final = stored(ports, campaign)
    assert (final.status, final.sent_count, final.pending_count) == ("completed", 5, 0)
    assert Counter(r.body["to"] for r in fresh_cloud.requests) == {
        phone(n).removeprefix("+"): 1 for n in range(len(NAMES))
    }
