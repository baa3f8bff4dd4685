"""Helpers shared by the contact and import HTTP tests."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http.support import Client, registered

FIXTURES = Path(__file__).parent.parent / "adapters" / "fixtures" / "imports"
IMPORT_PATH = "/api/contacts/import"

# The contact as the contract shows it: exactly these fields.
CONTACT_FIELDS = frozenset(
    {
        "id",
        "user_id",
        "name",
        "phone",
        "email",
        "status",
        "tags",
        "notes",
        "opted_out",
        "source",
        "created_at",
        "updated_at",
        "last_message",
    }
)
PAGINATION_FIELDS = frozenset({"page", "per_page", "total", "pages", "has_next", "has_prev"})
IMPORT_FIELDS = frozenset(
    {
        "id",
        "filename",
        "file_type",
        "status",
        "total_rows",
        "contacts_imported",
        "updated_count",
        "duplicate_count",
        "invalid_count",
        "error_message",
        "created_at",
        "completed_at",
    }
)


# Each committed import fixture, imported into an empty account: its type, its counts
# (imported, updated, duplicate, invalid), its bad rows, and its contacts (name, phone, email,
# tags), oldest first.
FIXTURE_IMPORTS = [
    pytest.param(
        "excel_es_semicolon_cp1252.csv",
        "csv",
        (4, 0, 0, 0),
        [],
        [
            ("Ana Pérez", "+34600111222", "ana@example.com", ["cliente", "vip"]),
            ("José Muñoz", "+34611222333", "jose@example.es", ["proveedor"]),
            ("Begoña Ibáñez", None, "begona@example.com", []),
            ("Seán O’Neill", "+34622333444", None, ["€uro"]),
        ],
        id="excel-cp1252-semicolons",
    ),
    pytest.param(
        "utf8_bom_comma_multiline.csv",
        "csv",
        (3, 0, 0, 0),
        [],
        [
            ("Pérez, Ana", "+34600111222", "ana@example.com", ["cliente", "vip"]),
            ("Zoë Ñandú 🌵", "+34611222333", "zoe@example.com", []),
            ("Luis Gil", "+34622333444", None, []),
        ],
        id="utf8-bom-multiline",
    ),
    pytest.param(
        "sep_semicolon.csv",
        "csv",
        (3, 0, 0, 0),
        [],
        [
            ("Ana Pérez", "+34600111222", "ana@example.com", []),
            ("Luis Gil", "+34611222333", None, []),
            ("Marta Ruiz", "+34622333444", "marta@example.com", []),
        ],
        id="sep-line",
    ),
    pytest.param(
        "contacts.xlsx",
        "excel",
        (1, 0, 1, 2),
        [(6, "El teléfono no es válido"), (7, "Falta el nombre")],
        [("Ana Pérez", "+34600111222", "ana@example.com", [])],
        id="xlsx",
    ),
    pytest.param(
        "google_contacts_v30.vcf",
        "vcard",
        (3, 0, 0, 0),
        [],
        [
            ("Ana Pérez", "+34600111222", "ana@empresa.example", ["clientes", "vip"]),
            ("José Luis Muñoz", "+34611222333", "jose@example.es", []),
            ("Marta Ruiz (Proveedora)", None, "marta@proveedor.example", ["proveedores"]),
        ],
        id="vcard-3.0",
    ),
    pytest.param(
        "android_v21.vcf",
        "vcard",
        (3, 0, 0, 0),
        [],
        [
            ("María de los Ángeles Fernández-Castañeda", "+34622333444", "maria@example.com", []),
            ("Luis Gil", "+34915555555", None, []),
            ("Begoña Ibáñez", "+34633444555", None, []),
        ],
        id="vcard-2.1",
    ),
]


def create(client: Client, **fields: Any) -> dict[str, Any]:
    """Create a contact (``name`` and ``phone`` have defaults); its JSON."""
    body = {"name": "Ana Pérez", "phone": "600111222", **fields}
    response = client.post("/api/contacts", json=body)
    assert response.status_code == 201, response.text
    contact: dict[str, Any] = response.json()["contact"]
    return contact


def listing(client: Client, **params: Any) -> dict[str, Any]:
    response = client.get("/api/contacts", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def names(client: Client, **params: Any) -> list[str]:
    return [contact["name"] for contact in listing(client, **params)["contacts"]]


def all_contacts(client: Client) -> list[dict[str, Any]]:
    """Every contact of the logged-in user, oldest first."""
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        body = listing(client, page=page, per_page=100, sort="created_at")
        found.extend(body["contacts"])
        if not body["pagination"]["has_next"]:
            return found
        page += 1


def upload(
    client: Client,
    filename: str,
    data: bytes,
    *,
    path: str = IMPORT_PATH,
    **fields: str,
) -> httpx.Response:
    return client.post(path, files={"file": (filename, data)}, data=fields)


def upload_fixture(client: Client, name: str, **fields: str) -> httpx.Response:
    return upload(client, name, (FIXTURES / name).read_bytes(), **fields)


def history(client: Client, **params: Any) -> dict[str, Any]:
    response = client.get(f"{IMPORT_PATH}/history", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def csv_file(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def read_export(response: httpx.Response) -> list[list[str]]:
    """The rows of an exported file, header included (after checking its BOM)."""
    assert response.content.startswith(b"\xef\xbb\xbf")
    text = response.content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def second_user(client: Client, email: str = "bob@example.com") -> dict[str, Any]:
    """Log the client in as another, new user (the first one's cookie is dropped)."""
    client.cookies.clear()
    return registered(client, email=email, name="Bob")
