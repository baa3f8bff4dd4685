"""/api/contacts: create, read, partial update, delete, bulk delete, stats and the list."""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.http.contact_support import (
    CONTACT_FIELDS,
    PAGINATION_FIELDS,
    create,
    listing,
    names,
)
from tests.http.support import (
    EVIL_ORIGIN,
    RFC3339_UTC,
    AppFactory,
    Client,
    FakeClock,
    assert_problem,
    registered,
    session_token,
    with_cookie,
    without_origin,
)


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


# --- create -------------------------------------------------------------------------------


def test_create_answers_201_with_the_contact(client: Client, user: dict[str, Any]) -> None:
    response = client.post(
        "/api/contacts",
        json={
            "name": "  Ana Pérez ",
            "phone": "600 11 12 22",
            "email": " Ana@Example.COM",
            "tags": ["VIP", " cliente ", "vip"],
            "notes": "Prefiere WhatsApp",
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"message", "contact"}
    assert body["message"] == "Contacto creado correctamente"
    contact = body["contact"]
    assert set(contact) == CONTACT_FIELDS
    assert isinstance(contact["id"], int)
    assert contact | {"id": 0, "created_at": "", "updated_at": ""} == {
        "id": 0,
        "user_id": user["id"],
        "name": "Ana Pérez",
        "phone": "+34600111222",
        "email": "ana@example.com",
        "status": "activo",
        "tags": ["vip", "cliente"],
        "notes": "Prefiere WhatsApp",
        "opted_out": False,
        "source": "manual",
        "created_at": "",
        "updated_at": "",
        "last_message": None,
    }
    assert contact["created_at"] == contact["updated_at"]
    assert re.match(RFC3339_UTC, contact["created_at"])


def test_create_ignores_read_only_and_unknown_fields(client: Client, user: dict[str, Any]) -> None:
    contact = create(
        client,
        id=999,
        user_id=12345,
        source="import",
        created_at="2020-01-01T00:00:00Z",
        last_message="2020-01-01T00:00:00Z",
        favourite=True,
    )
    assert contact["id"] != 999
    assert (contact["user_id"], contact["source"], contact["last_message"]) == (
        user["id"],
        "manual",
        None,
    )
    assert not contact["created_at"].startswith("2020")


@pytest.mark.usefixtures("user")
def test_create_reads_phones_with_the_users_default_country(client: Client) -> None:
    client.put("/api/profile", json={"default_country": "MX"})
    assert create(client, phone="55 1234 5678")["phone"] == "+525512345678"
    assert create(client, phone="+34 611 222 333")["phone"] == "+34611222333"


@pytest.mark.usefixtures("user")
@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"name", "phone"}),
        ({"name": "Ana"}, {"phone"}),
        ({"name": "", "phone": "12", "email": "no-es-un-correo"}, {"name", "phone", "email"}),
        ({"name": "Ana", "phone": "600111222", "status": "borrado"}, {"status"}),
        ({"name": "a" * 201, "email": "a@b.co"}, {"name"}),
        ({"name": "Ana", "email": "a" * 250 + "@b.co"}, {"email"}),
        ({"name": "Ana", "email": "a@b.co", "notes": "n" * 5001}, {"notes"}),
        ({"name": "Ana", "email": "a@b.co", "tags": [f"t{i}" for i in range(21)]}, {"tags"}),
        ({"name": "Ana", "email": "a@b.co", "tags": ["t" * 41]}, {"tags"}),
        ({"name": "Ana", "email": "a@b.co", "tags": ["a,b"]}, {"tags"}),
        ({"name": "Ana", "email": "a@b.co", "tags": None}, {"tags"}),
        ({"name": "Ana", "email": "a@b.co", "opted_out": None}, {"opted_out"}),
        ({"name": "Ana\x00", "email": "a@b.co"}, {"name"}),
        ({"name": 7, "email": "a@b.co"}, {"name"}),
        ({"name": "Ana", "email": "a@b.co", "tags": "vip"}, {"tags"}),
        ({"name": "Ana", "email": "a@b.co", "tags": ["vip", 3]}, {"tags.1"}),
        ({"name": "Ana", "email": "a@b.co", "opted_out": "yes"}, {"opted_out"}),
    ],
)
def test_bad_fields_are_400_naming_them_and_nothing_is_created(
    client: Client, body: dict[str, Any], fields: set[str]
) -> None:
    problem = assert_problem(client.post("/api/contacts", json=body), 400, fields=fields)
    assert {item["field"] for item in problem["errors"]} == fields
    assert listing(client)["pagination"]["total"] == 0


