"""/api/campaigns: create, list, read, partial update, delete and stats, on SQLite and on
PostgreSQL (the actions — send, schedule, … — are not here yet)."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import URL

from nexus_adapters.bootstrap import Adapters
from nexus_core.domain.campaign_status import CAMPAIGN_STATUSES, CampaignStatus
from tests.http.contact_support import PAGINATION_FIELDS
from tests.http.support import (
    EVIL_ORIGIN,
    RFC3339_UTC,
    AppFactory,
    Client,
    assert_problem,
    registered,
    session_token,
    with_cookie,
    without_origin,
)
from tests.postgres import empty_public_schema

CAMPAIGN_FIELDS = frozenset(
    {
        "id",
        "user_id",
        "name",
        "channel",
        "subject",
        "message",
        "media_url",
        "media_type",
        "audience",
        "whatsapp_template",
        "status",
        "scheduled_at",
        "sent_at",
        "completed_at",
        "total_recipients",
        "pending_count",
        "sent_count",
        "delivered_count",
        "opened_count",
        "clicked_count",
        "failed_count",
        "skipped_count",
        "created_at",
        "updated_at",
    }
)
BODY = {"name": "Black Friday", "message": "Hola {nombre}"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def client(request: pytest.FixtureRequest, make_client: AppFactory) -> Client:
    """A client of an app on SQLite, then on an empty PostgreSQL database; not logged in."""
    if request.param == "sqlite":
        return make_client()
    url: URL = request.getfixturevalue("postgres_session_url")
    empty_public_schema(url)
    return make_client(database_url=url.render_as_string(hide_password=False), db_pool_size=4)


@pytest.fixture
def user(client: Client) -> dict[str, Any]:
    return registered(client)


@pytest.fixture
def two_users(client: Client) -> tuple[str, str]:
    """Ana's and Bob's session tokens; the client is left logged in as Ana."""
    registered(client)
    ana = session_token(client)
    client.cookies.clear()
    registered(client, email="bob@example.com", name="Bob")
    bob = session_token(client)
    with_cookie(client, ana)
    return ana, bob


def create(client: Client, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/campaigns", json={**BODY, **fields})
    assert response.status_code == 201, response.text
    campaign: dict[str, Any] = response.json()["campaign"]
    return campaign


def contact(client: Client, phone: str) -> int:
    response = client.post("/api/contacts", json={"name": "C", "phone": phone})
    assert response.status_code == 201, response.text
    contact_id: int = response.json()["contact"]["id"]
    return contact_id


def adapters(client: Client) -> Adapters:
    found: Adapters = client.app.state.adapters
    return found


def force(
    client: Client, campaign: dict[str, Any], status: CampaignStatus, **counters: Any
) -> None:
    """Set a campaign's status (and counters) through the repository, as the actions will."""
    with adapters(client).ports.uow(write=True) as uow:
        stored = uow.campaigns.get_for_update(campaign["user_id"], campaign["id"])
        assert stored is not None
        uow.campaigns.save(dataclasses.replace(stored, status=status, **counters))
        uow.commit()


