"""/health, /ready, the OpenAPI document and response compression."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.http.support import AppFactory, Client, assert_problem, without_origin

ENDPOINTS = {
    "/api/auth/register": {"post"},
    "/api/auth/login": {"post"},
    "/api/auth/logout": {"post"},
    "/api/auth/me": {"get"},
    "/api/auth/check-session": {"get"},
    "/api/profile": {"get", "put"},
    "/api/profile/api-keys": {"get"},
    "/api/profile/change-password": {"post"},
    "/api/profile/delete-account": {"delete"},
    "/health": {"get"},
    "/ready": {"get"},
}


@pytest.fixture
def openapi(client: Client) -> dict[str, object]:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    document: dict[str, object] = response.json()
    return document


def test_health_is_200_json(client: Client) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"status": "ok"}


def test_health_answers_head_probes(client: Client) -> None:
    assert client.head("/health").status_code == 200


def test_ready_is_200_when_the_database_answers(client: Client) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_ready_is_a_503_problem_when_the_database_is_unreachable(
    make_client: AppFactory, tmp_path: Path
) -> None:
    unreachable = f"sqlite:///{tmp_path}/does-not-exist/app.db"
    client = make_client(database_url=unreachable, run_migrations=False)

    body = assert_problem(client.get("/ready"), 503)
    assert body["error"] == "El servicio no está disponible"
    assert "sqlite" not in body["error"].lower()
    # The process itself is still up.
    assert client.get("/health").status_code == 200


def test_openapi_lists_every_endpoint(openapi: dict[str, object]) -> None:
    paths = openapi["paths"]
    assert isinstance(paths, dict)
    for path, methods in ENDPOINTS.items():
        assert path in paths, (path, sorted(paths))
        assert methods <= set(paths[path]), (path, set(paths[path]))


@pytest.mark.parametrize(
    ("path", "method", "status"),
    [
        ("/api/auth/me", "get", "401"),
        ("/api/profile", "get", "401"),
        ("/api/profile", "put", "400"),
        ("/api/profile", "put", "401"),
        ("/api/auth/register", "post", "400"),
        ("/api/auth/register", "post", "409"),
        ("/api/auth/register", "post", "429"),
        ("/api/auth/login", "post", "401"),
        ("/api/auth/login", "post", "429"),
        ("/api/profile/change-password", "post", "400"),
        ("/api/profile/delete-account", "delete", "400"),
        ("/ready", "get", "503"),
    ],
)
def test_openapi_documents_error_responses_as_problems(
    openapi: dict[str, object], path: str, method: str, status: str
) -> None:
    paths = openapi["paths"]
    assert isinstance(paths, dict)
    responses = paths[path][method]["responses"]
    assert status in responses, (path, method, sorted(responses))
    content = responses[status]["content"]
    assert "application/problem+json" in content
    schema_ref = content["application/problem+json"]["schema"]["$ref"]
    problem = openapi["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]  # type: ignore[index]
    assert {"error", "type", "title", "status", "detail"} <= set(problem["properties"])


def test_openapi_describes_the_success_bodies(openapi: dict[str, object]) -> None:
    paths = openapi["paths"]
    assert isinstance(paths, dict)
    assert "201" in paths["/api/auth/register"]["post"]["responses"]
    assert "200" in paths["/api/auth/login"]["post"]["responses"]
    assert "200" in paths["/api/profile/delete-account"]["delete"]["responses"]
    schemas = openapi["components"]["schemas"]  # type: ignore[index]
    user_schema = next(s for name, s in schemas.items() if name.endswith("UserOut"))
    assert "whatsapp_api_key" in user_schema["properties"]
    assert "password_hash" not in user_schema["properties"]


def test_openapi_describes_the_user_behind_the_session(openapi: dict[str, object]) -> None:
    paths = openapi["paths"]
    assert isinstance(paths, dict)
    ok = paths["/api/auth/me"]["get"]["responses"]["200"]
    reference = ok["content"]["application/json"]["schema"]["$ref"]
    assert reference.endswith("UserEnvelope")


def test_schema_browser_is_served(client: Client) -> None:
    response = client.get("/schema")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


def test_large_responses_are_gzipped_when_asked(client: Client) -> None:
    response = client.get("/schema/openapi.json", headers={"Accept-Encoding": "gzip"})

    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert response.json()["openapi"].startswith("3.")


def test_gzipped_responses_vary_on_accept_encoding(client: Client) -> None:
    without_origin(client)
    response = client.get("/schema/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in response.headers.get("vary", "").lower()


def test_cross_origin_gzipped_responses_vary_on_origin_and_accept_encoding(
    client: Client,
) -> None:
    response = client.get("/schema/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    vary = {part.strip().lower() for part in response.headers["vary"].split(",")}
    assert {"origin", "accept-encoding"} <= vary


def test_gzipped_body_is_really_gzip(client: Client) -> None:
    # Read the raw stream so httpx does not decode it for us.
    with client.stream(
        "GET", "/schema/openapi.json", headers={"Accept-Encoding": "gzip"}
    ) as response:
        raw = b"".join(response.iter_raw())
    assert raw[:2] == b"\x1f\x8b"
    assert gzip.decompress(raw).startswith(b"{")


def test_responses_are_not_compressed_without_accept_encoding(client: Client) -> None:
    response = client.get("/schema/openapi.json", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in response.headers


def test_small_responses_are_not_compressed(client: Client) -> None:
    response = client.get("/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers


def test_a_served_process_keeps_its_start_up_objects_out_of_full_collections(
    tmp_path: Path,
) -> None:
    """``nexus serve``'s factory freezes what the process built (run in a process of its own:
    frozen objects are never collected)."""
    script = (
        "import gc; from nexus_http.app import create_served_app; "
        "before = gc.get_freeze_count(); create_served_app(); "
        "print(before, gc.get_freeze_count())"
    )
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/served.db",
        "SECRET_KEY": "s" * 40,
        "NEXUS_ENV": "development",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    before, after = map(int, done.stdout.split())
    assert before == 0
    assert after > 50_000
