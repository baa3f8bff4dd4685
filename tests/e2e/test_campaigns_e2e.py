"""Campaigns end to end: ``nexus serve`` and ``nexus worker`` as real processes on PostgreSQL
(and ``nexus serve`` alone on SQLite, dispatching in-process), driven over HTTP like the
frontend, sending through the local WhatsApp Cloud API double and the local SMTP server.

Every test works as a user of its own with phone numbers of its own (``phones``), so the
PostgreSQL tests share one server and one worker, and all share the doubles. Nothing waits a
fixed time: each test polls the API (``wait_for``) until the campaign reaches the state it
waits for, with a deadline.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.doubles.smtp_server import SmtpDouble
from tests.doubles.whatsapp_cloud import WhatsAppCloudDouble, cloud_error
from tests.e2e.support import (
    APP_SECRET,
    GMAIL_ADDRESS,
    PHONE_NUMBER_ID,
    WHATSAPP_TOKEN,
    Api,
    Server,
    act,
    counters_add_up,
    create_campaign,
    deliveries,
    read_campaign,
    wait_for,
    wait_for_status,
)

on_postgresql = pytest.mark.postgres

NAMES = ["Luis Pérez", "Marta", "Ñandú Gómez", "Eva Ruiz", "Tomás"]


def phones(block: int, count: int) -> list[str]:
    """``count`` Spanish mobile numbers that only the test using ``block`` (10 to 99) uses."""
    return [f"+346{block:02d}{n:06d}" for n in range(count)]


def wa_id(phone: str) -> str:
    """How the Cloud API names a recipient: E.164 without the ``+``."""
    return phone.removeprefix("+")


def add_contact(api: Api, name: str, **fields: Any) -> dict[str, Any]:
    contact: dict[str, Any] = api.post("/api/contacts", {"name": name, **fields}, status=201)[
        "contact"
    ]
    return contact


def sent_to(cloud: WhatsAppCloudDouble, numbers: Iterable[str]) -> Counter[str]:
    """How many requests the Cloud API double got for each of ``numbers`` (E.164)."""
    wanted = {wa_id(number) for number in numbers}
    return Counter(
        str(request.body["to"])
        for request in list(cloud.requests)
        if isinstance(request.body, dict) and request.body.get("to") in wanted
    )


def texts_to(cloud: WhatsAppCloudDouble, numbers: Iterable[str]) -> dict[str, str]:
    wanted = {wa_id(number) for number in numbers}
    return {
        str(request.body["to"]): request.body["text"]["body"]
        for request in list(cloud.requests)
        if isinstance(request.body, dict) and request.body.get("to") in wanted
    }


def by_recipient(api: Api, campaign: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {delivery["to"]: delivery for delivery in deliveries(api, campaign)}


# --- WhatsApp -------------------------------------------------------------------------------


@on_postgresql
def test_every_eligible_contact_gets_exactly_one_rendered_whatsapp_message(
    pg_server: Server, cloud: WhatsAppCloudDouble
) -> None:
    api = pg_server.user()
    reachable = phones(10, len(NAMES))
    inactive, opted_out = phones(11, 2)
    for name, phone in zip(NAMES, reachable, strict=True):
        add_contact(api, name, phone=phone)
    add_contact(api, "Inés Inactiva", phone=inactive, status="inactivo")
    add_contact(api, "Óscar De Baja", phone=opted_out, opted_out=True)
    add_contact(api, "Solo Correo", email="solo@example.com")  # no phone: not for WhatsApp
    retried, refused = reachable[1], reachable[4]
    cloud.script(wa_id(retried), cloud_error(130429))  # rate limited: tried again, then sent
    cloud.script(wa_id(refused), cloud_error(131026))  # not on WhatsApp: fails for good

    draft = create_campaign(api, audience={"all_contacts": True})
    started = act(api, draft, "send")
    assert (started["status"], started["total_recipients"]) == ("active", len(NAMES))
    done = wait_for_status(api, draft, "completed", pg_server)

    assert (done["sent_count"], done["failed_count"], done["skipped_count"]) == (4, 1, 0)
    assert done["pending_count"] == 0
    assert counters_add_up(done)
    assert done["completed_at"] is not None
    expected = {wa_id(phone): 1 for phone in reachable}
    expected[wa_id(retried)] = 2  # the 130429, then the success
    assert sent_to(cloud, [*reachable, inactive, opted_out]) == expected
    texts = texts_to(cloud, reachable)
    for name, phone in zip(NAMES, reachable, strict=True):
        assert texts[wa_id(phone)] == f"Hola {name.split()[0]}, tu número es {phone}"
    requests = [r for r in cloud.requests if r.body.get("to") in expected]
    assert {r.path for r in requests} == {f"/v21.0/{PHONE_NUMBER_ID}/messages"}
    assert {r.headers["authorization"] for r in requests} == {f"Bearer {WHATSAPP_TOKEN}"}
    assert {r.body["messaging_product"] for r in requests} == {"whatsapp"}

    found = by_recipient(api, draft)
    assert set(found) == set(reachable)
    assert (found[retried]["status"], found[retried]["attempts"]) == ("sent", 2)
    assert (found[refused]["status"], found[refused]["error"]) == ("failed", "131026")
    assert found[refused]["attempts"] == 1
    sent = [d for d in found.values() if d["status"] == "sent"]
    assert len(sent) == 4
    assert all(d["provider_message_id"].startswith("wamid.") for d in sent)
    assert len({d["provider_message_id"] for d in sent}) == 4
    assert pg_server.leaked_secrets() == []


@on_postgresql
def test_a_rejected_access_token_fails_the_campaign(
    pg_server: Server, cloud: WhatsAppCloudDouble
) -> None:
    api = pg_server.user()
    numbers = phones(12, 4)
    for n, phone in enumerate(numbers):
        add_contact(api, f"Cliente {n}", phone=phone)
        cloud.script(wa_id(phone), cloud_error(190))  # whoever is asked first, the token is bad

    draft = create_campaign(api, audience={"all_contacts": True})
    assert act(api, draft, "send")["total_recipients"] == 4
    # Sends already under way when the campaign failed are recorded by their worker after it.
    failed = wait_for_status(api, draft, "failed", pg_server, settled=True)

    assert (failed["status"], failed["failed_count"], failed["sent_count"]) == ("failed", 4, 0)
    assert counters_add_up(failed)
    asked = sent_to(cloud, numbers)
    assert set(asked.values()) == {1}  # a credential error is never retried
    found = deliveries(api, draft)
    assert {d["status"] for d in found} == {"failed"}
    assert {d["error"] for d in found if wa_id(d["to"]) in asked} == {"190"}
    api.post(f"/api/campaigns/{draft['id']}/resume", status=409)


@on_postgresql
def test_a_paused_campaign_sends_nothing_until_resumed(
    pg_server: Server, cloud: WhatsAppCloudDouble
) -> None:
    api = pg_server.user(send_rate_per_minute=120)  # two a second: slow enough to pause
    first, second = phones(13, 6), phones(14, 2)
    for n, phone in enumerate(first):
        add_contact(api, f"Primera {n}", phone=phone, tags=["primera"])
    for n, phone in enumerate(second):
        add_contact(api, f"Segunda {n}", phone=phone, tags=["segunda"])
    paused_one = create_campaign(api, name="Pausada", audience={"tags": ["primera"]})
    act(api, paused_one, "send")
    wait_for(lambda: sent_to(cloud, first), "the first message of the campaign")
    assert act(api, paused_one, "pause")["status"] == "paused"
    api.post(f"/api/campaigns/{paused_one['id']}/pause", status=409)

    # The user's next campaign goes out in full while the paused one (whose deliveries are
    # older, so first in line) waits: the worker kept dispatching and skipped it.
    other = create_campaign(api, name="Otra", audience={"tags": ["segunda"]})
    act(api, other, "send")
    wait_for_status(api, other, "completed", pg_server)
    assert sent_to(cloud, second) == {wa_id(phone): 1 for phone in second}
    while_paused = read_campaign(api, paused_one)
    messaged = sent_to(cloud, first)
    assert while_paused["status"] == "paused"
    assert 0 < len(messaged) < len(first)
    assert while_paused["sent_count"] == len(messaged)  # every send left is recorded…
    assert while_paused["pending_count"] == len(first) - len(messaged)  # …nothing else left

    assert act(api, paused_one, "resume")["status"] == "active"
    done = wait_for_status(api, paused_one, "completed", pg_server)
    assert (done["sent_count"], done["pending_count"]) == (len(first), 0)
    assert sent_to(cloud, first) == {wa_id(phone): 1 for phone in first}


@on_postgresql
def test_a_scheduled_campaign_starts_by_itself_when_due(
    pg_server: Server, cloud: WhatsAppCloudDouble
) -> None:
    api = pg_server.user()
    numbers = phones(15, 2)
    for n, phone in enumerate(numbers):
        add_contact(api, f"Agenda {n}", phone=phone)
    draft = create_campaign(api, audience={"all_contacts": True})
    due = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
    scheduled_at = due.isoformat().replace("+00:00", "Z")
    scheduled = act(api, draft, "schedule", scheduled_at=scheduled_at)
    assert (scheduled["status"], scheduled["scheduled_at"]) == ("scheduled", scheduled_at)

    done = wait_for_status(api, draft, "completed", pg_server)
    assert done["sent_at"] >= scheduled_at  # RFC 3339 in UTC, to the second: ordered as text
    assert done["total_recipients"] == done["sent_count"] == 2
    assert sent_to(cloud, numbers) == {wa_id(phone): 1 for phone in numbers}


def webhook_statuses(*receipts: tuple[str, str, str]) -> dict[str, Any]:
    """The Cloud API's status callback for (message id, recipient, status) triples."""
    statuses = [
        {
            "id": message_id,
            "status": status,
            "timestamp": str(1_800_000_000 + n),
            "recipient_id": recipient,
            **(
                {"errors": [{"code": 131026, "title": "Undeliverable"}]}
                if status == "failed"
                else {}
            ),
        }
        for n, (message_id, recipient, status) in enumerate(receipts)
    ]
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "34910000000", "phone_number_id": PHONE_NUMBER_ID},
        "statuses": statuses,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }


def meta_post(server: Server, payload: dict[str, Any], *, sign: bool = True) -> httpx.Response:
    """POST the payload to the webhook as Meta does: no cookie, no ``Origin``, signed."""
    raw = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if sign:
        digest = hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature-256"] = f"sha256={digest}"
    return httpx.post(
        f"{server.base_url}/api/webhooks/whatsapp", content=raw, headers=headers, timeout=10
    )


@on_postgresql
def test_webhook_receipts_move_the_counters(pg_server: Server, cloud: WhatsAppCloudDouble) -> None:
    api = pg_server.user()
    numbers = phones(16, 3)
    for n, phone in enumerate(numbers):
        add_contact(api, f"Recibo {n}", phone=phone)
    draft = create_campaign(api, audience={"all_contacts": True})
    act(api, draft, "send")
    sent = wait_for_status(api, draft, "completed", pg_server)
    assert (sent["sent_count"], sent["delivered_count"], sent["opened_count"]) == (3, 0, 0)
    ids = {to: d["provider_message_id"] for to, d in by_recipient(api, draft).items()}
    one, two, three = ((ids[phone], wa_id(phone)) for phone in numbers)

    payload = webhook_statuses(
        (*one, "delivered"), (*two, "delivered"), (*two, "read"), (*three, "failed")
    )
    refused = meta_post(pg_server, payload, sign=False)
    assert refused.status_code == 401, refused.text
    assert read_campaign(api, draft)["delivered_count"] == 0  # an unsigned call changes nothing
    answer = meta_post(pg_server, payload)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"ok": True, "receipts": 4, "applied": 4}
    late = meta_post(pg_server, webhook_statuses((*two, "delivered")))  # after read: ignored
    assert (late.status_code, late.json()["applied"]) == (200, 0)

    moved = read_campaign(api, draft)
    assert (moved["sent_count"], moved["delivered_count"], moved["opened_count"]) == (2, 2, 1)
    assert (moved["failed_count"], moved["pending_count"]) == (1, 0)
    assert counters_add_up(moved)
    statuses = {to: d["status"] for to, d in by_recipient(api, draft).items()}
    assert statuses == {numbers[0]: "delivered", numbers[1]: "read", numbers[2]: "failed"}


