"""/api/webhooks/whatsapp on SQLite and on PostgreSQL: the subscription handshake, the signed
status callbacks that move deliveries and the campaign's counters (never backwards), and every
refused call changing nothing. Calls come as Meta's do: no session cookie, no ``Origin``."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import structlog.testing
from sqlalchemy.engine import URL

from nexus_core.domain.deliveries import Outcome
from nexus_http.session_cookie import COOKIE_NAME
from tests.http.support import (
    AppFactory,
    Client,
    assert_problem,
    registered,
    session_token,
    with_cookie,
)
from tests.http.test_campaigns import adapters, contact, create
from tests.postgres import empty_public_schema

PATH = "/api/webhooks/whatsapp"
APP_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
VERIFY_TOKEN = "nexus-verify-4f9a"
WEBHOOK = {"whatsapp_app_secret": APP_SECRET, "whatsapp_verify_token": VERIFY_TOKEN}
WHATSAPP = {"whatsapp_api_key": "EAAG-test-token-1234", "whatsapp_phone_number_id": "1098765"}
HANDSHAKE = {
    "hub.mode": "subscribe",
    "hub.verify_token": VERIFY_TOKEN,
    "hub.challenge": "1158201444",
}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def client(request: pytest.FixtureRequest, make_client: AppFactory) -> Client:
    """A client of an app with the webhook configured, on SQLite, then on an empty PostgreSQL
    database; not logged in."""
    if request.param == "sqlite":
        return make_client(**WEBHOOK)
    url: URL = request.getfixturevalue("postgres_session_url")
    empty_public_schema(url)
    return make_client(
        database_url=url.render_as_string(hide_password=False), db_pool_size=4, **WEBHOOK
    )


@pytest.fixture
def campaign(client: Client) -> dict[str, Any]:
    """Ana's campaign to three contacts, sent: its deliveries are ``sent`` with the provider
    ids ``wamid.1`` to ``wamid.3``. The client stays logged in as Ana."""
    registered(client)
    assert client.put("/api/profile", json=WHATSAPP).status_code == 200
    for n in range(3):
        contact(client, f"+3460000000{n}")
    draft = create(client, audience={"all_contacts": True})
    assert client.post(f"/api/campaigns/{draft['id']}/send").status_code == 200
    ports = adapters(client).ports
    now, sent = datetime.now(UTC), 0
    while sent < 3:  # the dispatcher's part: one message per user and claim (the pace)
        now += timedelta(minutes=1)
        with ports.uow(write=True) as uow:
            for claimed in uow.deliveries.claim_due(now, 60, 10, "test-worker"):
                sent += 1
                uow.deliveries.record_outcomes(
                    "test-worker",
                    [Outcome(claimed.delivery.id, "sent", provider_message_id=f"wamid.{sent}")],
                    now,
                )
            uow.commit()
    return draft


def signed(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def meta_post(
    client: Client, body: object, *, signature: str | None = "sign", **headers: str
) -> httpx.Response:
    """POST ``body`` (JSON, or raw bytes) as Meta does: signed (unless ``signature`` is given,
    or ``None``), without the session cookie or an ``Origin``."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent_headers = {"Content-Type": "application/json", **headers}
    if signature == "sign":
        sent_headers["X-Hub-Signature-256"] = signed(raw)
    elif signature is not None:
        sent_headers["X-Hub-Signature-256"] = signature
    token = client.cookies.get(COOKIE_NAME)
    origin = client.headers.pop("Origin", None)
    client.cookies.clear()
    try:
        latin1 = {k.encode("latin-1"): v.encode("latin-1") for k, v in sent_headers.items()}
        return client.post(PATH, content=raw, headers=latin1)
    finally:
        if token:
            with_cookie(client, token)
        if origin is not None:
            client.headers["Origin"] = origin


