"""GET /api/stats and its alias /api/dashboard/stats, on SQLite and on PostgreSQL: the
contract's shape, every figure after contacts, an import, a campaign, its dispatch and
receipts, the days in the user's timezone, agreement with the contacts' and campaigns' stats,
and other users' figures out of sight."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import URL

from nexus_core.domain.campaign_status import CAMPAIGN_STATUSES
from nexus_core.domain.deliveries import Outcome
from tests.http.support import (
    AppFactory,
    Client,
    FakeClock,
    assert_problem,
    login,
    registered,
    session_token,
    with_cookie,
)
from tests.http.test_campaigns import adapters, contact, create
from tests.postgres import empty_public_schema

WHATSAPP = {"whatsapp_api_key": "EAAG-test-token-1234", "whatsapp_phone_number_id": "1098765"}
STATS_FIELDS = {
    "total_contacts",
    "active_contacts",
    "inactive_contacts",
    "opted_out_contacts",
    "new_contacts",
    "total_campaigns",
    "active_campaigns",
    "completed_campaigns",
    "campaigns_by_status",
    "total_messages_sent",
    "delivered",
    "read",
    "failed",
    "delivery_rate",
    "read_rate",
    "imports",
    "contacts_imported",
    "daily",
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def client(request: pytest.FixtureRequest, make_client: AppFactory, clock: FakeClock) -> Client:
    """A client of an app whose clock the test moves, on SQLite, then on PostgreSQL."""
    if request.param == "sqlite":
        return make_client(ports={"clock": clock})
    url: URL = request.getfixturevalue("postgres_session_url")
    empty_public_schema(url)
    return make_client(
        database_url=url.render_as_string(hide_password=False),
        db_pool_size=4,
        ports={"clock": clock},
    )


def stats(client: Client, path: str = "/api/stats") -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["stats"]
    return found


def today_in(timezone: str, clock: FakeClock) -> date:
    return clock().astimezone(zoneinfo.ZoneInfo(timezone)).date()


def dispatch(client: Client, clock: FakeClock, *statuses: str) -> list[str]:
    """The dispatcher's part: one claim per status given, recorded with it (``sent`` ones
    get the provider ids ``wamid.<delivery id>``)."""
    ports = adapters(client).ports
    ids = []
    for status in statuses:
        clock.advance(minutes=1)
        with ports.uow(write=True) as uow:
            (claimed,) = uow.deliveries.claim_due(clock(), 60, 1, "test-worker")
            message_id = f"wamid.{claimed.delivery.id}" if status == "sent" else None
            outcome = Outcome(claimed.delivery.id, status, provider_message_id=message_id)  # type: ignore[arg-type]
            uow.deliveries.record_outcomes("test-worker", [outcome], clock())
            uow.commit()
        ids.append(message_id or "")
    return ids


def receipt(client: Client, clock: FakeClock, message_id: str, status: str) -> None:
    with adapters(client).ports.uow(write=True) as uow:
        assert uow.deliveries.apply_receipt(message_id, status, clock())  # type: ignore[arg-type]
        uow.commit()


def seed(client: Client, clock: FakeClock) -> dict[str, Any]:
    """Ana's account: 4 contacts by hand (one inactive, one opted out), 2 imported, a
    campaign to the 4 reachable ones, 3 sent (one read, one delivered) and 1 failed."""
    assert client.put("/api/profile", json=WHATSAPP).status_code == 200
    contact(client, "+34600000001")
    opted = contact(client, "+34600000002")
    assert client.put(f"/api/contacts/{opted}", json={"opted_out": True}).status_code == 200
    inactive = contact(client, "+34600000003")
    assert client.put(f"/api/contacts/{inactive}", json={"status": "inactivo"}).status_code == 200
    contact(client, "+34600000004")
    imported = client.post(
        "/api/contacts/import",
        files={"file": ("c.csv", b"name,phone\nAna,+34600000005\nLuis,+34600000006\n")},
    )
    assert imported.status_code == 201, imported.text
    campaign = create(client, audience={"all_contacts": True})
    assert client.post(f"/api/campaigns/{campaign['id']}/send").status_code == 200
    create(client)  # a draft
    first, second, _, _ = dispatch(client, clock, "sent", "sent", "sent", "failed")
    receipt(client, clock, first, "read")
    receipt(client, clock, second, "delivered")
    return campaign


def test_a_new_user_gets_zeros_and_thirty_empty_days(client: Client, clock: FakeClock) -> None:
    registered(client)
    body = client.get("/api/stats").json()
    assert set(body) == {"stats"}
    found = body["stats"]
    assert set(found) == STATS_FIELDS
    assert found["campaigns_by_status"] == dict.fromkeys(CAMPAIGN_STATUSES, 0)
    assert found["delivery_rate"] == found["read_rate"] == 0.0
    assert isinstance(found["delivery_rate"], float)
    assert all(found[name] == 0 for name in STATS_FIELDS - {"campaigns_by_status", "daily"})
    days = found["daily"]
    assert len(days) == 30
    today = today_in("Europe/Madrid", clock)
    assert [row["date"] for row in days] == [
        (today - timedelta(days=n)).isoformat() for n in range(29, -1, -1)
    ]
    assert all(
        row == {"date": row["date"], "sent": 0, "delivered": 0, "read": 0, "failed": 0}
        for row in days
    )


def test_the_dashboard_counts_everything_the_contract_names(
    client: Client, clock: FakeClock
) -> None:
    registered(client)
    seed(client, clock)
    found = stats(client)
    assert {name: found[name] for name in STATS_FIELDS - {"daily", "campaigns_by_status"}} == {
        "total_contacts": 6,
        "active_contacts": 5,
        "inactive_contacts": 1,
        "opted_out_contacts": 1,
        "new_contacts": 6,
        "total_campaigns": 2,
        "active_campaigns": 1,
        "completed_campaigns": 0,
        "total_messages_sent": 3,
        "delivered": 2,
        "read": 1,
        "failed": 1,
        "delivery_rate": pytest.approx(2 / 3),
        "read_rate": pytest.approx(1 / 3),
        "imports": 1,
        "contacts_imported": 2,
    }
    assert found["campaigns_by_status"] == {
        **dict.fromkeys(CAMPAIGN_STATUSES, 0),
        "draft": 1,
        "active": 1,
    }
    today = found["daily"][-1]
    assert today == {
        "date": today_in("Europe/Madrid", clock).isoformat(),
        "sent": 3,
        "delivered": 2,
        "read": 1,
        "failed": 1,
    }
    assert sum(row["sent"] for row in found["daily"]) == found["total_messages_sent"]


def test_the_alias_path_answers_the_same(client: Client, clock: FakeClock) -> None:
    registered(client)
    seed(client, clock)
    assert stats(client, "/api/dashboard/stats") == stats(client)


def test_the_contacts_and_campaigns_stats_agree_with_the_dashboard(
    client: Client, clock: FakeClock
) -> None:
    registered(client)
    seed(client, clock)
    found = stats(client)
    contacts = client.get("/api/contacts/stats").json()["stats"]
    assert contacts == {
        "total_contacts": found["total_contacts"],
        "active_contacts": found["active_contacts"],
        "inactive_contacts": found["inactive_contacts"],
        "recent_contacts": found["new_contacts"],
    }
    campaigns = client.get("/api/campaigns/stats").json()["stats"]
    assert campaigns["total_campaigns"] == found["total_campaigns"]
    assert campaigns["by_status"] == found["campaigns_by_status"]
    assert (campaigns["sent"], campaigns["delivered"]) == (found["total_messages_sent"], 2)
    assert (campaigns["opened"], campaigns["failed"]) == (found["read"], found["failed"])


def test_days_move_with_the_users_timezone_and_events_with_theirs(
    client: Client, clock: FakeClock
) -> None:
    registered(client)
    # 23:30 UTC: already tomorrow in Kiritimati (UTC+14), still today in Honolulu (UTC-10).
    clock.now = clock.now.replace(hour=23, minute=30, second=0, microsecond=0)
    seed(client, clock)
    for timezone in ("Pacific/Kiritimati", "Pacific/Honolulu", "Asia/Kathmandu"):
        assert client.put("/api/profile", json={"timezone": timezone}).status_code == 200
        days = stats(client)["daily"]
        assert len(days) == 30
        assert days[-1]["date"] == today_in(timezone, clock).isoformat()
        assert days[-1]["sent"] == 3
        assert sum(row["failed"] for row in days) == 1


def test_a_failed_receipt_days_later_moves_the_message_and_old_days_leave(
    client: Client, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    registered(client)
    assert client.put("/api/profile", json={"timezone": "UTC"}).status_code == 200
    campaign = seed(client, clock)
    sent_day = stats(client)["daily"][-1]
    assert (sent_day["date"], sent_day["sent"], sent_day["failed"]) == ("2026-11-20", 3, 1)
    clock.advance(days=3)
    with adapters(client).ports.uow() as uow:
        (only_sent,), _ = uow.deliveries.page(campaign["user_id"], campaign["id"], "sent", 1, 10)
    assert only_sent.provider_message_id is not None
    receipt(client, clock, only_sent.provider_message_id, "failed")
    days = {row["date"]: row for row in stats(client)["daily"]}
    assert (days["2026-11-20"]["sent"], days["2026-11-23"]["failed"]) == (2, 1)
    found = stats(client)
    assert (found["total_messages_sent"], found["failed"]) == (2, 2)
    clock.advance(days=40)
    assert login(client).status_code == 200  # the session expired meanwhile
    later = stats(client)
    assert all(row["sent"] == row["failed"] == 0 for row in later["daily"])
    assert later["total_messages_sent"] == 2
    assert later["new_contacts"] == 0


def test_another_users_figures_never_show(client: Client, clock: FakeClock) -> None:
    registered(client)
    ana = session_token(client)
    seed(client, clock)
    client.cookies.clear()
    registered(client, email="bob@example.com", name="Bob")
    bob = stats(client)
    assert all(bob[name] == 0 for name in STATS_FIELDS - {"campaigns_by_status", "daily"})
    assert all(row["sent"] == row["failed"] == 0 for row in bob["daily"])
    with_cookie(client, ana)
    assert stats(client)["total_messages_sent"] == 3


def test_without_a_session_it_is_401_on_both_paths(client: Client) -> None:
    for path in ("/api/stats", "/api/dashboard/stats"):
        assert_problem(client.get(path), 401)