@pytest.mark.usefixtures("user")
def test_field_errors_are_english_when_asked(client: Client) -> None:
    response = client.post(
        "/api/contacts", json={"name": "Ana", "phone": "12"}, headers={"Accept-Language": "en"}
    )
    assert assert_problem(response, 400)["error"] == "The phone number is not valid"


@pytest.mark.usefixtures("user")
@pytest.mark.parametrize(
    ("second", "field", "message"),
    [
        ({"phone": "+34 600-111-222"}, "phone", "Ya existe un contacto con este teléfono"),
        (
            {"phone": None, "email": "ANA@example.com"},
            "email",
            "Ya existe un contacto con este correo electrónico",
        ),
    ],
)
def test_a_duplicate_phone_or_email_is_409_naming_the_field(
    client: Client, second: dict[str, Any], field: str, message: str
) -> None:
    create(client, email="ana@example.com")

    response = client.post("/api/contacts", json={"name": "Otra", **second})

    body = assert_problem(response, 409, fields={field})
    assert body["error"] == message
    assert body["errors"] == [{"field": field, "message": message}]
    assert names(client) == ["Ana Pérez"]


def test_409_in_english(client: Client, user: dict[str, Any]) -> None:
    create(client)
    response = client.post(
        "/api/contacts",
        json={"name": "Otra", "phone": "600111222"},
        headers={"Accept-Language": "en"},
    )
    assert assert_problem(response, 409)["error"] == (
        "A contact with this phone number already exists"
    )


def test_the_same_phone_in_two_accounts_is_fine(client: Client, two_users: tuple[str, str]) -> None:
    create(client)
    with_cookie(client, two_users[1])
    create(client)


def test_concurrent_creates_of_one_phone_give_one_201_and_one_409(
    client: Client, user: dict[str, Any]
) -> None:
    for attempt in range(5):
        phone = f"+3460011100{attempt}"
        start = threading.Barrier(2)

        def post(name: str, phone: str = phone, start: threading.Barrier = start) -> int:
            start.wait()
            return client.post("/api/contacts", json={"name": name, "phone": phone}).status_code

        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(pool.map(post, ["Uno", "Dos"]))
        assert statuses == [201, 409], (attempt, statuses)
    assert listing(client)["pagination"]["total"] == 5


def test_concurrent_creates_of_one_email_give_one_201_and_one_409(
    client: Client, user: dict[str, Any]
) -> None:
    start = threading.Barrier(4)

    def post(index: int) -> int:
        start.wait()
        body = {"name": f"N{index}", "email": "mismo@example.com", "phone": f"60011122{index}"}
        return client.post("/api/contacts", json=body).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(post, range(4)))
    assert statuses == [201, 409, 409, 409]


# --- read ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("user")
def test_get_returns_the_contact_envelope(client: Client) -> None:
    contact = create(client)
    response = client.get(f"/api/contacts/{contact['id']}")
    assert response.status_code == 200
    assert response.json() == {"contact": contact}


@pytest.mark.usefixtures("user")
@pytest.mark.parametrize(
    "contact_id", ["0", "-1", "424242", "2147483648", "9223372036854775808", "1" * 40]
)
def test_a_missing_id_is_404(client: Client, contact_id: str) -> None:
    body = assert_problem(client.get(f"/api/contacts/{contact_id}"), 404)
    assert body["error"] == "Contacto no encontrado"
    assert_problem(client.put(f"/api/contacts/{contact_id}", json={"name": "X"}), 404)
    assert_problem(client.delete(f"/api/contacts/{contact_id}"), 404)


