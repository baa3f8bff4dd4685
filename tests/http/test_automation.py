"""The AI automation over HTTP on SQLite and PostgreSQL, against a local server speaking
Gemini's ``generateContent``: status, toggle, activity, the dry run (``test-response``) and
campaign drafts (``/api/campaigns/generate-message``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import URL

from nexus_core.domain.automation import AUTO_REPLY_MAX
from tests.doubles.gemini_api import GeminiApiDouble, answer, blocked_prompt, gemini_error
from tests.http.support import AppFactory, Client, assert_problem, registered
from tests.postgres import empty_public_schema

KEY = "AIza-http-test-key-0042"
KNOWLEDGE = "Abrimos de lunes a sábado de 9 a 20 h. Envíos gratis desde 50 €."


@pytest.fixture
def gemini() -> Iterator[GeminiApiDouble]:
    with GeminiApiDouble(keys={KEY}) as double:
        yield double


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def client(
    request: pytest.FixtureRequest, make_client: AppFactory, gemini: GeminiApiDouble
) -> Client:
    """Ana, logged in, without Gemini configured yet, on SQLite and then PostgreSQL."""
    settings: dict[str, Any] = {"gemini_api_url": gemini.base_url}
    if request.param == "postgresql":
        url: URL = request.getfixturevalue("postgres_session_url")
        empty_public_schema(url)
        settings |= {"database_url": url.render_as_string(hide_password=False), "db_pool_size": 4}
    made = make_client(**settings)
    registered(made)
    return made


def configure(client: Client, **extra: Any) -> None:
    body = {"gemini_api_key": KEY, "gemini_knowledge_base": KNOWLEDGE, **extra}
    assert client.put("/api/profile", json=body).status_code == 200


def status(client: Client) -> dict[str, Any]:
    response = client.get("/api/automation/status")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["status"]
    return found


def test_the_status_says_whether_it_is_on_and_configured(client: Client) -> None:
    assert status(client) == {
        "enabled": False,
        "configured": False,
        "replies_today": 0,
        "failures_today": 0,
    }
    configure(client, gemini_auto_reply_enabled=True)
    assert status(client) | {"replies_today": 0} == {
        "enabled": True,
        "configured": True,
        "replies_today": 0,
        "failures_today": 0,
    }


def test_toggling_needs_a_key_and_flips_or_sets(client: Client) -> None:
    response = client.post("/api/automation/toggle")
    assert "Gemini" in assert_problem(response, 400)["error"]
    assert status(client)["enabled"] is False
    configure(client)
    flipped = client.post("/api/automation/toggle")
    assert flipped.status_code == 200, flipped.text
    assert flipped.json() == {"message": "Respuestas automáticas activadas", "enabled": True}
    assert client.get("/api/profile").json()["user"]["gemini_auto_reply_enabled"] is True
    off = client.post("/api/automation/toggle", json={"enabled": False})
    assert off.json()["enabled"] is False
    again = client.post("/api/automation/toggle", json={"enabled": False})
    assert again.json()["enabled"] is False
    assert client.post("/api/automation/toggle", json={}).json()["enabled"] is True
    wrong = client.post("/api/automation/toggle", json={"enabled": "yes"})
    assert_problem(wrong, 400, fields={"enabled"})


def test_the_activity_starts_empty(client: Client) -> None:
    response = client.get("/api/automation/activity")
    assert response.status_code == 200
    assert response.json() == {
        "activities": [],
        "pagination": {
            "page": 1, "per_page": 20, "total": 0, "pages": 0, "has_next": False,
            "has_prev": False,
        },
    }  # fmt: skip
    assert_problem(client.get("/api/automation/activity", params={"per_page": "x"}), 400)


def test_a_dry_run_answers_from_the_knowledge_base_and_sends_nothing(
    client: Client, gemini: GeminiApiDouble
) -> None:
    configure(client)
    response = client.post("/api/automation/test-response", json={"message": "¿Abrís el sábado?"})
    assert response.status_code == 200, response.text
    assert response.json() == {"response": "Respuesta: ¿Abrís el sábado?"}
    (request,) = gemini.requests
    assert KNOWLEDGE in request.instruction
    assert request.headers["x-goog-api-key"] == KEY
    assert client.get("/api/automation/activity").json()["pagination"]["total"] == 0
    assert status(client)["replies_today"] == 0


def test_a_long_answer_is_capped(client: Client, gemini: GeminiApiDouble) -> None:
    configure(client)
    gemini.script(answer("palabra " * 400))
    reply = client.post("/api/automation/test-response", json={"message": "Hola"}).json()
    assert len(reply["response"]) <= AUTO_REPLY_MAX
    assert reply["response"].endswith("…")


def test_a_dry_run_needs_a_message_and_a_key(client: Client, gemini: GeminiApiDouble) -> None:
    assert_problem(client.post("/api/automation/test-response", json={"message": "Hola"}), 400)
    configure(client)
    for body in ({}, {"message": "  "}, {"message": "x" * 4097}):
        assert_problem(
            client.post("/api/automation/test-response", json=body), 400, fields={"message"}
        )
    assert gemini.requests == []


@pytest.mark.parametrize(
    ("key", "reply", "status_code"),
    [
        ("AIza-wrong-key-9999", None, 400),
        (KEY, gemini_error(429), 502),
        (KEY, gemini_error(503), 502),
        (KEY, blocked_prompt(), 502),
    ],
)
def test_gemini_failures_are_clear_problems_without_the_key(
    client: Client, gemini: GeminiApiDouble, key: str, reply: Any, status_code: int
) -> None:
    configure(client, gemini_api_key=key)
    if reply is not None:
        gemini.script(reply)
    response = client.post("/api/automation/test-response", json={"message": "Hola"})
    problem = assert_problem(response, status_code)
    assert "Gemini" in problem["error"]
    assert key not in response.text


def test_a_campaign_draft_uses_only_the_known_placeholders(
    client: Client, gemini: GeminiApiDouble
) -> None:
    configure(client)
    gemini.script(answer("¡Hola {nombre}! {apellido} 20% en {producto} hasta el domingo."))
    response = client.post(
        "/api/campaigns/generate-message",
        json={"prompt": "Rebajas de otoño", "tone": "divertido", "channel": "whatsapp"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"message": "¡Hola {nombre}! 20% en hasta el domingo."}
    (request,) = gemini.requests
    assert request.last_user_text == "Rebajas de otoño"
    assert "divertido" in request.instruction
    assert "{first_name}" in request.instruction


def test_a_campaign_draft_checks_its_brief(client: Client, gemini: GeminiApiDouble) -> None:
    configure(client)
    path = "/api/campaigns/generate-message"
    assert_problem(client.post(path, json={"tone": "serio"}), 400, fields={"prompt"})
    assert_problem(client.post(path, json={"prompt": " "}), 400, fields={"prompt"})
    assert_problem(
        client.post(path, json={"prompt": "x", "channel": "sms"}), 400, fields={"channel"}
    )
    assert_problem(client.post(path, json={"prompt": "x", "tone": "t" * 51}), 400, fields={"tone"})
    assert gemini.requests == []
    email = client.post(path, json={"prompt": "Boletín", "channel": "email"})
    assert email.status_code == 200
    assert "correo" in gemini.requests[0].instruction


def test_everything_needs_a_session(client: Client) -> None:
    client.post("/api/auth/logout")
    assert_problem(client.get("/api/automation/status"), 401)
    assert_problem(client.post("/api/automation/toggle"), 401)
    assert_problem(client.get("/api/automation/activity"), 401)
    assert_problem(client.post("/api/automation/test-response", json={"message": "x"}), 401)
    assert_problem(client.post("/api/campaigns/generate-message", json={"prompt": "x"}), 401)