def statuses(*items: tuple[str, str]) -> dict[str, Any]:
    """A Cloud API status callback for these (provider message id, status) pairs."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": "34910000000",
                                "phone_number_id": "1098765",
                            },
                            "statuses": [
                                {
                                    "id": message_id,
                                    "status": status,
                                    "timestamp": str(1_700_000_000 + n),
                                    "recipient_id": "34600000000",
                                    **(
                                        {"errors": [{"code": 131026, "title": "Undeliverable"}]}
                                        if status == "failed"
                                        else {}
                                    ),
                                }
                                for n, (message_id, status) in enumerate(items)
                            ],
                        },
                    }
                ],
            }
        ],
    }


def acknowledged(response: httpx.Response, receipts: int, applied: int) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"ok": True, "receipts": receipts, "applied": applied}


def counters(client: Client, campaign: dict[str, Any]) -> dict[str, int]:
    response = client.get(f"/api/campaigns/{campaign['id']}")
    assert response.status_code == 200, response.text
    found = response.json()["campaign"]
    names = ("sent_count", "delivered_count", "opened_count", "failed_count", "pending_count")
    return {name: found[name] for name in names}


def delivery_statuses(client: Client, campaign: dict[str, Any]) -> dict[str, str]:
    response = client.get(f"/api/campaigns/{campaign['id']}/deliveries")
    assert response.status_code == 200, response.text
    return {d["provider_message_id"]: d["status"] for d in response.json()["deliveries"]}


def snapshot(client: Client, campaign: dict[str, Any]) -> tuple[Any, ...]:
    deliveries = client.get(f"/api/campaigns/{campaign['id']}/deliveries").json()
    return counters(client, campaign), deliveries


# --- the handshake --------------------------------------------------------------------------


def test_the_handshake_echoes_the_challenge_as_text(client: Client) -> None:
    response = client.get(PATH, params=HANDSHAKE)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "1158201444"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_handshake_with_a_wrong_token_is_403(client: Client) -> None:
    response = client.get(PATH, params={**HANDSHAKE, "hub.verify_token": "guess"})
    body = assert_problem(response, 403)
    assert "1158201444" not in response.text
    assert body["error"] == "El token de verificación no es válido"


def test_a_handshake_without_its_parameters_is_400(client: Client) -> None:
    assert_problem(client.get(PATH), 400, fields={"hub.mode", "hub.verify_token", "hub.challenge"})
    only_token = {"hub.verify_token": VERIFY_TOKEN}
    response = client.get(PATH, params=only_token)
    assert_problem(response, 400, fields={"hub.mode", "hub.challenge"})
    assert VERIFY_TOKEN not in response.text
    wrong_mode = {**HANDSHAKE, "hub.mode": "unsubscribe"}
    assert_problem(client.get(PATH, params=wrong_mode), 400, fields={"hub.mode"})


def test_without_a_configured_verify_token_every_handshake_is_403(
    make_client: AppFactory,
) -> None:
    client = make_client(whatsapp_app_secret=APP_SECRET)
    assert_problem(client.get(PATH, params=HANDSHAKE), 403)


# --- refused calls --------------------------------------------------------------------------


def test_a_call_without_a_signature_is_401_and_changes_nothing(
    client: Client, campaign: dict[str, Any]
) -> None:
    before = snapshot(client, campaign)
    body = statuses(("wamid.1", "read"))
    for header in (None, "", "sha1=" + signed(json.dumps(body).encode())[7:], "abc"):
        response = meta_post(client, body, signature=header)
        problem = assert_problem(response, 401)
        assert "X-Hub-Signature-256" in problem["error"]
    assert snapshot(client, campaign) == before


def test_a_wrong_signature_is_403_and_changes_nothing(
    client: Client, campaign: dict[str, Any]
) -> None:
    before = snapshot(client, campaign)
    body = statuses(("wamid.1", "read"), ("wamid.2", "failed"))
    raw = json.dumps(body).encode()
    for header in (
        signed(raw, secret="another-secret"),
        signed(raw + b" "),
        "sha256=",
        "sha256=" + "0" * 64,
        "sha256=é",  # sent as Latin-1, as HTTP allows
    ):
        assert_problem(meta_post(client, raw, signature=header), 403)
    response = meta_post(client, raw, signature=signed(raw + b" "), **{"Accept-Language": "en"})
    assert assert_problem(response, 403)["error"] == "The notification's signature is not valid"
    assert snapshot(client, campaign) == before


def test_without_an_app_secret_the_webhook_refuses_calls_with_503(
    make_client: AppFactory,
) -> None:
    client = make_client(whatsapp_verify_token=VERIFY_TOKEN)
    body = assert_problem(meta_post(client, statuses(("wamid.1", "read"))), 503)
    assert body["error"] == "El webhook de WhatsApp no está configurado en este servidor"
    assert client.get(PATH, params=HANDSHAKE).text == "1158201444"


def test_malformed_json_with_a_valid_signature_is_400(
    client: Client, campaign: dict[str, Any]
) -> None:
    before = snapshot(client, campaign)
    too_deep = b"[" * 100_000 + b"]" * 100_000
    for raw in (b'{"object": "whatsapp_business_account", ', b"\xff\xfe{}", b"", b"[1,]", too_deep):
        body = assert_problem(meta_post(client, raw), 400)
        assert body["error"] == "El cuerpo de la solicitud no es JSON válido"
    assert snapshot(client, campaign) == before


def test_a_payload_missing_what_it_needs_is_400_naming_it_and_applies_nothing(
    client: Client, campaign: dict[str, Any]
) -> None:
    before = snapshot(client, campaign)
    body = statuses(("wamid.1", "read"), ("wamid.2", "read"))
    del body["entry"][0]["changes"][0]["value"]["statuses"][1]["timestamp"]
    response = meta_post(client, body)
    assert_problem(response, 400, fields={"entry.0.changes.0.value.statuses.1.timestamp"})
    assert_problem(meta_post(client, [body]), 400)
    assert snapshot(client, campaign) == before


# --- receipts -------------------------------------------------------------------------------


def test_delivered_then_read_move_the_delivery_and_the_counters(
    client: Client, campaign: dict[str, Any]
) -> None:
    assert counters(client, campaign) == {
        "sent_count": 3, "delivered_count": 0, "opened_count": 0, "failed_count": 0,
        "pending_count": 0,
    }  # fmt: skip
    acknowledged(meta_post(client, statuses(("wamid.1", "delivered"))), 1, 1)
    assert counters(client, campaign)["delivered_count"] == 1
    assert delivery_statuses(client, campaign)["wamid.1"] == "delivered"
    acknowledged(meta_post(client, statuses(("wamid.1", "read"))), 1, 1)
    found = counters(client, campaign)
    assert (found["sent_count"], found["delivered_count"], found["opened_count"]) == (3, 1, 1)
    assert delivery_statuses(client, campaign) == {
        "wamid.1": "read", "wamid.2": "sent", "wamid.3": "sent",
    }  # fmt: skip


def test_a_late_delivered_after_read_is_ignored(client: Client, campaign: dict[str, Any]) -> None:
    acknowledged(meta_post(client, statuses(("wamid.2", "read"))), 1, 1)
    before = snapshot(client, campaign)
    acknowledged(meta_post(client, statuses(("wamid.2", "delivered"))), 1, 0)
    assert snapshot(client, campaign) == before
    assert delivery_statuses(client, campaign)["wamid.2"] == "read"


def test_a_repeated_receipt_changes_nothing(client: Client, campaign: dict[str, Any]) -> None:
    body = statuses(("wamid.3", "delivered"))
    acknowledged(meta_post(client, body), 1, 1)
    before = snapshot(client, campaign)
    acknowledged(meta_post(client, body), 1, 0)
    assert snapshot(client, campaign) == before
    assert counters(client, campaign)["delivered_count"] == 1


def test_an_unknown_message_id_changes_nothing(client: Client, campaign: dict[str, Any]) -> None:
    before = snapshot(client, campaign)
    body = statuses(("wamid.someone-elses", "read"), ("wamid.\u0000", "read"), ("", "read"))
    acknowledged(meta_post(client, body), 3, 0)
    assert snapshot(client, campaign) == before


def test_failed_after_sent_counts_as_failed(client: Client, campaign: dict[str, Any]) -> None:
    acknowledged(meta_post(client, statuses(("wamid.2", "failed"))), 1, 1)
    found = counters(client, campaign)
    assert (found["sent_count"], found["failed_count"]) == (2, 1)
    listed = client.get(f"/api/campaigns/{campaign['id']}/deliveries?status=failed").json()
    (failed,) = listed["deliveries"]
    assert (failed["provider_message_id"], failed["status"]) == ("wamid.2", "failed")
    assert failed["error"]


def test_several_statuses_in_one_call_are_all_applied(
    client: Client, campaign: dict[str, Any]
) -> None:
    body = statuses(
        ("wamid.1", "delivered"),
        ("wamid.1", "read"),
        ("wamid.2", "delivered"),
        ("wamid.3", "failed"),
        ("wamid.3", "deleted"),  # a status we do not handle: ignored
    )
    acknowledged(meta_post(client, body), 5, 4)
    assert delivery_statuses(client, campaign) == {
        "wamid.1": "read", "wamid.2": "delivered", "wamid.3": "failed",
    }  # fmt: skip
    assert counters(client, campaign) == {
        "sent_count": 2, "delivered_count": 2, "opened_count": 1, "failed_count": 1,
        "pending_count": 0,
    }  # fmt: skip


@pytest.mark.parametrize(
    "body",
    [
        {"object": "page", "entry": [{"id": "1", "changes": [{"field": "feed", "value": {}}]}]},
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "1",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {"phone_number_id": "1098765"},
                                "contacts": [{"profile": {"name": "Luis"}, "wa_id": "346"}],
                                "messages": [{"from": "346", "id": "wamid.in", "type": "text"}],
                            },
                        },
                        {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}},
                    ],
                }
            ],
        },
    ],
    ids=["another-object", "inbound-message-and-account-update"],
)
def test_a_signed_payload_of_a_kind_we_do_not_handle_is_acknowledged(
    client: Client, campaign: dict[str, Any], body: dict[str, Any]
) -> None:
    before = snapshot(client, campaign)
    acknowledged(meta_post(client, body), 0, 0)
    assert snapshot(client, campaign) == before


def test_a_call_with_the_session_cookie_and_no_origin_is_still_refused(
    client: Client, campaign: dict[str, Any]
) -> None:
    """The CSRF rule is not loosened for the webhook: only cookie-less calls are Meta's."""
    raw = json.dumps(statuses(("wamid.1", "read"))).encode()
    with_cookie(client, session_token(client))
    client.headers.pop("Origin", None)
    response = client.post(
        PATH,
        content=raw,
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signed(raw)},
    )
    assert_problem(response, 403)
    assert delivery_statuses(client, campaign)["wamid.1"] == "sent"