@pytest.mark.usefixtures("user")
def test_an_id_that_is_no_number_is_404(client: Client) -> None:
    assert_problem(client.get("/api/contacts/abc"), 404)
    assert_problem(client.put("/api/contacts/1.5", json={"name": "X"}), 404)


def test_another_users_contact_is_404_everywhere_and_stays_as_it_was(
    client: Client, two_users: tuple[str, str]
) -> None:
    ana, bob = two_users
    with_cookie(client, bob)
    theirs = create(client, name="De Bob")
    with_cookie(client, ana)

    got = assert_problem(client.get(f"/api/contacts/{theirs['id']}"), 404)
    assert got["error"] == "Contacto no encontrado"
    assert_problem(client.put(f"/api/contacts/{theirs['id']}", json={"name": "Mío"}), 404)
    assert_problem(client.delete(f"/api/contacts/{theirs['id']}"), 404)
    bulk = client.post("/api/contacts/bulk-delete", json={"contact_ids": [theirs["id"]]})
    assert bulk.json()["deleted_count"] == 0
    assert listing(client)["contacts"] == []

    with_cookie(client, bob)
    assert client.get(f"/api/contacts/{theirs['id']}").json() == {"contact": theirs}


# --- update -------------------------------------------------------------------------------


@pytest.mark.usefixtures("user")
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"name": " Ana P. "}, {"name": "Ana P."}),
        ({"phone": "611 222 333"}, {"phone": "+34611222333"}),
        ({"email": "NUEVO@example.com"}, {"email": "nuevo@example.com"}),
        ({"email": None}, {"email": None}),
        ({"phone": ""}, {"phone": None}),
        ({"status": "inactivo"}, {"status": "inactivo"}),
        ({"tags": ["Nueva", "otra"]}, {"tags": ["nueva", "otra"]}),
        ({"tags": []}, {"tags": []}),
        ({"notes": "Llamar"}, {"notes": "Llamar"}),
        ({"notes": None}, {"notes": None}),
        ({"opted_out": True}, {"opted_out": True}),
        ({}, {}),
        ({"id": 1, "user_id": 2, "source": "import", "created_at": "x"}, {}),
    ],
)
def test_put_changes_only_the_fields_sent(
    client: Client, changes: dict[str, Any], expected: dict[str, Any]
) -> None:
    contact = create(client, email="ana@example.com", notes="Nota", tags=["vip"])

    response = client.put(f"/api/contacts/{contact['id']}", json=changes)

    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"message", "contact"}
    assert body["message"] == "Contacto actualizado correctamente"
    ignore = {"updated_at"}
    before = {k: v for k, v in contact.items() if k not in ignore}
    after = {k: v for k, v in body["contact"].items() if k not in ignore}
    assert after == before | expected
    stored = client.get(f"/api/contacts/{contact['id']}").json()["contact"]
    assert stored == body["contact"]


def test_put_moves_updated_at(make_client: AppFactory) -> None:
    clock = FakeClock()
    client = make_client(ports={"clock": clock})
    registered(client)
    contact = create(client)
    clock.advance(minutes=5)
    updated = client.put(f"/api/contacts/{contact['id']}", json={"name": "Nuevo"}).json()
    assert updated["contact"]["created_at"] == contact["created_at"]
    moved = datetime.fromisoformat(updated["contact"]["updated_at"])
    assert moved - datetime.fromisoformat(contact["updated_at"]) >= timedelta(minutes=4)


@pytest.mark.usefixtures("user")
@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"phone": None, "name": "Nuevo"}, {"phone"}),
        ({"phone": None, "email": None}, {"phone"}),
        ({"name": None}, {"name"}),
        ({"name": "  "}, {"name"}),
        ({"status": "todos", "phone": "1"}, {"status", "phone"}),
        ({"tags": None}, {"tags"}),
        ({"opted_out": None}, {"opted_out"}),
        ({"name": ["x"]}, {"name"}),
    ],
)
def test_a_bad_put_is_400_and_changes_nothing(
    client: Client, changes: dict[str, Any], fields: set[str]
) -> None:
    contact = create(client)
    assert_problem(client.put(f"/api/contacts/{contact['id']}", json=changes), 400, fields=fields)
    assert client.get(f"/api/contacts/{contact['id']}").json()["contact"] == contact


