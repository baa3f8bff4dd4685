"""POST /api/contacts/import (and its /csv, /excel aliases), GET /api/contacts/import/history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.http.contact_support import (
    FIXTURE_IMPORTS,
    FIXTURES,
    IMPORT_FIELDS,
    IMPORT_PATH,
    PAGINATION_FIELDS,
    all_contacts,
    create,
    csv_file,
    history,
    listing,
    second_user,
    upload,
    upload_fixture,
)
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

RESPONSE_FIELDS = frozenset(
    {
        "message",
        "imported_count",
        "updated_count",
        "duplicate_count",
        "invalid_count",
        "errors",
        "import",
    }
)


@pytest.fixture
def user(client: Client) -> dict[str, Any]:
    return registered(client)


def counts(body: dict[str, Any]) -> tuple[int, int, int, int]:
    return (
        body["imported_count"],
        body["updated_count"],
        body["duplicate_count"],
        body["invalid_count"],
    )


def summary(contacts: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(c["name"], c["phone"], c["email"], c["tags"]) for c in contacts]


# --- the committed fixtures --------------------------------------------------------------


@pytest.mark.usefixtures("user")
@pytest.mark.parametrize(("name", "file_type", "expected", "errors", "contacts"), FIXTURE_IMPORTS)
def test_the_fixtures_import_with_exact_counts(
    client: Client,
    name: str,
    file_type: str,
    expected: tuple[int, int, int, int],
    errors: list[tuple[int, str]],
    contacts: list[tuple[Any, ...]],
) -> None:
    response = upload_fixture(client, name)

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == RESPONSE_FIELDS
    assert counts(body) == expected
    assert [(e["row"], e["message"]) for e in body["errors"]] == errors
    record = body["import"]
    assert set(record) == IMPORT_FIELDS
    assert (record["filename"], record["file_type"], record["status"]) == (
        name,
        file_type,
        "completed",
    )
    assert record["total_rows"] == sum(expected)
    assert (
        record["contacts_imported"],
        record["updated_count"],
        record["duplicate_count"],
        record["invalid_count"],
    ) == expected
    assert record["error_message"] is None
    assert re.match(RFC3339_UTC, record["created_at"])
    assert re.match(RFC3339_UTC, record["completed_at"])
    stored = all_contacts(client)
    assert summary(stored) == contacts
    assert {c["source"] for c in stored} == {"import"}
    assert history(client)["imports"] == [record]


def test_the_fixture_contacts_keep_their_notes(client: Client, user: dict[str, Any]) -> None:
    upload_fixture(client, "google_contacts_v30.vcf")
    ana = all_contacts(client)[0]
    assert ana["notes"] == (
        "Clienta desde 2019, prefiere WhatsApp.\nLlamar por la tarde; y pidió catálogo de "
        "invierno y presupuesto de envío."
    )
    assert (ana["status"], ana["opted_out"], ana["user_id"]) == ("activo", False, user["id"])


@pytest.mark.usefixtures("user")
@pytest.mark.parametrize("path", [IMPORT_PATH, f"{IMPORT_PATH}/csv", f"{IMPORT_PATH}/excel"])
def test_the_aliases_are_the_same_endpoint(client: Client, path: str) -> None:
    for name in ("sep_semicolon.csv", "contacts.xlsx", "android_v21.vcf"):
        response = upload(client, name, (FIXTURES / name).read_bytes(), path=path)
        assert response.status_code == 201, (name, response.text)
    # The workbook's Ana and the Android María (Marta's phone) are duplicates.
    assert len(all_contacts(client)) == 3 + 0 + 2


@pytest.mark.usefixtures("user")
def test_the_message_sums_the_import_up(client: Client) -> None:
    body = upload_fixture(client, "contacts.xlsx").json()
    assert body["message"] == (
        "Importación completada: 1 nuevos, 0 actualizados, 1 duplicados, 2 no válidos"
    )
    again = upload_fixture(client, "contacts.xlsx").json()
    assert again["message"].startswith("Importación completada: 0 nuevos, 0 actualizados, 2")
    response = client.post(
        IMPORT_PATH,
        files={"file": ("c.xlsx", (FIXTURES / "contacts.xlsx").read_bytes())},
        headers={"Accept-Language": "en"},
    )
    assert response.json()["message"] == (
        "Import finished: 0 new, 0 updated, 2 duplicates, 2 invalid"
    )
    assert [e["message"] for e in response.json()["errors"]] == [
        "The phone number is not valid",
        "The name is missing",
    ]


# --- rows, counts and options ------------------------------------------------------------

ROWS = csv_file(
    "Nombre,Móvil,E-mail,Etiquetas,Notas,Estado,Baja",
    [
        "Ana Pérez,600 111 222,ANA@example.com,Cliente|VIP,Primera,activo,no",
        "Luis Gil,611222333,,,,Inactive,Sí",
        ",622333444,,,,,",
        ",,,,,,",
        "Marta,12,,,,,",
        "Ana Bis,+34600111222,,,,,",
        "Bea,,bea@example.com,,,quizá,",
        "'=Fórmula,'+34633444555,,,,,",
    ],
)


@pytest.mark.usefixtures("user")
def test_rows_are_counted_once_and_bad_ones_listed_by_spreadsheet_row(client: Client) -> None:
    body = upload(client, "clientes.csv", ROWS).json()

    assert counts(body) == (3, 0, 1, 3)
    assert body["import"]["total_rows"] == 7  # the blank row 5 is not counted
    assert body["errors"] == [
        {"row": 4, "message": "Falta el nombre"},
        {"row": 6, "message": "El teléfono no es válido"},
        {"row": 8, "message": "El estado debe ser activo o inactivo"},
    ]
    ana, luis, formula = all_contacts(client)
    assert (ana["email"], ana["tags"], ana["notes"]) == (
        "ana@example.com",
        ["cliente", "vip"],
        "Primera",
    )
    assert (luis["status"], luis["opted_out"]) == ("inactivo", True)
    assert (formula["name"], formula["phone"]) == ("=Fórmula", "+34633444555")


@pytest.mark.usefixtures("user")
def test_only_the_first_hundred_bad_rows_are_listed(client: Client) -> None:
    rows = [f"Sin dirección {i},," for i in range(150)]
    body = upload(client, "malas.csv", csv_file("name,phone,email", rows)).json()
    assert counts(body) == (0, 0, 0, 150)
    assert [e["row"] for e in body["errors"]] == list(range(2, 102))
    assert {e["message"] for e in body["errors"]} == {"Indica un teléfono o un correo electrónico"}


@pytest.mark.usefixtures("user")
def test_the_tags_field_is_added_to_every_imported_contact(client: Client) -> None:
    response = upload(client, "sep_semicolon.csv", (FIXTURES / "sep_semicolon.csv").read_bytes(),
                      tags=" Feria 2026 , VIP")  # fmt: skip
    assert response.status_code == 201
    assert {tuple(c["tags"]) for c in all_contacts(client)} == {("feria 2026", "vip")}


@pytest.mark.usefixtures("user")
def test_a_repeated_tags_field_adds_every_value(client: Client) -> None:
    response = client.post(
        IMPORT_PATH,
        files={"file": ("a.csv", b"name,phone\nAna,600111222\n")},
        data={"tags": ["uno", "dos"]},
    )
    assert response.status_code == 201, response.text
    assert all_contacts(client)[0]["tags"] == ["uno", "dos"]


@pytest.mark.usefixtures("user")
def test_skip_is_the_default_for_duplicates(client: Client) -> None:
    existing = create(client, name="Ana", tags=["vieja"])
    data = csv_file("name,phone,email", ["Ana Nueva,600111222,ana@example.com"])
    for fields in ({}, {"on_duplicate": "skip"}, {"on_duplicate": ""}):
        body = upload(client, "a.csv", data, **fields).json()
        assert counts(body) == (0, 0, 1, 0)
    assert all_contacts(client) == [existing]


@pytest.mark.usefixtures("user")
def test_update_overwrites_with_non_empty_cells_and_adds_tags(client: Client) -> None:
    existing = create(client, name="Ana", notes="Guardada", tags=["vieja"])
    data = csv_file(
        "name,phone,email,notes,tags",
        [
            "Ana Nueva,600111222,ana@example.com,,nueva",
            "Luis,611222333,,,",
            "Luis Gil,611222333,luis@example.com,,",
        ],
    )

    body = upload(client, "a.csv", data, on_duplicate="update", tags="feria").json()

    assert counts(body) == (1, 2, 0, 0)
    ana, luis = all_contacts(client)
    assert ana["id"] == existing["id"]
    assert (ana["name"], ana["email"], ana["notes"], ana["tags"], ana["source"]) == (
        "Ana Nueva",
        "ana@example.com",
        "Guardada",
        ["vieja", "nueva", "feria"],
        "manual",
    )
    assert (luis["name"], luis["email"], luis["tags"]) == (
        "Luis Gil",
        "luis@example.com",
        ["feria"],
    )


@pytest.mark.usefixtures("user")
@pytest.mark.parametrize(
    ("fields", "names"),
    [
        ({"on_duplicate": "merge"}, {"on_duplicate"}),
        ({"tags": "t" * 41}, {"tags"}),
        ({"tags": "a,b," + ",".join(f"t{i}" for i in range(20))}, {"tags"}),
        ({"on_duplicate": "x", "tags": "t" * 41}, {"on_duplicate", "tags"}),
    ],
)
def test_bad_options_are_400_and_nothing_is_imported_or_recorded(
    client: Client, fields: dict[str, str], names: set[str]
) -> None:
    response = upload(client, "a.csv", b"name,phone\nAna,600111222\n", **fields)
    body = assert_problem(response, 400, fields=names)
    assert {item["field"] for item in body["errors"]} == names
    assert listing(client)["contacts"] == []
    assert history(client)["imports"] == []


@pytest.mark.usefixtures("user")
def test_phones_are_read_with_the_users_default_country(client: Client) -> None:
    client.put("/api/profile", json={"default_country": "MX"})
    upload(client, "mx.csv", b"name,phone\nPaco,55 1234 5678\n")
    assert all_contacts(client)[0]["phone"] == "+525512345678"


@pytest.mark.usefixtures("user")
def test_a_large_file_is_imported_whole(client: Client) -> None:
    count = 4_321
    rows = [f"Persona {i},+3460{i:07d},p{i}@example.com" for i in range(count)]
    rows += [f"Repetida {i},+3460{i:07d}," for i in range(50)]

    body = upload(client, "grande.csv", csv_file("name,phone,email", rows)).json()

    assert counts(body) == (count, 0, 50, 0)
    assert listing(client)["pagination"]["total"] == count


# --- files that cannot be read -----------------------------------------------------------

UNREADABLE = [
    pytest.param("vacio.csv", b"", "csv", "El archivo está vacío", id="empty"),
    pytest.param(
        "informe.pdf",
        b"%PDF-1.7 binary",
        None,
        "Tipo de archivo no admitido: sube un CSV, un Excel (.xlsx) o un vCard (.vcf)",
        id="unsupported",
    ),
    pytest.param(
        "ventas.csv",
        b"fecha,importe\n2024-01-01,5\n",
        "csv",
        "El archivo no tiene ninguna columna de nombre, teléfono o correo electrónico",
        id="no-columns",
    ),
    pytest.param(
        "utf16.csv",
        "name,phone\nAna,600111222\n".encode("utf-16"),
        "csv",
        "No se pudo leer el archivo: su contenido está dañado o no es CSV, XLSX ni vCard válido",
        id="undecodable",
    ),
    pytest.param(
        "roto.xlsx",
        b"PK\x03\x04 not really a workbook",
        "excel",
        "No se pudo leer el archivo: su contenido está dañado o no es CSV, XLSX ni vCard válido",
        id="broken-workbook",
    ),
]


@pytest.mark.usefixtures("user")
@pytest.mark.parametrize(("filename", "data", "file_type", "message"), UNREADABLE)
def test_an_unreadable_file_is_400_recorded_as_failed_and_leaves_nothing(
    client: Client, filename: str, data: bytes, file_type: str | None, message: str
) -> None:
    before = create(client, name="Ya estaba", phone="699999999")

    response = upload(client, filename, data)

    assert assert_problem(response, 400)["error"] == message
    assert all_contacts(client) == [before]
    (record,) = history(client)["imports"]
    assert record | {"created_at": "", "completed_at": ""} == {
        "id": record["id"],
        "filename": filename,
        "file_type": file_type,
        "status": "failed",
        "total_rows": 0,
        "contacts_imported": 0,
        "updated_count": 0,
        "duplicate_count": 0,
        "invalid_count": 0,
        "error_message": message,
        "created_at": "",
        "completed_at": "",
    }
    assert re.match(RFC3339_UTC, record["completed_at"])


@pytest.mark.usefixtures("user")
def test_a_file_unreadable_part_way_leaves_no_contact_behind(client: Client) -> None:
    existing = create(client, name="Ya estaba", phone="+34600000005", tags=["vieja"])
    # More rows than one database batch and than the readers' first 64 KiB, then a NUL byte.
    rows = [f"Persona {i},+3460{i:07d},p{i}@example.com,nueva" for i in range(3_000)]
    data = csv_file("name,phone,email,tags", rows) + b"Rota,\x00\n"

    response = upload(client, "roto.csv", data, on_duplicate="update")

    body = assert_problem(response, 400)
    assert body["error"].startswith("No se pudo leer el archivo")
    assert all_contacts(client) == [existing]
    (record,) = history(client)["imports"]
    assert (record["status"], record["file_type"], record["contacts_imported"]) == (
        "failed",
        "csv",
        0,
    )


@pytest.mark.usefixtures("user")
def test_a_failed_imports_error_is_shown_in_the_clients_language(client: Client) -> None:
    upload(client, "vacio.csv", b"")
    english = client.get(f"{IMPORT_PATH}/history", headers={"Accept-Language": "en"})
    assert english.json()["imports"][0]["error_message"] == "The file is empty"


# --- the request itself ------------------------------------------------------------------


@pytest.mark.usefixtures("user")
def test_a_form_without_a_file_is_400(client: Client) -> None:
    for response in (
        client.post(IMPORT_PATH, files={"tags": (None, "vip")}),
        client.post(IMPORT_PATH, files={"file": (None, "name,phone\nAna,600111222\n")}),
        client.post(IMPORT_PATH),
    ):
        body = assert_problem(response, 400, fields={"file"})
        assert body["error"] == "Adjunta el archivo a importar en el campo file"
    assert history(client)["imports"] == []


@pytest.mark.usefixtures("user")
def test_a_body_that_is_not_multipart_is_415(client: Client) -> None:
    for response in (
        client.post(IMPORT_PATH, json={"file": "name,phone"}),
        client.post(IMPORT_PATH, data={"file": "name,phone"}),
        client.post(IMPORT_PATH, content=b"name,phone\n", headers={"Content-Type": "text/csv"}),
    ):
        body = assert_problem(response, 415)
        assert body["error"] == "El archivo debe enviarse como multipart/form-data"


@pytest.mark.usefixtures("user")
def test_a_malformed_multipart_body_is_400(client: Client) -> None:
    response = client.post(
        IMPORT_PATH,
        content=b'--xyz\r\nContent-Disposition: form-data; name="file"\r\n\r\nno end',
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert_problem(response, 400)
    assert history(client)["imports"] == []


def test_an_import_needs_a_session(client: Client) -> None:
    response = upload(client, "a.csv", b"name,phone\nAna,600111222\n")
    assert_problem(response, 401)


def test_the_session_is_checked_before_the_upload_is_read(make_client: AppFactory) -> None:
    client = make_client(max_import_bytes=1000)
    assert_problem(upload(client, "big.csv", b"x" * 5000), 401)


def _multipart(filename: str, data: bytes, boundary: str = "nexus-test-boundary") -> bytes:
    return (
        (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )


def _chunked(body: bytes, size: int = 8192) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


MULTIPART = {"Content-Type": "multipart/form-data; boundary=nexus-test-boundary"}


def _exactly(size: int) -> bytes:
    """A valid CSV of exactly ``size`` bytes."""
    head = b"name,phone,notes\nAna,600111222,"
    return head + b"n" * (size - len(head) - 1) + b"\n"


@pytest.fixture
def small_limit(make_client: AppFactory) -> Client:
    client = make_client(max_import_bytes=1000)
    registered(client)
    return client


def test_a_file_at_the_limit_is_imported(small_limit: Client) -> None:
    response = upload(small_limit, "justo.csv", _exactly(1000))
    assert response.status_code == 201, response.text
    chunked = small_limit.post(
        IMPORT_PATH, content=_chunked(_multipart("justo2.csv", _exactly(1000))), headers=MULTIPART
    )
    assert chunked.status_code == 201, chunked.text


def test_a_file_over_the_limit_is_413_and_nothing_is_recorded(small_limit: Client) -> None:
    response = upload(small_limit, "grande.csv", _exactly(1001))

    body = assert_problem(response, 413)
    assert body["error"] == "El archivo supera el tamaño máximo de importación (1000 bytes)"
    assert listing(small_limit)["contacts"] == []
    assert history(small_limit)["imports"] == []


@pytest.mark.parametrize("size", [1001, 5_000, 300_000])
def test_a_chunked_upload_over_the_limit_is_413(small_limit: Client, size: int) -> None:
    body = _multipart("grande.csv", _exactly(size))
    response = small_limit.post(IMPORT_PATH, content=_chunked(body), headers=MULTIPART)
    assert_problem(response, 413)
    assert history(small_limit)["imports"] == []


def test_an_announced_length_over_the_limit_is_413(small_limit: Client) -> None:
    body = _multipart("grande.csv", _exactly(200_000))
    response = small_limit.post(
        IMPORT_PATH, content=body, headers={**MULTIPART, "Content-Length": str(len(body))}
    )
    assert_problem(response, 413)


def test_the_413_names_the_limit_in_mib(make_client: AppFactory) -> None:
    client = make_client(max_import_bytes=1024 * 1024)
    registered(client)
    response = client.post(
        IMPORT_PATH,
        files={"file": ("g.csv", _exactly(1024 * 1024 + 1))},
        headers={"Accept-Language": "en"},
    )
    assert assert_problem(response, 413)["error"] == (
        "The file is larger than the import limit (1 MiB)"
    )


def test_the_json_limit_does_not_apply_to_imports(client: Client, user: dict[str, Any]) -> None:
    rows = [f"Persona {i},+3460{i:07d},p{i}@example.com,{'n' * 200}" for i in range(6_000)]
    data = csv_file("name,phone,email,notes", rows)
    assert len(data) > 1024 * 1024
    response = upload(client, "grande.csv", data)
    assert response.status_code == 201, response.text
    assert response.json()["imported_count"] == 6_000


def test_imports_are_rate_limited(make_client: AppFactory) -> None:
    client = make_client(import_rate_per_minute=2)
    registered(client)
    data = b"name,phone\nAna,600111222\n"
    assert upload(client, "1.csv", data).status_code == 201
    assert upload(client, "2.csv", data).status_code == 201

    response = upload(client, "3.csv", data)

    body = assert_problem(response, 429)
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 60
    assert body["error"] == (
        f"Demasiadas importaciones; inténtalo de nuevo en {retry_after} segundos"
    )
    assert len(history(client)["imports"]) == 2


def test_a_zero_rate_turns_the_limit_off(make_client: AppFactory) -> None:
    client = make_client(import_rate_per_minute=0)
    registered(client)
    for i in range(35):
        assert upload(client, f"{i}.csv", b"name,phone\nAna,600111222\n").status_code == 201


@pytest.mark.usefixtures("user")
def test_an_import_from_a_foreign_origin_is_403_and_imports_nothing(client: Client) -> None:
    response = client.post(
        IMPORT_PATH,
        files={"file": ("a.csv", b"name,phone\nAna,600111222\n")},
        headers={"Origin": EVIL_ORIGIN},
    )
    assert_problem(response, 403)
    without_origin(client)
    assert_problem(upload(client, "a.csv", b"name,phone\nAna,600111222\n"), 403)
    assert listing(client)["contacts"] == []
    assert history(client)["imports"] == []


def test_a_multipart_body_to_a_json_endpoint_is_still_415(
    client: Client, user: dict[str, Any]
) -> None:
    response = client.post("/api/contacts", files={"file": ("a.csv", b"name\nAna\n")})
    assert_problem(response, 415)


# --- history -----------------------------------------------------------------------------


def test_history_pages_newest_first(client: Client, user: dict[str, Any]) -> None:
    for i in range(5):
        upload(client, f"f{i}.csv", f"name,phone\nP{i},60000000{i}\n".encode())

    first = history(client, per_page=2)

    assert [r["filename"] for r in first["imports"]] == ["f4.csv", "f3.csv"]
    assert set(first["pagination"]) == PAGINATION_FIELDS
    assert first["pagination"] == {
        "page": 1,
        "per_page": 2,
        "total": 5,
        "pages": 3,
        "has_next": True,
        "has_prev": False,
    }
    last = history(client, per_page=2, page=3)
    assert [r["filename"] for r in last["imports"]] == ["f0.csv"]
    assert (last["pagination"]["has_next"], last["pagination"]["has_prev"]) == (False, True)
    assert history(client, page=9)["imports"] == []
    assert history(client, per_page=500)["pagination"]["per_page"] == 100


@pytest.mark.usefixtures("user")
@pytest.mark.parametrize(
    ("params", "fields"),
    [({"page": "0"}, {"page"}), ({"per_page": "x"}, {"per_page"}), ({"page": "-2"}, {"page"})],
)
def test_bad_history_parameters_are_400(
    client: Client, params: dict[str, str], fields: set[str]
) -> None:
    assert_problem(client.get(f"{IMPORT_PATH}/history", params=params), 400, fields=fields)


def test_history_is_the_users_own(client: Client, user: dict[str, Any]) -> None:
    upload(client, "de-ana.csv", b"name,phone\nAna,600111222\n")
    ana = session_token(client)
    second_user(client)
    assert history(client)["imports"] == []
    assert history(client)["pagination"]["total"] == 0
    with_cookie(client, ana)
    assert [r["filename"] for r in history(client)["imports"]] == ["de-ana.csv"]


def test_history_needs_a_session(client: Client) -> None:
    assert_problem(client.get(f"{IMPORT_PATH}/history"), 401)


@pytest.mark.usefixtures("user")
def test_the_recorded_filename_drops_folders(client: Client) -> None:
    response = upload(client, "C:\\fakepath\\clientes.csv", b"name,phone\nAna,600111222\n")
    assert response.json()["import"]["filename"] == "clientes.csv"
