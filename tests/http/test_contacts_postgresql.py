"""The contact and import endpoints on PostgreSQL: the HTTP tests run on SQLite, so these
go through the same paths once more on the other database the server supports.

A fresh ``public`` schema per test, in the session's PostgreSQL database (``tests/postgres.py``):
skipped when no server answers, failed instead under ``NEXUS_REQUIRE_POSTGRES=1``.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy.engine import URL

from tests.http.contact_support import (
    FIXTURE_IMPORTS,
    all_contacts,
    create,
    csv_file,
    history,
    names,
    read_export,
    second_user,
    upload,
    upload_fixture,
)
from tests.http.support import (
    AppFactory,
    Client,
    assert_problem,
    registered,
    session_token,
    with_cookie,
)
from tests.postgres import empty_public_schema

pytestmark = pytest.mark.postgres


@pytest.fixture
def client(make_client: AppFactory, postgres_session_url: URL) -> Client:
    """A logged-in client of an app on an empty, freshly migrated PostgreSQL database."""
    empty_public_schema(postgres_session_url)
    client = make_client(
        database_url=postgres_session_url.render_as_string(hide_password=False), db_pool_size=4
    )
    registered(client)
    return client


def test_a_contacts_life(client: Client) -> None:
    contact = create(client, name="José García", email="JOSE@example.com", tags=["VIP"])
    assert (contact["phone"], contact["email"], contact["tags"]) == (
        "+34600111222",
        "jose@example.com",
        ["vip"],
    )
    assert client.get(f"/api/contacts/{contact['id']}").json() == {"contact": contact}

    updated = client.put(f"/api/contacts/{contact['id']}", json={"phone": None, "notes": "N"})
    assert updated.status_code == 200
    assert (updated.json()["contact"]["phone"], updated.json()["contact"]["notes"]) == (None, "N")

    assert client.delete(f"/api/contacts/{contact['id']}").status_code == 200
    assert_problem(client.get(f"/api/contacts/{contact['id']}"), 404)


def test_the_list_filters_sorts_and_pages(client: Client) -> None:
    create(client, name="Álvaro Núñez", phone="600000001", tags=["vip", "cliente"])
    create(client, name="beatriz", phone="600000002", status="inactivo", tags=["vip"])
    create(client, name="Zoë", phone="600000003")

    assert names(client, sort="name") == ["Álvaro Núñez", "beatriz", "Zoë"]
    assert names(client, search="NUNEZ") == ["Álvaro Núñez"]
    assert names(client, search="000 002") == ["beatriz"]
    assert names(client, tags="vip,cliente") == ["Álvaro Núñez"]
    assert names(client, status="inactivo") == ["beatriz"]
    page = client.get("/api/contacts", params={"per_page": 2, "page": 2, "sort": "-name"}).json()
    assert [c["name"] for c in page["contacts"]] == ["Álvaro Núñez"]
    assert page["pagination"] == {
        "page": 2,
        "per_page": 2,
        "total": 3,
        "pages": 2,
        "has_next": False,
        "has_prev": True,
    }
    assert_problem(client.get("/api/contacts", params={"sort": "x", "page": "0"}), 400)


def test_duplicates_are_409_even_when_concurrent(client: Client) -> None:
    create(client, email="ana@example.com")
    assert_problem(client.post("/api/contacts", json={"name": "B", "phone": "600111222"}), 409)
    assert_problem(
        client.post("/api/contacts", json={"name": "C", "email": "ANA@example.com"}),
        409,
        fields={"email"},
    )
    for attempt in range(3):
        start = threading.Barrier(2)

        def post(name: str, attempt: int = attempt, start: threading.Barrier = start) -> int:
            start.wait()
            body = {"name": name, "phone": f"61100000{attempt}"}
            return client.post("/api/contacts", json=body).status_code

        with ThreadPoolExecutor(2) as pool:
            assert sorted(pool.map(post, ["Uno", "Dos"])) == [201, 409]


@pytest.mark.parametrize("contact_id", ["3000000000", "9223372036854775807", "1" * 30])
def test_ids_beyond_the_column_are_404(client: Client, contact_id: str) -> None:
    assert_problem(client.get(f"/api/contacts/{contact_id}"), 404)
    assert_problem(client.put(f"/api/contacts/{contact_id}", json={"name": "X"}), 404)
    assert_problem(client.delete(f"/api/contacts/{contact_id}"), 404)
    body = {"contact_ids": [int(contact_id), 2**31]}
    assert client.post("/api/contacts/bulk-delete", json=body).json()["deleted_count"] == 0


def test_another_users_contacts_are_out_of_reach(client: Client) -> None:
    mine = create(client)
    ana = session_token(client)
    second_user(client)
    theirs = create(client, name="De Bob")

    assert_problem(client.get(f"/api/contacts/{mine['id']}"), 404)
    assert_problem(client.put(f"/api/contacts/{mine['id']}", json={"name": "X"}), 404)
    bulk = {"contact_ids": [mine["id"], theirs["id"]]}
    assert client.post("/api/contacts/bulk-delete", json=bulk).json()["deleted_count"] == 1
    with_cookie(client, ana)
    assert all_contacts(client) == [mine]
    assert client.get("/api/contacts/stats").json()["stats"]["total_contacts"] == 1


@pytest.mark.parametrize(("name", "file_type", "expected", "errors", "contacts"), FIXTURE_IMPORTS)
def test_the_fixtures_import_with_exact_counts(
    client: Client,
    name: str,
    file_type: str,
    expected: tuple[int, int, int, int],
    errors: list[tuple[int, str]],
    contacts: list[tuple[Any, ...]],
) -> None:
    body = upload_fixture(client, name).json()
    got = (
        body["imported_count"],
        body["updated_count"],
        body["duplicate_count"],
        body["invalid_count"],
    )
    assert got == expected
    assert [(e["row"], e["message"]) for e in body["errors"]] == errors
    assert (body["import"]["file_type"], body["import"]["status"]) == (file_type, "completed")
    stored = all_contacts(client)
    assert [(c["name"], c["phone"], c["email"], c["tags"]) for c in stored] == contacts


def test_update_imports_merge_into_existing_contacts(client: Client) -> None:
    existing = create(client, name="Ana", notes="Guardada", tags=["vieja"])
    data = csv_file("name,phone,email,tags", ["Ana Nueva,600111222,ana@example.com,nueva"])
    body = upload(client, "a.csv", data, on_duplicate="update", tags="feria").json()
    assert (body["imported_count"], body["updated_count"]) == (0, 1)
    (ana,) = all_contacts(client)
    assert (ana["id"], ana["name"], ana["notes"], ana["tags"]) == (
        existing["id"],
        "Ana Nueva",
        "Guardada",
        ["vieja", "nueva", "feria"],
    )


def test_a_file_unreadable_part_way_leaves_no_contact_behind(client: Client) -> None:
    existing = create(client, name="Ya estaba", phone="+34600000005")
    rows = [f"Persona {i},+3460{i:07d}" for i in range(3_000)]
    data = csv_file("name,phone", rows) + b"Rota,\x00\n"

    assert_problem(upload(client, "roto.csv", data, on_duplicate="update"), 400)

    assert all_contacts(client) == [existing]
    (record,) = history(client)["imports"]
    assert (record["status"], record["contacts_imported"]) == ("failed", 0)


def test_a_large_export_imports_back_into_another_account(client: Client) -> None:
    rows = [f"=P{i:04d},+3460{i:07d},p{i}@example.com,lote;vip" for i in range(2_500)]
    assert upload(client, "lote.csv", csv_file("name,phone,email,tags", rows)).status_code == 201
    create(client, name="Baja", phone="611222333", status="inactivo", opted_out=True)
    originals = all_contacts(client)

    exported = client.get("/api/contacts/export", params={"sort": "name"})
    lines = read_export(exported)
    assert len(lines) == 2_502
    assert lines[1][:2] == ["'=P0000", "'+34600000000"]

    second_user(client)
    body = upload(client, "contactos.csv", exported.content).json()
    assert (body["imported_count"], body["invalid_count"]) == (2_501, 0)
    fields = ("name", "phone", "email", "status", "tags", "notes", "opted_out")

    def carried(contacts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return sorted(tuple(str(c[field]) for field in fields) for c in contacts)

    assert carried(all_contacts(client)) == carried(originals)