@pytest.mark.usefixtures("user")
def test_a_put_to_a_taken_phone_is_409_and_changes_nothing(client: Client) -> None:
    create(client)
    other = create(client, name="Bea", phone="611222333")

    response = client.put(
        f"/api/contacts/{other['id']}", json={"name": "Bea B.", "phone": "600111222"}
    )

    assert assert_problem(response, 409, fields={"phone"})["error"] == (
        "Ya existe un contacto con este teléfono"
    )
    assert client.get(f"/api/contacts/{other['id']}").json()["contact"] == other


@pytest.mark.usefixtures("user")
def test_put_rejects_what_is_not_json(client: Client) -> None:
    contact = create(client)
    url = f"/api/contacts/{contact['id']}"
    assert_problem(client.put(url, content=b"name=X", headers={"Content-Type": "text/plain"}), 415)
    bad = client.put(url, content=b"{bad", headers={"Content-Type": "application/json"})
    assert_problem(bad, 400)
    assert_problem(client.put(url, json=["name"]), 400)


# --- delete -------------------------------------------------------------------------------


@pytest.mark.usefixtures("user")
def test_delete_answers_200_with_a_message(client: Client) -> None:
    contact = create(client)

    response = client.delete(f"/api/contacts/{contact['id']}")

    assert response.status_code == 200
    assert response.json() == {"message": "Contacto eliminado correctamente"}
    assert_problem(client.get(f"/api/contacts/{contact['id']}"), 404)
    assert_problem(client.delete(f"/api/contacts/{contact['id']}"), 404)


def test_bulk_delete_deletes_only_the_users_own(client: Client, two_users: tuple[str, str]) -> None:
    ana, bob = two_users
    mine = [create(client, name=f"C{i}", phone=f"60011122{i}") for i in range(4)]
    with_cookie(client, bob)
    theirs = create(client, name="De Bob")
    with_cookie(client, ana)
    ids = [mine[0]["id"], mine[1]["id"], mine[1]["id"], theirs["id"], 0, -3, 987654, 10**25]

    response = client.post("/api/contacts/bulk-delete", json={"contact_ids": ids})

    assert response.status_code == 200
    assert response.json() == {"message": "Contactos eliminados: 2", "deleted_count": 2}
    assert sorted(names(client)) == ["C2", "C3"]
    with_cookie(client, bob)
    assert names(client) == ["De Bob"]


@pytest.mark.usefixtures("user")
def test_bulk_delete_of_nothing_is_a_zero_count(client: Client) -> None:
    create(client)
    response = client.post("/api/contacts/bulk-delete", json={"contact_ids": []})
    assert response.json() == {"message": "Contactos eliminados: 0", "deleted_count": 0}
    english = client.post(
        "/api/contacts/bulk-delete", json={"contact_ids": []}, headers={"Accept-Language": "en"}
    )
    assert english.json()["message"] == "Contacts deleted: 0"
    assert len(names(client)) == 1


@pytest.mark.usefixtures("user")
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "contact_ids"),
        ({"contact_ids": None}, "contact_ids"),
        ({"contact_ids": "1,2"}, "contact_ids"),
        ({"contact_ids": [1, "dos"]}, "contact_ids.1"),
        ({"ids": [1]}, "contact_ids"),
    ],
)
def test_a_bad_bulk_delete_is_400_and_deletes_nothing(
    client: Client, body: dict[str, Any], field: str
) -> None:
    contact = create(client)
    if "contact_ids" in body and isinstance(body["contact_ids"], list):
        body = {"contact_ids": [contact["id"], *body["contact_ids"][1:]]}
    assert_problem(client.post("/api/contacts/bulk-delete", json=body), 400, fields={field})
    assert len(names(client)) == 1


# --- stats --------------------------------------------------------------------------------


