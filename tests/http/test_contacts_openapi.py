"""The OpenAPI document describes every contact and import endpoint, and its errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from nexus_adapters.config import Settings
from tests.http.support import SECRET_KEY, Client, build_app

ENDPOINTS: dict[str, dict[str, set[str]]] = {
    "/api/contacts": {"get": {"200", "400", "401"}, "post": {"201", "400", "401", "403", "409"}},
    "/api/contacts/{contact_id}": {
        "get": {"200", "401", "404"},
        "put": {"200", "400", "401", "403", "404", "409"},
        "delete": {"200", "401", "403", "404"},
    },
    "/api/contacts/bulk-delete": {"post": {"200", "400", "401", "403"}},
    "/api/contacts/stats": {"get": {"200", "401"}},
    "/api/contacts/export": {"get": {"200", "400", "401"}},
    "/api/contacts/import": {"post": {"201", "400", "401", "403", "413", "415", "429"}},
    "/api/contacts/import/csv": {"post": {"201", "400", "413", "429"}},
    "/api/contacts/import/excel": {"post": {"201", "400", "413", "429"}},
    "/api/contacts/import/history": {"get": {"200", "400", "401"}},
}


@pytest.fixture(scope="module")
def app_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """One app for the module: the document does not change between requests."""
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi')}/app.db"
    with TestClient(build_app(Settings(database_url=url, secret_key=SECRET_KEY))) as client:
        yield client


@pytest.fixture(scope="module")
def openapi(app_client: Client) -> dict[str, Any]:
    response = app_client.get("/schema/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _schema(openapi: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    name = reference["$ref"].rsplit("/", 1)[1]
    schema: dict[str, Any] = openapi["components"]["schemas"][name]
    return schema


@pytest.mark.parametrize(
    ("path", "method", "statuses"),
    [
        (path, method, statuses)
        for path, ops in ENDPOINTS.items()
        for method, statuses in ops.items()
    ],
)
def test_every_endpoint_and_its_errors_are_documented(
    openapi: dict[str, Any], path: str, method: str, statuses: set[str]
) -> None:
    responses = openapi["paths"][path][method]["responses"]
    assert statuses <= set(responses), (path, method, sorted(responses))
    for status in statuses:
        if status.startswith("4"):
            content = responses[status]["content"]["application/problem+json"]
            assert {"error", "status", "detail"} <= set(
                _schema(openapi, content["schema"])["properties"]
            )


def test_the_bodies_are_described(openapi: dict[str, Any]) -> None:
    paths = openapi["paths"]
    listed = paths["/api/contacts"]["get"]["responses"]["200"]["content"]["application/json"]
    assert set(_schema(openapi, listed["schema"])["properties"]) == {"contacts", "pagination"}
    parameters = {p["name"] for p in paths["/api/contacts"]["get"]["parameters"]}
    assert {"page", "per_page", "search", "status", "tags", "sort"} <= parameters

    imported = paths["/api/contacts/import"]["post"]
    form = imported["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert {"file", "tags", "on_duplicate"} <= set(_schema(openapi, form)["properties"])
    body = imported["responses"]["201"]["content"]["application/json"]["schema"]
    assert set(_schema(openapi, body)["properties"]) == {
        "message",
        "imported_count",
        "updated_count",
        "duplicate_count",
        "invalid_count",
        "errors",
        "import",
    }
    exported = paths["/api/contacts/export"]["get"]["responses"]["200"]["content"]
    assert "text/csv" in exported
