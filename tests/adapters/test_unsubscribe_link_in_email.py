"""The unsubscribe link end to end, on SQLite and PostgreSQL: the dispatcher, wired from the
settings as ``nexus worker`` and ``nexus serve`` wire it, sends an email campaign through the
real SMTP channel to a local SMTP server; each message carries its contact's one-click link
(RFC 8058 headers), and the server's one-click POST to that very link opts the contact out."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
from litestar.testing import TestClient

from nexus_adapters.bootstrap import (
    Adapters,
    build_adapters,
    build_channels,
    migrate,
    unsubscribe_links,
)
from nexus_adapters.config import Settings
from nexus_adapters.worker import IN_PROCESS_DISPATCHER_ENV, Dispatcher
from nexus_core.domain.campaigns import Campaign
from nexus_core.domain.contact_queries import parse_contact_query
from nexus_core.domain.users import User
from nexus_core.testing.fakes import FakeHasher
from nexus_core.use_cases import accounts, campaign_actions, campaigns, contacts, profile
from nexus_core.use_cases.dispatch import DispatchReport
from tests.adapters.databases import only_sqlite
from tests.doubles.smtp_server import ReceivedMail, SmtpDouble
from tests.http.support import build_app

SENDER = "tienda.ana@gmail.com"
APP_PASSWORD = "qwer tyui opas dfgh"
PUBLIC_URL = "https://nexus.example.com"
RECIPIENTS = {"luis@example.com": "Luis Pérez", "eva@example.com": "Eva"}
ONE_CLICK = "List-Unsubscribe=One-Click"


@pytest.fixture
def smtp() -> Iterator[SmtpDouble]:
    with SmtpDouble(user=SENDER, password=APP_PASSWORD) as server:
        yield server


@pytest.fixture
def settings(database_url: str, smtp: SmtpDouble) -> Settings:
    settings = Settings(
        database_url=database_url,
        secret_key="u" * 64,
        public_url=PUBLIC_URL + "/",  # a trailing slash is not doubled in the links
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_starttls=False,
        db_pool_size=4,
    )
    migrate(settings)
    return settings


@pytest.fixture
def adapters(settings: Settings) -> Iterator[Adapters]:
    built = build_adapters(settings)
    fast = dataclasses.replace(built, ports=dataclasses.replace(built.ports, hasher=FakeHasher()))
    yield fast
    fast.close()


def owner_with_contacts(adapters: Adapters) -> User:
    ports = adapters.ports
    ana = accounts.register(ports, email="ana@example.com", password="x" * 10, name="Ana").user
    ana = profile.update_profile(
        ports,
        ana.id,
        {"gmail_address": SENDER, "gmail_api_key": APP_PASSWORD, "send_rate_per_minute": 600},
    )
    for email, name in RECIPIENTS.items():
        contacts.create_contact(ports, ana, {"name": name, "email": email})
    return ana


def send_email_campaign(adapters: Adapters, ana: User) -> Campaign:
    body = {
        "name": "Rebajas",
        "channel": "email",
        "subject": "Hola {first_name}",
        "message": "Hola {nombre}, ¡rebajas!",
        "audience": {"all_contacts": True},
    }
    draft = campaigns.create_campaign(adapters.ports, ana.id, body)
    return campaign_actions.send_campaign(adapters.ports, ana, draft.id)


def stored(adapters: Adapters, campaign: Campaign) -> Campaign:
    with adapters.ports.uow() as uow:
        found = uow.campaigns.get(campaign.user_id, campaign.id)
    assert found is not None
    return found


def links_by_recipient(smtp: SmtpDouble) -> dict[str, str]:
    """Each received message's ``List-Unsubscribe`` link, checked for the RFC 8058 headers."""
    links: dict[str, str] = {}
    for mail in smtp.received:
        links[mail.rcpt_tos[0]] = the_link(mail)
    return links


def the_link(mail: ReceivedMail) -> str:
    message = mail.message
    assert message["List-Unsubscribe-Post"] == ONE_CLICK
    header = message["List-Unsubscribe"]
    assert header.startswith(f"<{PUBLIC_URL}/api/unsubscribe/")
    assert header.endswith(">")
    # Unfolded on the wire, so that every mail client reads it as one URL.
    assert f"\r\nList-Unsubscribe: {header}\r\n".encode() in mail.content
    return str(header[1:-1])


def subscribed(adapters: Adapters, owner: User) -> dict[str, bool]:
    """Whether each of the owner's contacts may still be messaged, by email."""
    with adapters.ports.uow() as uow:
        found, _ = uow.contacts.page(owner.id, parse_contact_query({}))
    return {contact.email or "": not contact.opted_out for contact in found}


def test_each_email_carries_its_contacts_link_and_a_one_click_post_to_it_opts_out(
    settings: Settings, adapters: Adapters, smtp: SmtpDouble
) -> None:
    ana = owner_with_contacts(adapters)
    campaign = send_email_campaign(adapters, ana)
    channels = build_channels(settings)
    dispatcher = Dispatcher(
        adapters.ports,
        channels.by_channel,
        worker_id="test-worker",
        unsubscribe_url=unsubscribe_links(settings),
    )
    reports: list[DispatchReport] = []
    with ThreadPoolExecutor(4) as executor:
        # Rounds as the loop runs them, until the user's pace has let every message go.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and stored(adapters, campaign).status != "completed":
            reports.append(dispatcher.round(executor))
            time.sleep(0.05)
    channels.close()
    assert stored(adapters, campaign).status == "completed"
    assert sum(r.sent for r in reports) == len(RECIPIENTS)
    assert sum(r.failed + r.retried for r in reports) == 0

    links = links_by_recipient(smtp)
    assert links.keys() == RECIPIENTS.keys()
    assert len(set(links.values())) == len(RECIPIENTS)  # one link per contact

    with TestClient(build_app(settings, run_migrations=False), base_url=PUBLIC_URL) as client:
        target = urlsplit(links["luis@example.com"])
        response = client.post(
            target.path,
            content=ONE_CLICK,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200, response.text

    assert subscribed(adapters, ana) == {"luis@example.com": False, "eva@example.com": True}


@only_sqlite
def test_nexus_serve_dispatches_emails_with_the_link(
    settings: Settings,
    adapters: Adapters,
    smtp: SmtpDouble,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The in-process dispatcher of ``nexus serve`` on SQLite signs links the server reads."""
    ana = owner_with_contacts(adapters)
    campaign = send_email_campaign(adapters, ana)
    monkeypatch.setenv(IN_PROCESS_DISPATCHER_ENV, "1")

    with TestClient(build_app(settings, run_migrations=False), base_url=PUBLIC_URL) as client:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and stored(adapters, campaign).status != "completed":
            time.sleep(0.05)
        assert stored(adapters, campaign).status == "completed"
        link = links_by_recipient(smtp)["eva@example.com"]
        page = client.get(urlsplit(link).path)
        assert page.status_code == 200, page.text

    assert subscribed(adapters, ana) == {"luis@example.com": True, "eva@example.com": False}