def future(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(days=1, **delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- create -------------------------------------------------------------------------------


def test_create_answers_201_with_a_draft_and_defaults(client: Client, user: dict[str, Any]) -> None:
    response = client.post("/api/campaigns", json={**BODY, "status": "active", "id": 9})

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"message", "campaign"}
    assert body["message"] == "Campaña creada correctamente"
    campaign = body["campaign"]
    assert set(campaign) == CAMPAIGN_FIELDS
    assert campaign | {"id": 0, "created_at": "", "updated_at": ""} == {
        "id": 0,
        "user_id": user["id"],
        "name": "Black Friday",
        "channel": "whatsapp",
        "subject": None,
        "message": "Hola {nombre}",
        "media_url": None,
        "media_type": None,
        "audience": {"all_contacts": False, "tags": [], "contact_ids": []},
        "whatsapp_template": None,
        "status": "draft",
        "scheduled_at": None,
        "sent_at": None,
        "completed_at": None,
        "total_recipients": 0,
        "pending_count": 0,
        "sent_count": 0,
        "delivered_count": 0,
        "opened_count": 0,
        "clicked_count": 0,
        "failed_count": 0,
        "skipped_count": 0,
        "created_at": "",
        "updated_at": "",
    }
    assert re.match(RFC3339_UTC, campaign["created_at"])
    assert campaign["created_at"] == campaign["updated_at"]


@pytest.mark.usefixtures("user")
def test_create_keeps_every_writable_field(client: Client) -> None:
    when = future()
    campaign = create(
        client,
        channel="email",
        subject="Ofertas",
        media_url="https://example.com/a.png",
        media_type="image",
        audience={"all_contacts": True, "tags": ["VIP", "vip"]},
        whatsapp_template={"name": "promo", "language": "es", "body_params": ["{nombre}"]},
        scheduled_at=when,
    )
    assert (campaign["channel"], campaign["subject"]) == ("email", "Ofertas")
    assert (campaign["media_url"], campaign["media_type"]) == ("https://example.com/a.png", "image")
    assert campaign["audience"] == {"all_contacts": True, "tags": ["vip"], "contact_ids": []}
    assert campaign["whatsapp_template"] == {
        "name": "promo",
        "language": "es",
        "body_params": ["{nombre}"],
    }
    assert campaign["scheduled_at"] == when
    assert campaign["status"] == "draft"


@pytest.mark.usefixtures("user")
@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name", "message"}),
        ({**BODY, "channel": "email"}, {"subject"}),
        ({**BODY, "channel": "sms"}, {"channel"}),
        ({**BODY, "media_url": "ftp://x.example/a"}, {"media_url"}),
        ({**BODY, "media_url": "https://x.example/a"}, {"media_type"}),
        ({**BODY, "audience": {"tags": "vip"}}, {"audience.tags"}),
        ({**BODY, "audience": {"contact_ids": [0]}}, {"audience.contact_ids"}),
        ({**BODY, "scheduled_at": "2030-01-01T10:00:00"}, {"scheduled_at"}),
        ({**BODY, "scheduled_at": "2000-01-01T10:00:00Z"}, {"scheduled_at"}),
        ({**BODY, "whatsapp_template": {"name": "Promo!"}}, {"whatsapp_template.name"}),
    ],
)
def test_bad_fields_are_400_naming_them_and_nothing_is_created(
    client: Client, body: dict[str, Any], fields: set[str]
) -> None:
    problem = assert_problem(client.post("/api/campaigns", json=body), 400, fields=fields)
    assert {item["field"] for item in problem["errors"]} >= fields
    assert client.get("/api/campaigns").json()["pagination"]["total"] == 0


@pytest.mark.usefixtures("user")
def test_an_email_campaign_without_subject_says_so_in_english(client: Client) -> None:
    response = client.post(
        "/api/campaigns", json={**BODY, "channel": "email"}, headers={"Accept-Language": "en"}
    )
    problem = assert_problem(response, 400, fields={"subject"})
    assert problem["errors"] == [
        {"field": "subject", "message": "An email campaign needs a subject"}
    ]


@pytest.mark.usefixtures("user")
def test_top_level_contact_ids_mean_the_audiences(client: Client) -> None:
    first, second = contact(client, "600000001"), contact(client, "600000002")
    campaign = create(client, contact_ids=[first, second, first])
    assert campaign["audience"] == {
        "all_contacts": False,
        "tags": [],
        "contact_ids": [first, second],
    }


def test_contact_ids_must_be_the_users_own(client: Client, two_users: tuple[str, str]) -> None:
    ana, bob = two_users
    mine = contact(client, "600000001")
    with_cookie(client, bob)
    bobs = contact(client, "600000002")
    with_cookie(client, ana)

    for body, refused in (
        ({**BODY, "contact_ids": [mine, bobs]}, bobs),
        ({**BODY, "audience": {"contact_ids": [bobs]}}, bobs),
        ({**BODY, "audience": {"contact_ids": [mine, 999_999]}}, 999_999),
    ):
        response = client.post("/api/campaigns", json=body)
        problem = assert_problem(response, 400, fields={"audience.contact_ids"})
        assert str(refused) in problem["error"]
    assert client.get("/api/campaigns").json()["pagination"]["total"] == 0


@pytest.mark.usefixtures("user")
def test_many_contact_ids_are_checked_too(client: Client) -> None:
    ids = [contact(client, f"6000000{n:02d}") for n in range(25)]
    assert create(client, contact_ids=ids)["audience"]["contact_ids"] == ids
    assert_problem(
        client.post("/api/campaigns", json={**BODY, "contact_ids": [*ids, max(ids) + 1]}),
        400,
        fields={"audience.contact_ids"},
    )


# --- list and read ------------------------------------------------------------------------


