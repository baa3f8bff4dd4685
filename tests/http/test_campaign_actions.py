"""/api/campaigns/{id}/send, /schedule, /pause, /resume, /cancel, /retry-failed, /preview and
/deliveries, on SQLite and on PostgreSQL: the status machine over HTTP, the audience snapshot
into deliveries, the counters that follow them, and other users' campaigns out of reach."""

# The fixtures (client, user, two_users) are the campaign tests' own, imported: pytest finds
# them here by name, and the test parameters of those names are them, not redefinitions.
# ruff: noqa: F811

from __future__ import annotations

from typing import Any

import pytest

from tests.http.support import Client, assert_problem, with_cookie
from tests.http.test_campaigns import (  # noqa: F401 (fixtures)
    adapters,
    client,
    contact,
    create,
    force,
    future,
    two_users,
    user,
)

WHATSAPP = {"whatsapp_api_key": "EAAG-test-token-1234", "whatsapp_phone_number_id": "1098765"}


def configure_whatsapp(client: Client) -> None:
    response = client.put("/api/profile", json=WHATSAPP)
    assert response.status_code == 200, response.text


def act(client: Client, campaign: dict[str, Any], action: str, **body: Any) -> Any:
    return client.post(f"/api/campaigns/{campaign['id']}/{action}", json=body or None)


def campaign_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["campaign"]
    return found


@pytest.fixture
def ready(client: Client, user: dict[str, Any]) -> dict[str, Any]:
    """A draft to all contacts, with WhatsApp configured and three contacts, one of whom can't
    be messaged (opted out)."""
    configure_whatsapp(client)
    contact(client, "+34600000001")
    contact(client, "+34600000002")
    opted = contact(client, "+34600000003")
    assert client.put(f"/api/contacts/{opted}", json={"opted_out": True}).status_code == 200
    return create(client, audience={"all_contacts": True})


def test_send_snapshots_the_eligible_audience(client: Client, ready: dict[str, Any]) -> None:
    sent = campaign_of(act(client, ready, "send"))
    assert sent["status"] == "active"
    assert sent["total_recipients"] == sent["pending_count"] == 2
    assert sent["sent_at"] is not None
    listed = client.get(f"/api/campaigns/{ready['id']}/deliveries").json()
    assert listed["pagination"]["total"] == 2
    delivery = listed["deliveries"][0]
    assert set(delivery) == {
        "id", "contact_id", "to", "status", "error", "attempts", "provider_message_id",
        "updated_at",
    }  # fmt: skip
    assert delivery["status"] == "pending"
    assert delivery["to"] == "+34600000001"


def test_send_without_credentials_or_audience_is_a_400(
    client: Client, user: dict[str, Any]
) -> None:
    contact(client, "+34600000001")
    campaign = create(client, audience={"all_contacts": True})
    assert_problem(act(client, campaign, "send"), 400)
    configure_whatsapp(client)
    nobody = create(client, audience={"tags": ["nadie"]})
    assert_problem(act(client, nobody, "send"), 400)
    assert client.get(f"/api/campaigns/{nobody['id']}").json()["campaign"]["status"] == "draft"


def test_the_status_machine_over_http(client: Client, ready: dict[str, Any]) -> None:
    assert_problem(act(client, ready, "pause"), 409)  # a draft is not sending
    assert campaign_of(act(client, ready, "send"))["status"] == "active"
    assert_problem(act(client, ready, "send"), 409)  # repeating the current state
    assert campaign_of(act(client, ready, "pause"))["status"] == "paused"
    assert_problem(act(client, ready, "pause"), 409)
    assert campaign_of(act(client, ready, "resume"))["status"] == "active"
    cancelled = campaign_of(act(client, ready, "cancel"))
    assert cancelled["status"] == "cancelled"
    assert cancelled["pending_count"] == 0
    assert cancelled["skipped_count"] == 2
    skipped = client.get(f"/api/campaigns/{ready['id']}/deliveries?status=skipped").json()
    assert {d["error"] for d in skipped["deliveries"]} == {"cancelled"}
    assert_problem(act(client, ready, "resume"), 409)


def test_schedule_then_send_now(client: Client, ready: dict[str, Any]) -> None:
    assert_problem(act(client, ready, "schedule", scheduled_at="2001-01-01T00:00:00Z"), 400)
    assert_problem(act(client, ready, "schedule"), 400)
    scheduled = campaign_of(act(client, ready, "schedule", scheduled_at=future()))
    assert scheduled["status"] == "scheduled"
    assert scheduled["scheduled_at"] is not None
    assert_problem(act(client, ready, "schedule", scheduled_at=future()), 409)
    assert campaign_of(act(client, ready, "send"))["status"] == "active"


def test_retry_failed_needs_a_completed_campaign_with_failures(
    client: Client, ready: dict[str, Any]
) -> None:
    sent = campaign_of(act(client, ready, "send"))
    assert_problem(act(client, ready, "retry-failed"), 409)  # still active
    with adapters(client).ports.uow(write=True) as uow:  # the dispatcher's part, by hand
        connection = uow._connection  # type: ignore[attr-defined]
        connection.exec_driver_sql(
            "UPDATE deliveries SET status = 'failed', error = '131026' WHERE campaign_id = "
            f"{sent['id']}"
        )
        uow.commit()
    force(client, sent, "completed", pending_count=0, failed_count=2)
    retried = campaign_of(act(client, ready, "retry-failed"))
    assert retried["status"] == "active"
    assert retried["pending_count"] == 2
    assert retried["failed_count"] == 0
    assert retried["completed_at"] is None


def test_preview_renders_the_first_recipient(client: Client, ready: dict[str, Any]) -> None:
    response = client.get(f"/api/campaigns/{ready['id']}/preview")
    assert response.status_code == 200, response.text
    preview = response.json()["preview"]
    assert preview["message"] == "Hola C"
    assert preview["total_recipients"] == 2
    assert preview["sample_contact"]["phone"] == "+34600000001"


def test_deliveries_query_is_checked(client: Client, ready: dict[str, Any]) -> None:
    url = f"/api/campaigns/{ready['id']}/deliveries"
    assert_problem(client.get(f"{url}?status=volando&page=0"), 400)
    assert client.get(f"{url}?status=pending").json()["deliveries"] == []


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "send"),
        ("post", "pause"),
        ("post", "resume"),
        ("post", "cancel"),
        ("post", "retry-failed"),
        ("get", "preview"),
        ("get", "deliveries"),
    ],
)
def test_another_users_campaign_is_a_404(
    client: Client, two_users: tuple[str, str], method: str, path: str
) -> None:
    ana, bob = two_users
    campaign = create(client)
    with_cookie(client, bob)
    response = getattr(client, method)(f"/api/campaigns/{campaign['id']}/{path}")
    assert_problem(response, 404)
    with_cookie(client, ana)
    assert client.get(f"/api/campaigns/{campaign['id']}").json()["campaign"]["status"] == "draft"
