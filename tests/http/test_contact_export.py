"""GET /api/contacts/export: a streamed CSV file that a spreadsheet opens safely and that
imports back as the same contacts."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.http.contact_support import (
    all_contacts,
    create,
    csv_file,
    read_export,
    second_user,
    upload,
)
from tests.http.support import (
    AppFactory,
    Client,
    FakeClock,
    assert_problem,
    registered,
    session_token,
    with_cookie,
)

HEADER = ["name", "phone", "email", "status", "tags", "notes", "opted_out", "created_at"]
EXPORT = "/api/contacts/export"
# The fields an export carries over to another account.
CARRIED = ("name", "phone", "email", "status", "tags", "notes", "opted_out")


@pytest.fixture
def clock() -> FakeClock:
    """23:30 UTC: already the next day in Madrid, the new users' time zone."""
    clock = FakeClock()
    clock.now = datetime(2026, 11, 26, 23, 30, 5, tzinfo=UTC)
    return clock


@pytest.fixture
def client(make_client: AppFactory, clock: FakeClock) -> Client:
    client = make_client(ports={"clock": clock})
    registered(client)
    return client


def test_the_file_is_utf8_csv_with_a_bom_and_the_exact_header(client: Client) -> None:
    create(
        client,
        name="José Núñez",
        email="jose@example.com",
        tags=["cliente", "vip"],
        notes='Llamar, por la tarde\n"urgente"',
    )
    create(
        client, name="Bea", phone=None, email="bea@example.com", status="inactivo", opted_out=True
    )

    response = client.get(EXPORT, params={"sort": "name"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="contactos-2026-11-27.csv"'
    )
    assert response.content.startswith(b"\xef\xbb\xbfname,phone,email,status,tags,notes,")
    assert response.content.endswith(b"\r\n")
    assert read_export(response) == [
        HEADER,
        ["Bea", "", "bea@example.com", "inactivo", "", "", "true", "2026-11-26T23:30:05Z"],
        [
            "José Núñez",
            "'+34600111222",
            "jose@example.com",
            "activo",
            "cliente;vip",
            'Llamar, por la tarde\n"urgente"',
            "false",
            "2026-11-26T23:30:05Z",
        ],
    ]


def test_values_a_spreadsheet_would_run_start_with_an_apostrophe(client: Client) -> None:
    create(client, name='=HYPERLINK("http://evil")', phone="+44 7911 123456", notes="-5")
    create(client, name="@SUM(A1)", phone=None, email="x@example.com", notes="+1")
    create(client, name="'Tis", phone="611222333", tags=["-vip", "ok"])

    rows = read_export(client.get(EXPORT, params={"sort": "created_at"}))[1:]

    assert [row[:2] + row[4:6] for row in rows] == [
        ['\'=HYPERLINK("http://evil")', "'+447911123456", "", "'-5"],
        ["'@SUM(A1)", "", "", "'+1"],
        ["''Tis", "'+34611222333", "'-vip;ok", ""],
    ]
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell


def test_an_empty_export_is_the_header_alone(client: Client) -> None:
    assert read_export(client.get(EXPORT)) == [HEADER]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["Carla", "Bea", "Ana"]),
        ({"sort": "name"}, ["Ana", "Bea", "Carla"]),
        ({"sort": "-name"}, ["Carla", "Bea", "Ana"]),
        ({"status": "inactivo"}, ["Bea"]),
        ({"tags": "vip"}, ["Carla", "Ana"]),
        ({"tags": "vip,cliente"}, ["Ana"]),
        ({"search": "CARL"}, ["Carla"]),
        ({"search": "611"}, ["Bea"]),
        ({"page": "2", "per_page": "1"}, ["Carla", "Bea", "Ana"]),
        ({"page": "0", "per_page": "nada"}, ["Carla", "Bea", "Ana"]),
    ],
)
def test_the_export_has_every_contact_the_filters_keep(
    client: Client, clock: FakeClock, params: dict[str, str], expected: list[str]
) -> None:
    create(client, name="Ana", phone="600000001", tags=["vip", "cliente"])
    clock.advance(seconds=1)
    create(client, name="Bea", phone="611000002", status="inactivo")
    clock.advance(seconds=1)
    create(client, name="Carla", phone="622000003", tags=["vip"])

    rows = read_export(client.get(EXPORT, params=params))

    assert [row[0] for row in rows[1:]] == expected


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "todos"}, "status"),
        ({"sort": "phone"}, "sort"),
        ({"tags": "t" * 41}, "tags"),
        ({"search": "s" * 255}, "search"),
    ],
)
def test_bad_filters_are_a_400_problem_not_a_file(
    client: Client, params: dict[str, str], field: str
) -> None:
    assert_problem(client.get(EXPORT, params=params), 400, fields={field})