# --- email ----------------------------------------------------------------------------------


@on_postgresql
def test_every_eligible_contact_gets_exactly_one_rendered_email(
    pg_server: Server, smtp: SmtpDouble
) -> None:
    api = pg_server.user()
    emails = [f"{name.split()[0].lower()}@example.com" for name in NAMES[:3]]
    for name, email in zip(NAMES, emails, strict=False):
        add_contact(api, name, email=email)
    add_contact(api, "Buzón Inexistente", email="gone@example.com")
    add_contact(api, "Inés Inactiva", email="ines@example.com", status="inactivo")
    add_contact(api, "Óscar De Baja", email="oscar@example.com", opted_out=True)
    smtp.rcpt_replies["gone@example.com"] = "550 5.1.1 No such user"

    draft = create_campaign(
        api,
        channel="email",
        subject="¡Oferta para {first_name}!",
        message="Hola {nombre}, te escribimos a {email}.",
        audience={"all_contacts": True},
    )
    assert act(api, draft, "send")["total_recipients"] == 4
    done = wait_for_status(api, draft, "completed", pg_server)
    assert (done["sent_count"], done["failed_count"], done["pending_count"]) == (3, 1, 0)
    assert counters_add_up(done)

    mine = {*emails, "gone@example.com", "ines@example.com", "oscar@example.com"}
    received = [mail for mail in list(smtp.received) if set(mail.rcpt_tos) & mine]
    assert Counter(to for mail in received for to in mail.rcpt_tos) == dict.fromkeys(emails, 1)
    for mail in received:
        message = mail.message
        (to,) = mail.rcpt_tos
        name = NAMES[emails.index(to)]
        assert (mail.mail_from, mail.login) == (GMAIL_ADDRESS, GMAIL_ADDRESS)
        assert message["Subject"] == f"¡Oferta para {name.split()[0]}!"
        assert message.get_content().strip() == f"Hola {name}, te escribimos a {to}."
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Unsubscribe"].startswith(f"<{pg_server.base_url}/api/unsubscribe/")
    failed = by_recipient(api, draft)["gone@example.com"]
    assert (failed["status"], failed["error"], failed["attempts"]) == ("failed", "smtp_550", 1)

    # The one-click link of a received email opts its contact out (RFC 8058: a bare POST).
    link = received[0].message["List-Unsubscribe"].strip("<>")
    answer = httpx.post(link, data={"List-Unsubscribe": "One-Click"}, timeout=10)
    assert answer.status_code == 200, answer.text
    contacts = api.get("/api/contacts", params={"search": received[0].rcpt_tos[0]})["contacts"]
    assert [c["opted_out"] for c in contacts] == [True]
    assert pg_server.leaked_secrets() == []


# --- SQLite: the server dispatches by itself ------------------------------------------------


def test_on_sqlite_the_server_itself_sends_a_campaign(
    sqlite_server: Server, cloud: WhatsAppCloudDouble
) -> None:
    assert not sqlite_server.workers
    api = sqlite_server.user()
    numbers = phones(20, 3)
    opted_out = phones(21, 1)[0]
    for name, phone in zip(NAMES, numbers, strict=False):
        add_contact(api, name, phone=phone)
    add_contact(api, "Óscar De Baja", phone=opted_out, opted_out=True)

    draft = create_campaign(api, audience={"all_contacts": True})
    assert act(api, draft, "send")["total_recipients"] == 3
    done = wait_for_status(api, draft, "completed", sqlite_server)
    assert (done["sent_count"], done["pending_count"], done["failed_count"]) == (3, 0, 0)
    assert sent_to(cloud, [*numbers, opted_out]) == {wa_id(phone): 1 for phone in numbers}
    texts = texts_to(cloud, numbers)
    for name, phone in zip(NAMES, numbers, strict=False):
        assert texts[wa_id(phone)] == f"Hola {name.split()[0]}, tu número es {phone}"
