"""The contract's conventions: problem details, languages, content types, sizes, headers."""

from __future__ import annotations

import re

import pytest

from nexus_http import request_context
from tests.http.support import (
    EMAIL,
    PASSWORD,
    Client,
    assert_problem,
    register,
    registered,
)

MIB = 1024 * 1024


# --- problem details ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/api/nope", "/api/auth/nope", "/api/profile/x/y"])
def test_unknown_path_is_a_404_problem(client: Client, path: str) -> None:
    body = assert_problem(client.get(path), 404)
    assert body["error"] == "La ruta solicitada no existe"


def test_unknown_path_with_an_unsafe_method_is_a_404_problem(client: Client) -> None:
    assert_problem(client.post("/api/nope", json={}), 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/api/auth/me"),
        ("GET", "/api/auth/login"),
        ("PUT", "/api/auth/register"),
        ("POST", "/api/profile"),
        ("GET", "/api/profile/delete-account"),
        ("POST", "/health"),
    ],
)
def test_wrong_method_is_a_405_problem_with_allow(client: Client, method: str, path: str) -> None:
    response = client.request(method, path)
    body = assert_problem(response, 405)
    assert body["error"] == "Método no permitido en esta ruta"
    assert "allow" in response.headers


def test_errors_are_english_when_accept_language_prefers_en(client: Client) -> None:
    for accept in ("en", "en-US", "en-GB,en;q=0.9", "es;q=0.3, en;q=0.8", "fr, en;q=0.5"):
        body = assert_problem(client.get("/nope", headers={"Accept-Language": accept}), 404)
        assert body["error"] == "The requested path does not exist", accept


def test_errors_are_spanish_by_default_and_for_other_languages(client: Client) -> None:
    for accept in (None, "", "es", "es-ES", "fr", "de, it", "en;q=0.3, es;q=0.9", "en;q=0"):
        headers = {} if accept is None else {"Accept-Language": accept}
        body = assert_problem(client.get("/nope", headers=headers), 404)
        assert body["error"] == "La ruta solicitada no existe", accept


def test_malformed_json_is_400(client: Client) -> None:
    for raw in (b"{bad json", b'{"email": "a@b.co",}', b"\xff\xfe"):
        response = client.post(
            "/api/auth/login", content=raw, headers={"Content-Type": "application/json"}
        )
        body = assert_problem(response, 400)
        assert body["error"] == "El cuerpo de la solicitud no es JSON válido"


def test_an_empty_json_body_is_400(client: Client) -> None:
    response = client.post(
        "/api/auth/login", content=b"", headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 400)


def test_a_json_body_that_is_not_an_object_is_400(client: Client) -> None:
    assert_problem(client.post("/api/auth/login", json=[EMAIL, PASSWORD]), 400)
    assert_problem(client.post("/api/auth/login", json="hello"), 400)


def test_wrong_typed_field_is_400_naming_it(client: Client) -> None:
    body = assert_problem(
        client.post("/api/auth/login", json={"email": EMAIL, "password": 12345678}),
        400,
        fields={"password"},
    )
    assert body["errors"][0]["message"] == "El valor no tiene el tipo esperado"


def test_text_plain_body_is_415(client: Client) -> None:
    response = client.post(
        "/api/auth/login",
        content=f'{{"email": "{EMAIL}", "password": "{PASSWORD}"}}',
        headers={"Content-Type": "text/plain"},
    )
    body = assert_problem(response, 415)
    assert body["error"] == "El cuerpo debe enviarse como application/json"


def test_form_body_is_415_on_a_session_endpoint(client: Client) -> None:
    registered(client)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    response = client.put("/api/profile", content=b"name=X", headers=form)
    assert_problem(response, 415)
    assert client.get("/api/profile").json()["user"]["name"] == "Ana"