def test_the_webhook_is_documented(client: Client) -> None:
    paths = client.get("/schema/openapi.json").json()["paths"]
    webhook = paths[PATH]
    assert {"200", "400", "403"} <= set(webhook["get"]["responses"])
    assert "text/plain" in webhook["get"]["responses"]["200"]["content"]
    assert {p["name"] for p in webhook["get"]["parameters"]} == {
        "hub.mode",
        "hub.verify_token",
        "hub.challenge",
    }
    assert {"200", "400", "401", "403", "503"} <= set(webhook["post"]["responses"])


def test_the_log_never_shows_the_verify_token_or_a_signature(client: Client) -> None:
    # The log's events themselves (what any renderer writes), whatever stream the app's
    # logger was bound to when the fixture made it.
    with structlog.testing.capture_logs() as events:
        assert client.get(PATH, params=HANDSHAKE).status_code == 200
        forged = {**HANDSHAKE, "hub.verify_token": "a-guess"}
        assert client.get(PATH, params=forged).status_code == 403
        raw = json.dumps(statuses(("wamid.1", "read"))).encode()
        acknowledged(meta_post(client, raw), 1, 0)
        assert_problem(meta_post(client, raw, signature=signed(raw, "another-secret")), 403)
    requests = [e for e in events if e.get("event") == "request" and e.get("path") == PATH]
    assert len(requests) == 4
    logged = repr(events)
    for secret in (VERIFY_TOKEN, "a-guess", APP_SECRET, signed(raw)[7:], "1158201444"):
        assert secret not in logged