@pytest.mark.usefixtures("user")
def test_the_list_pages_newest_first_and_filters_by_status(client: Client) -> None:
    made = [create(client, name=f"C{n}") for n in range(5)]
    force(client, made[1], "active")
    force(client, made[3], "active")

    body = client.get("/api/campaigns").json()
    assert set(body) == {"campaigns", "pagination"}
    assert set(body["pagination"]) == PAGINATION_FIELDS
    assert [c["name"] for c in body["campaigns"]] == ["C4", "C3", "C2", "C1", "C0"]
    assert set(body["campaigns"][0]) == CAMPAIGN_FIELDS

    page = client.get("/api/campaigns", params={"page": 2, "per_page": 2}).json()
    assert [c["name"] for c in page["campaigns"]] == ["C2", "C1"]
    assert page["pagination"] == {
        "page": 2,
        "per_page": 2,
        "total": 5,
        "pages": 3,
        "has_next": True,
        "has_prev": True,
    }
    active = client.get("/api/campaigns", params={"status": "active"}).json()
    assert [c["name"] for c in active["campaigns"]] == ["C3", "C1"]
    assert active["pagination"]["total"] == 2
    drafts = client.get("/api/campaigns", params={"status": "draft", "per_page": 1}).json()
    assert drafts["pagination"]["total"] == 3
    assert client.get("/api/campaigns", params={"status": ""}).json()["pagination"]["total"] == 5


@pytest.mark.usefixtures("user")
def test_bad_list_parameters_are_400_naming_each(client: Client) -> None:
    response = client.get("/api/campaigns", params={"status": "borrado", "page": "0"})
    problem = assert_problem(response, 400, fields={"status", "page"})
    assert {item["field"] for item in problem["errors"]} == {"status", "page"}


@pytest.mark.usefixtures("user")
def test_get_answers_the_campaign(client: Client) -> None:
    campaign = create(client)
    response = client.get(f"/api/campaigns/{campaign['id']}")
    assert response.status_code == 200
    assert response.json() == {"campaign": campaign}
    assert_problem(client.get("/api/campaigns/999999"), 404)


# --- update -------------------------------------------------------------------------------