def test_the_export_needs_a_session(make_client: AppFactory) -> None:
    assert_problem(make_client().get(EXPORT), 401)


def test_the_export_has_only_the_users_own_contacts(client: Client) -> None:
    create(client, name="De Ana")
    ana = session_token(client)
    second_user(client)
    create(client, name="De Bob")
    assert [row[0] for row in read_export(client.get(EXPORT))[1:]] == ["De Bob"]
    with_cookie(client, ana)
    assert [row[0] for row in read_export(client.get(EXPORT))[1:]] == ["De Ana"]


def test_a_large_export_streams_every_contact_once_in_order(client: Client) -> None:
    count = 2_500  # more than one database batch and several chunks of the file
    rows = [f"Persona {i:04d},+3460{i:07d},p{i}@example.com,lote" for i in range(count)]
    imported = upload(client, "lote.csv", csv_file("name,phone,email,tags", rows))
    assert imported.status_code == 201, imported.text

    response = client.get(EXPORT, params={"sort": "name"})

    assert response.status_code == 200
    assert "content-length" not in response.headers  # streamed, not built first
    exported = read_export(response)
    assert [row[0] for row in exported[1:]] == [f"Persona {i:04d}" for i in range(count)]
    assert exported[1][1:5] == ["'+34600000000", "p0@example.com", "activo", "lote"]


def test_the_export_is_gzipped_when_the_client_accepts_it(client: Client) -> None:
    for i in range(50):
        create(client, name=f"Contacto {i}", phone=f"+3460000{i:04d}")
    response = client.get(EXPORT, headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert len(read_export(response)) == 51
    raw = client.get(EXPORT, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert gzip.compress(raw.content)  # the plain body is the file itself
    assert raw.content == response.content


def _carried(contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        ({field: contact[field] for field in CARRIED} for contact in contacts),
        key=lambda contact: contact["name"],
    )


def test_an_export_imports_back_into_another_account_as_the_same_contacts(
    client: Client,
) -> None:
    for fields in (
        {"name": "Ana Pérez", "email": "ana@example.com", "tags": ["cliente", "vip"]},
        {"name": "Bea", "phone": None, "email": "bea@example.com", "status": "inactivo"},
        {"name": "Carla", "phone": "+44 7911 123456", "opted_out": True, "notes": "Baja"},
        {"name": "=1+1", "phone": "611000001", "notes": '-nota\ncon, comas; y "comillas"'},
        {"name": "@arroba", "phone": "611000002", "tags": ["-raro", "ñandú", "a b"]},
        {"name": "'Apóstrofo", "phone": "611000003", "notes": "'=x"},
        {"name": "+Más", "phone": "611000004", "status": "inactivo", "opted_out": True},
        {"name": "Zoë Ñandú 🌵", "phone": "611000005", "email": "zoe@example.com"},
    ):
        create(client, **fields)
    originals = all_contacts(client)
    exported = client.get(EXPORT)
    assert exported.status_code == 200

    second_user(client)
    response = upload(client, "contactos.csv", exported.content)

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["imported_count"], body["invalid_count"], body["errors"]) == (8, 0, [])
    copies = all_contacts(client)
    assert _carried(copies) == _carried(originals)
    assert {contact["source"] for contact in copies} == {"import"}