def test_stats_count_active_inactive_and_recent(make_client: AppFactory) -> None:
    clock = FakeClock()
    client = make_client(ports={"clock": clock})
    registered(client)
    create(client, name="Vieja", phone="600000001", status="inactivo")
    clock.advance(days=4)  # in two steps, so that the session never idles out
    listing(client)
    clock.advance(days=4)
    create(client, name="Baja", phone="600000002", opted_out=True)
    create(client, name="Nueva", phone="600000003")

    response = client.get("/api/contacts/stats")

    assert response.status_code == 200
    assert response.json() == {
        "stats": {
            "total_contacts": 3,
            "active_contacts": 2,
            "inactive_contacts": 1,
            "recent_contacts": 2,
        }
    }


def test_stats_are_the_users_own(client: Client, two_users: tuple[str, str]) -> None:
    create(client)
    with_cookie(client, two_users[1])
    assert client.get("/api/contacts/stats").json()["stats"] == {
        "total_contacts": 0,
        "active_contacts": 0,
        "inactive_contacts": 0,
        "recent_contacts": 0,
    }


# --- the list -----------------------------------------------------------------------------


@pytest.mark.usefixtures("user")
def test_an_empty_list(client: Client) -> None:
    assert listing(client) == {
        "contacts": [],
        "pagination": {
            "page": 1,
            "per_page": 20,
            "total": 0,
            "pages": 0,
            "has_next": False,
            "has_prev": False,
        },
    }


@pytest.fixture
def twenty_five(make_client: AppFactory) -> Client:
    """A client whose user has contacts C00 … C24, created a second apart in that order."""
    clock = FakeClock()
    client = make_client(ports={"clock": clock})
    registered(client)
    for i in range(25):
        create(client, name=f"C{i:02d}", phone=f"+346000000{i:02d}")
        clock.advance(seconds=1)
    return client


@pytest.mark.parametrize(
    ("params", "shown", "pagination"),
    [
        ({}, [24, 23, 22], (1, 20, 25, 2, True, False)),
        ({"page": "2"}, [4, 3, 2, 1, 0], (2, 20, 25, 2, False, True)),
        ({"per_page": "10", "page": "3"}, [4, 3, 2, 1, 0], (3, 10, 25, 3, False, True)),
        ({"per_page": "1000"}, [24, 23, 22], (1, 100, 25, 1, False, False)),
        ({"per_page": "25"}, [24, 23, 22], (1, 25, 25, 1, False, False)),
        ({"per_page": "24"}, [24, 23, 22], (1, 24, 25, 2, True, False)),
        ({"page": "3"}, [], (3, 20, 25, 2, False, True)),
        ({"page": "99999999999999999999"}, [], (1_000_000_000, 20, 25, 2, False, True)),
        ({"page": "", "per_page": " "}, [24, 23, 22], (1, 20, 25, 2, True, False)),
        ({"sort": "created_at", "per_page": "3"}, [0, 1, 2], (1, 3, 25, 9, True, False)),
        ({"sort": "-name", "per_page": "2"}, [24, 23], (1, 2, 25, 13, True, False)),
    ],
)
def test_pages(
    twenty_five: Client,
    params: dict[str, str],
    shown: list[int],
    pagination: tuple[int, int, int, int, bool, bool],
) -> None:
    body = listing(twenty_five, **params)

    got = [int(contact["name"][1:]) for contact in body["contacts"]]
    assert got[: len(shown)] == shown
    page, per_page, total, pages, has_next, has_prev = pagination
    expected_count = max(0, min(per_page, total - (page - 1) * per_page))
    assert len(got) == expected_count
    assert set(body["pagination"]) == PAGINATION_FIELDS
    assert body["pagination"] == {
        "page": page,
        "per_page": per_page,
        "total": total,
        "pages": pages,
        "has_next": has_next,
        "has_prev": has_prev,
    }
    assert all(set(contact) == CONTACT_FIELDS for contact in body["contacts"])


def test_walking_every_page_shows_each_contact_once(twenty_five: Client) -> None:
    for sort in ("name", "-name", "created_at", "-created_at"):
        seen: list[str] = []
        for page in range(1, 5):
            seen += names(twenty_five, sort=sort, per_page=7, page=page)
        assert sorted(seen) == [f"C{i:02d}" for i in range(25)], sort