@pytest.mark.usefixtures("user")
def test_put_changes_only_the_fields_sent_and_ignores_status(client: Client) -> None:
    first = contact(client, "600000001")
    campaign = create(client, audience={"tags": ["vip"], "contact_ids": [first]})

    response = client.put(
        f"/api/campaigns/{campaign['id']}",
        json={"name": "Rebajas", "status": "completed", "audience": {"all_contacts": True}},
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Campaña actualizada correctamente"
    updated = body["campaign"]
    assert updated["name"] == "Rebajas"
    assert updated["status"] == "draft"
    assert updated["audience"] == {"all_contacts": True, "tags": ["vip"], "contact_ids": [first]}
    unchanged = {k for k in CAMPAIGN_FIELDS if k not in {"name", "audience", "updated_at"}}
    assert {k: updated[k] for k in unchanged} == {k: campaign[k] for k in unchanged}
    assert client.get(f"/api/campaigns/{campaign['id']}").json()["campaign"] == updated


@pytest.mark.usefixtures("user")
def test_put_validates_like_create(client: Client) -> None:
    campaign = create(client)
    assert_problem(
        client.put(f"/api/campaigns/{campaign['id']}", json={"channel": "email"}),
        400,
        fields={"subject"},
    )
    assert_problem(
        client.put(f"/api/campaigns/{campaign['id']}", json={"contact_ids": [999_999]}),
        400,
        fields={"audience.contact_ids"},
    )
    assert client.get(f"/api/campaigns/{campaign['id']}").json()["campaign"] == campaign


@pytest.mark.usefixtures("user")
@pytest.mark.parametrize("status", ["active", "paused", "completed", "cancelled", "failed"])
def test_put_is_409_once_sending_started_unless_nothing_changes(
    client: Client, status: CampaignStatus
) -> None:
    campaign = create(client)
    force(client, campaign, status)

    assert_problem(client.put(f"/api/campaigns/{campaign['id']}", json={"name": "Otra"}), 409)
    same = client.put(f"/api/campaigns/{campaign['id']}", json={"name": campaign["name"]})
    assert same.status_code == 200
    assert same.json()["campaign"]["status"] == status
    assert (
        client.get(f"/api/campaigns/{campaign['id']}").json()["campaign"]["name"] == "Black Friday"
    )


@pytest.mark.usefixtures("user")
def test_a_scheduled_campaign_is_still_editable(client: Client) -> None:
    campaign = create(client, scheduled_at=future())
    force(client, campaign, "scheduled")
    later = future(hours=2)
    response = client.put(f"/api/campaigns/{campaign['id']}", json={"scheduled_at": later})
    assert response.status_code == 200, response.text
    assert response.json()["campaign"]["scheduled_at"] == later


# --- delete -------------------------------------------------------------------------------


@pytest.mark.usefixtures("user")
def test_delete_removes_the_campaign_but_not_while_active(client: Client) -> None:
    kept, gone = create(client), create(client)
    force(client, kept, "active")

    assert_problem(client.delete(f"/api/campaigns/{kept['id']}"), 409)
    response = client.delete(f"/api/campaigns/{gone['id']}")
    assert response.status_code == 200
    assert response.json() == {"message": "Campaña eliminada correctamente"}
    assert_problem(client.get(f"/api/campaigns/{gone['id']}"), 404)
    assert_problem(client.delete(f"/api/campaigns/{gone['id']}"), 404)

    force(client, kept, "paused")
    assert client.delete(f"/api/campaigns/{kept['id']}").status_code == 200


# --- stats --------------------------------------------------------------------------------


@pytest.mark.usefixtures("user")
def test_stats_are_zeros_for_a_new_user(client: Client) -> None:
    response = client.get("/api/campaigns/stats")
    assert response.status_code == 200
    assert response.json() == {
        "stats": {
            "total_campaigns": 0,
            "by_status": dict.fromkeys(CAMPAIGN_STATUSES, 0),
            "total_recipients": 0,
            "sent": 0,
            "delivered": 0,
            "opened": 0,
            "failed": 0,
        }
    }


def test_stats_sum_the_users_campaigns(client: Client, two_users: tuple[str, str]) -> None:
    ana, bob = two_users
    one, two = create(client), create(client)
    create(client)
    force(
        client,
        one,
        "completed",
        total_recipients=10,
        sent_count=8,
        delivered_count=6,
        opened_count=3,
        failed_count=2,
    )
    force(client, two, "active", total_recipients=5, pending_count=4, sent_count=1)
    with_cookie(client, bob)
    force(client, create(client), "completed", total_recipients=100, sent_count=100)
    with_cookie(client, ana)

    stats = client.get("/api/campaigns/stats").json()["stats"]
    assert stats == {
        "total_campaigns": 3,
        "by_status": dict.fromkeys(CAMPAIGN_STATUSES, 0)
        | {"draft": 1, "active": 1, "completed": 1},
        "total_recipients": 15,
        "sent": 9,
        "delivered": 6,
        "opened": 3,
        "failed": 2,
    }


# --- access -------------------------------------------------------------------------------


def test_every_endpoint_needs_a_session(client: Client) -> None:
    for method, path in (
        ("GET", "/api/campaigns"),
        ("POST", "/api/campaigns"),
        ("GET", "/api/campaigns/stats"),
        ("GET", "/api/campaigns/1"),
        ("PUT", "/api/campaigns/1"),
        ("DELETE", "/api/campaigns/1"),
    ):
        body = BODY if method in {"POST", "PUT"} else None
        assert_problem(client.request(method, path, json=body), 401)


def test_another_users_campaign_is_404_everywhere(
    client: Client, two_users: tuple[str, str]
) -> None:
    ana, bob = two_users
    campaign = create(client)
    with_cookie(client, bob)

    path = f"/api/campaigns/{campaign['id']}"
    assert_problem(client.get(path), 404)
    assert_problem(client.put(path, json={"name": "Mía"}), 404)
    assert_problem(client.put(path, json={}), 404)
    assert_problem(client.delete(path), 404)
    assert client.get("/api/campaigns").json()["pagination"]["total"] == 0
    assert client.get("/api/campaigns/stats").json()["stats"]["total_campaigns"] == 0

    with_cookie(client, ana)
    assert client.get(path).json()["campaign"] == campaign


@pytest.mark.usefixtures("user")
def test_writes_need_an_allowed_origin_but_reads_do_not(client: Client) -> None:
    campaign = create(client)
    path = f"/api/campaigns/{campaign['id']}"
    evil = {"Origin": EVIL_ORIGIN}
    assert_problem(client.post("/api/campaigns", json=BODY, headers=evil), 403)
    assert_problem(client.put(path, json={"name": "X"}, headers=evil), 403)
    assert_problem(client.delete(path, headers=evil), 403)
    without_origin(client)
    assert_problem(client.post("/api/campaigns", json=BODY), 403)
    assert_problem(client.put(path, json={"name": "X"}), 403)
    assert_problem(client.delete(path), 403)
    assert client.get("/api/campaigns/stats").status_code == 200
    assert client.get("/api/campaigns").json()["campaigns"] == [campaign]