def test_json_with_a_charset_is_accepted(client: Client) -> None:
    response = client.post(
        "/api/auth/register",
        content=f'{{"email": "{EMAIL}", "password": "{PASSWORD}", "name": "Ana"}}'.encode(),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201


def test_json_body_over_one_mib_is_413(client: Client) -> None:
    registered(client)
    big = b'{"name": "' + b"a" * MIB + b'"}'

    response = client.put("/api/profile", content=big, headers={"Content-Type": "application/json"})

    body = assert_problem(response, 413)
    assert body["error"] == "El cuerpo de la solicitud es demasiado grande"
    assert client.get("/api/profile").json()["user"]["name"] == "Ana"


def test_json_body_over_one_mib_is_413_even_unauthenticated(client: Client) -> None:
    big = b'{"email": "a@b.co", "password": "' + b"p" * (MIB + 1) + b'"}'
    response = client.post(
        "/api/auth/login", content=big, headers={"Content-Type": "application/json"}
    )
    assert_problem(response, 413)


def test_json_body_just_under_one_mib_is_not_413(client: Client) -> None:
    registered(client)
    body = b'{"theme": "dark", "padding": "' + b" " * (MIB - 100) + b'"}'
    response = client.put(
        "/api/profile", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200


def test_unexpected_failures_are_a_500_problem_without_details(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("SELECT password_hash FROM users -- secret-internal-detail")

    monkeypatch.setattr(request_context, "authenticate", explode)

    response = client.get("/api/auth/me")

    body = assert_problem(response, 500)
    assert body["error"] == "Error interno del servidor; inténtalo de nuevo más tarde"
    assert "SELECT" not in response.text
    assert "secret-internal-detail" not in response.text
    assert "Traceback" not in response.text


# --- headers ------------------------------------------------------------------------------


def test_every_response_carries_nosniff(client: Client) -> None:
    responses = [
        register(client),
        client.get("/api/auth/me"),
        client.get("/api/profile"),
        client.get("/nope"),
        client.delete("/api/auth/me"),
        client.post("/api/auth/login", content=b"{", headers={"Content-Type": "application/json"}),
        client.post("/api/auth/login", json={"email": EMAIL, "password": "wrong password"}),
        client.post("/api/auth/register", json={"email": EMAIL}, headers={"Origin": "https://x.y"}),
        client.get("/health"),
        client.get("/ready"),
        client.get("/schema/openapi.json"),
        client.options(
            "/api/auth/login",
            headers={"Access-Control-Request-Method": "POST"},
        ),
    ]
    for response in responses:
        assert response.headers.get("x-content-type-options") == "nosniff", (
            response.request.method,
            response.request.url,
            response.status_code,
        )


def test_request_id_is_echoed(client: Client) -> None:
    response = client.get("/health", headers={"X-Request-ID": "abc-123.XYZ_9"})
    assert response.headers["x-request-id"] == "abc-123.XYZ_9"
    # Also on errors.
    response = client.get("/nope", headers={"X-Request-ID": "req-404"})
    assert response.headers["x-request-id"] == "req-404"


def test_a_request_id_is_generated_when_missing_or_unsafe(client: Client) -> None:
    generated = client.get("/health").headers["x-request-id"]
    assert re.fullmatch(r"[A-Za-z0-9._-]{8,64}", generated)
    assert client.get("/health").headers["x-request-id"] != generated

    unsafe = client.get("/health", headers={"X-Request-ID": "bad id\r\nwith stuff"})
    assert unsafe.headers["x-request-id"] != "bad id\r\nwith stuff"
    assert re.fullmatch(r"[A-Za-z0-9._-]{8,64}", unsafe.headers["x-request-id"])
    too_long = client.get("/health", headers={"X-Request-ID": "a" * 65})
    assert too_long.headers["x-request-id"] != "a" * 65


def test_success_bodies_are_json_envelopes(client: Client) -> None:
    for response in (
        register(client),
        client.get("/api/auth/me"),
        client.get("/api/auth/check-session"),
        client.get("/api/profile"),
        client.put("/api/profile", json={"theme": "dark"}),
        client.get("/api/profile/api-keys"),
        client.post("/api/auth/logout"),
        client.post("/api/auth/logout"),
    ):
        assert 200 <= response.status_code < 300
        assert response.headers["content-type"].startswith("application/json")
        assert isinstance(response.json(), dict)