@pytest.mark.usefixtures("user")
@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"page": "0"}, {"page"}),
        ({"page": "-1"}, {"page"}),
        ({"page": "uno"}, {"page"}),
        ({"page": "1.5"}, {"page"}),
        ({"per_page": "0"}, {"per_page"}),
        ({"per_page": "-20"}, {"per_page"}),
        ({"per_page": "x"}, {"per_page"}),
        ({"status": "todos"}, {"status"}),
        ({"status": "ACTIVO"}, {"status"}),
        ({"sort": "phone"}, {"sort"}),
        ({"sort": "+name"}, {"sort"}),
        ({"search": "x" * 255}, {"search"}),
        ({"tags": "t" * 41}, {"tags"}),
        (
            {"page": "0", "per_page": "0", "status": "x", "sort": "x"},
            {"page", "per_page", "status", "sort"},
        ),
    ],
)
def test_bad_query_parameters_are_400_naming_them(
    client: Client, params: dict[str, str], fields: set[str]
) -> None:
    body = assert_problem(client.get("/api/contacts", params=params), 400, fields=fields)
    assert {item["field"] for item in body["errors"]} == fields


@pytest.mark.usefixtures("user")
def test_unknown_query_parameters_are_ignored(client: Client) -> None:
    create(client)
    assert names(client, foo="bar", order="x") == ["Ana Pérez"]


@pytest.fixture
def people(make_client: AppFactory) -> Client:
    clock = FakeClock()
    client = make_client(ports={"clock": clock})
    registered(client)
    for fields in (
        {"name": "José García", "phone": "600111222", "tags": ["cliente", "vip"]},
        {"name": "Álvaro Núñez", "phone": "+44 7911 123456", "email": "alvaro@ejemplo.es"},
        {
            "name": "beatriz",
            "phone": None,
            "email": "bea@example.com",
            "status": "inactivo",
            "tags": ["vip"],
        },
        {"name": "Zoë", "phone": "611 999 000", "tags": ["vip-gold"], "opted_out": True},
        {"name": "ana", "phone": "622000111", "tags": ["cliente"], "status": "inactivo"},
    ):
        create(client, **fields)
        clock.advance(seconds=1)
    return client


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"search": "garcia"}, ["José García"]),
        ({"search": "GARCÍA"}, ["José García"]),
        ({"search": "nunez"}, ["Álvaro Núñez"]),
        ({"search": "EJEMPLO"}, ["Álvaro Núñez"]),
        ({"search": "600 111"}, ["José García"]),
        ({"search": "7911"}, ["Álvaro Núñez"]),
        ({"search": "+34 6"}, ["ana", "Zoë", "José García"]),
        ({"search": "zzz"}, []),
        ({"search": "%"}, []),
        ({"search": "_"}, []),
        ({"search": "  "}, ["ana", "Zoë", "beatriz", "Álvaro Núñez", "José García"]),
        ({"status": "activo"}, ["Zoë", "Álvaro Núñez", "José García"]),
        ({"status": "inactivo"}, ["ana", "beatriz"]),
        ({"tags": "vip"}, ["beatriz", "José García"]),
        ({"tags": "VIP, cliente"}, ["José García"]),
        ({"tags": "vip-gold"}, ["Zoë"]),
        ({"tags": "nadie"}, []),
        ({"tags": "cliente", "status": "inactivo"}, ["ana"]),
        ({"search": "a", "tags": "cliente", "sort": "name"}, ["ana", "José García"]),
        ({"sort": "name"}, ["Álvaro Núñez", "ana", "beatriz", "José García", "Zoë"]),
        ({"sort": "-name"}, ["Zoë", "José García", "beatriz", "ana", "Álvaro Núñez"]),
        ({"sort": "created_at"}, ["José García", "Álvaro Núñez", "beatriz", "Zoë", "ana"]),
        ({"sort": "-created_at"}, ["ana", "Zoë", "beatriz", "Álvaro Núñez", "José García"]),
    ],
)
def test_filters_and_sorts(people: Client, params: dict[str, str], expected: list[str]) -> None:
    body = listing(people, **params)
    assert [contact["name"] for contact in body["contacts"]] == expected
    assert body["pagination"]["total"] == len(expected)


def test_the_list_shows_only_the_users_own(client: Client, two_users: tuple[str, str]) -> None:
    create(client, name="De Ana")
    with_cookie(client, two_users[1])
    create(client, name="De Bob")
    assert names(client) == ["De Bob"]
    assert names(client, search="de") == ["De Bob"]


# --- routes, sessions, cross-site requests ------------------------------------------------


@pytest.mark.usefixtures("user")
@pytest.mark.parametrize(
    "path", ["/api/contacts/stats", "/api/contacts/export", "/api/contacts/import/history"]
)
def test_fixed_paths_are_not_taken_for_ids(client: Client, path: str) -> None:
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/contacts"),
        ("POST", "/api/contacts"),
        ("GET", "/api/contacts/1"),
        ("PUT", "/api/contacts/1"),
        ("DELETE", "/api/contacts/1"),
        ("POST", "/api/contacts/bulk-delete"),
        ("GET", "/api/contacts/stats"),
        ("GET", "/api/contacts/export"),
    ],
)
def test_every_endpoint_needs_a_session(client: Client, method: str, path: str) -> None:
    json = {"contact_ids": [1]} if path.endswith("bulk-delete") else {"name": "X"}
    response = client.request(method, path, json=json if method in {"POST", "PUT"} else None)
    body = assert_problem(response, 401)
    assert body["error"] == "No has iniciado sesión o tu sesión ha caducado"


@pytest.mark.parametrize(
    ("method", "path"),
    [("PATCH", "/api/contacts/1"), ("DELETE", "/api/contacts"), ("PUT", "/api/contacts/stats")],
)
def test_unsupported_methods_are_405(client: Client, method: str, path: str) -> None:
    assert_problem(client.request(method, path), 405)


def _unsafe_requests(contact_id: int) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("POST", "/api/contacts", {"name": "Intrusa", "phone": "699000000"}),
        ("PUT", f"/api/contacts/{contact_id}", {"name": "Hackeada"}),
        ("DELETE", f"/api/contacts/{contact_id}", {}),
        ("POST", "/api/contacts/bulk-delete", {"contact_ids": [contact_id]}),
    ]


@pytest.mark.usefixtures("user")
def test_writes_from_a_foreign_origin_are_403_and_change_nothing(client: Client) -> None:
    contact = create(client)
    for method, path, body in _unsafe_requests(contact["id"]):
        response = client.request(method, path, json=body or None, headers={"Origin": EVIL_ORIGIN})
        assert_problem(response, 403)
    assert listing(client)["contacts"] == [contact]


@pytest.mark.usefixtures("user")
def test_writes_with_the_cookie_and_no_origin_are_403(client: Client) -> None:
    contact = create(client)
    without_origin(client)
    for method, path, body in _unsafe_requests(contact["id"]):
        assert_problem(client.request(method, path, json=body or None), 403)
    referer = {"Referer": "http://localhost:5173/contactos"}
    response = client.put(f"/api/contacts/{contact['id']}", json={"name": "Ok"}, headers=referer)
    assert response.status_code == 200
    assert client.get(f"/api/contacts/{contact['id']}").json()["contact"]["name"] == "Ok"


@pytest.mark.usefixtures("user")
def test_reads_need_no_origin(client: Client) -> None:
    create(client)
    without_origin(client)
    assert client.get("/api/contacts").status_code == 200
    assert client.get("/api/contacts/stats").status_code == 200


def test_a_json_body_over_one_mib_is_413(client: Client, user: dict[str, Any]) -> None:
    big = b'{"name": "Ana", "phone": "600111222", "notes": "' + b"n" * (1024 * 1024) + b'"}'
    response = client.post(
        "/api/contacts", content=big, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413)
    assert listing(client)["contacts"] == []
