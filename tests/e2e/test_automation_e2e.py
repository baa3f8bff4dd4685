"""Conversations and AI replies end to end: ``nexus serve`` (with ``nexus worker`` on
PostgreSQL, dispatching in-process on SQLite) as real processes, inbound messages posted to the
signed webhook as Meta posts them, Gemini a local server speaking ``generateContent`` and the
WhatsApp Cloud API the local double.

Every test works as a user of its own, with a business number and senders of its own. Nothing
waits a fixed time: "no reply" is shown by a later message of a user with the automation on
getting its reply (the workers take pending replies oldest first), and everything else by
polling the API with a deadline.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.doubles.gemini_api import GeminiApiDouble, gemini_error
from tests.doubles.whatsapp_cloud import WhatsAppCloudDouble
from tests.e2e.support import APP_SECRET, Api, Launch, Server, wait_for
from tests.inbound_webhooks import inbound_body, post_inbound, text_message

KEY = "AIza-e2e-gemini-key-3141"
KNOWLEDGE = "Horario: de lunes a sábado, de 9 a 20 h."
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def gemini() -> Iterator[GeminiApiDouble]:
    with GeminiApiDouble(keys={KEY}) as double:
        yield double


@pytest.fixture(scope="module")
def pg_ai_server(launch: Launch, postgres_url: str, gemini: GeminiApiDouble) -> Server:
    server = launch(postgres_url, name="serve-ai-postgresql", NEXUS_GEMINI_API_URL=gemini.base_url)
    server.worker()
    return server


@pytest.fixture
def sqlite_ai_server(launch: Launch, tmp_path: Path, gemini: GeminiApiDouble) -> Iterator[Server]:
    server = launch(
        f"sqlite:///{tmp_path / 'nexus.db'}",
        name="serve-ai-sqlite",
        NEXUS_GEMINI_API_URL=gemini.base_url,
    )
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest) -> Server:
    name = "sqlite_ai_server" if request.param == "sqlite" else "pg_ai_server"
    found: Server = request.getfixturevalue(name)
    return found


class Business:
    """A user with a business number of its own, and senders only it hears from."""

    def __init__(self, server: Server, **profile: Any) -> None:
        n = next(_numbers)
        self.server = server
        self.phone_number_id = f"77{n:04d}"
        self.senders = (f"346{n:02d}{m:06d}" for m in itertools.count())
        self.api: Api = server.user(whatsapp_phone_number_id=self.phone_number_id, **profile)
        self.webhook = httpx.Client(base_url=server.base_url, timeout=30.0)

    def receive(self, sender: str, *messages: dict[str, Any]) -> None:
        post_inbound(self.webhook, APP_SECRET, inbound_body(self.phone_number_id, *messages))

    def replies_to(self, cloud: WhatsAppCloudDouble, sender: str) -> list[str]:
        return [
            r.body["text"]["body"]
            for r in cloud.requests
            if r.path.endswith(f"/{self.phone_number_id}/messages") and r.body.get("to") == sender
        ]

    def activities(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.api.get("/api/automation/activity")["activities"]
        return found


AUTOMATION_ON = {
    "gemini_api_key": KEY,
    "gemini_auto_reply_enabled": True,
    "gemini_knowledge_base": KNOWLEDGE,
}


def settled(server: Server, cloud: WhatsAppCloudDouble) -> None:
    """Wait until a message arriving now gets its AI reply: every reply queued before it has
    been taken by then (oldest first)."""
    probe = Business(server, **AUTOMATION_ON)
    sender = next(probe.senders)
    probe.receive(sender, text_message(sender, "¿seguís ahí?"))
    wait_for(
        lambda: probe.replies_to(cloud, sender), "the probe's reply", processes=server.processes
    )


def test_an_inbound_message_gets_exactly_one_ai_reply_within_the_window(
    server: Server, cloud: WhatsAppCloudDouble, gemini: GeminiApiDouble
) -> None:
    shop = Business(server, **AUTOMATION_ON)
    sender = next(shop.senders)
    before = len(gemini.requests)
    shop.receive(sender, text_message(sender, "¿Abrís el sábado?"))

    replies = wait_for(
        lambda: shop.replies_to(cloud, sender), "the AI reply", processes=server.processes
    )
    assert replies == ["Respuesta: ¿Abrís el sábado?"]
    asked = [r for r in gemini.requests[before:] if r.last_user_text == "¿Abrís el sábado?"]
    assert len(asked) == 1
    assert KNOWLEDGE in asked[0].instruction
    (activity,) = wait_for(
        lambda: [a for a in shop.activities() if a["status"] == "sent"],
        "the activity recorded",
        processes=server.processes,
    )
    assert activity["contact_phone"] == f"+{sender}"
    assert activity["message_content"] == "¿Abrís el sábado?"
    assert activity["response_content"] == replies[0]
    (conversation,) = shop.api.get("/api/conversations")["conversations"]
    contact_id = conversation["contact"]["id"]
    thread = shop.api.get(f"/api/conversations/{contact_id}/messages")["messages"]
    assert [(m["direction"], m["generated_by_ai"]) for m in thread] == [
        ("out", True),
        ("in", False),
    ]
    status = shop.api.get("/api/automation/status")["status"]
    assert (status["enabled"], status["configured"], status["replies_today"]) == (True, True, 1)
    settled(server, cloud)
    assert shop.replies_to(cloud, sender) == replies
    assert server.leaked_secrets() == []
    assert not any(KEY in process.output() for process in server.processes)


def test_with_the_automation_off_no_reply_is_sent(
    server: Server, cloud: WhatsAppCloudDouble
) -> None:
    shop = Business(server, gemini_api_key=KEY)
    sender = next(shop.senders)
    shop.receive(sender, text_message(sender, "Hola"))
    settled(server, cloud)
    assert shop.replies_to(cloud, sender) == []
    assert shop.activities() == []
    (conversation,) = shop.api.get("/api/conversations")["conversations"]
    assert conversation["unread_count"] == 1


def test_gemini_errors_record_a_failed_activity_and_send_nothing(
    server: Server, cloud: WhatsAppCloudDouble, gemini: GeminiApiDouble
) -> None:
    refused = Business(server, **{**AUTOMATION_ON, "gemini_api_key": "AIza-not-a-valid-key"})
    sender = next(refused.senders)
    refused.receive(sender, text_message(sender, "Hola"))
    (activity,) = wait_for(
        lambda: [a for a in refused.activities() if a["status"] != "pending"],
        "the failed activity",
        processes=server.processes,
    )
    assert (activity["status"], activity["error"]) == ("failed", "gemini_bad_credentials")

    overloaded = Business(server, **AUTOMATION_ON)
    other = next(overloaded.senders)
    gemini.script(gemini_error(503, "The model is overloaded. Please try again later."))
    overloaded.receive(other, text_message(other, "¿Hay stock?"))
    (activity,) = wait_for(
        lambda: [a for a in overloaded.activities() if a["status"] != "pending"],
        "the failed activity",
        processes=server.processes,
    )
    assert (activity["status"], activity["error"]) == ("failed", "gemini_unavailable")
    assert activity["response_content"] is None
    settled(server, cloud)
    assert refused.replies_to(cloud, sender) == []
    assert overloaded.replies_to(cloud, other) == []
    status = overloaded.api.get("/api/automation/status")["status"]
    assert (status["replies_today"], status["failures_today"]) == (0, 1)


def test_duplicates_of_an_inbound_webhook_give_one_message_and_one_reply(
    server: Server, cloud: WhatsAppCloudDouble
) -> None:
    shop = Business(server, **AUTOMATION_ON)
    sender = next(shop.senders)
    message = text_message(sender, "Quiero reservar")
    for _ in range(4):
        shop.receive(sender, message)
    wait_for(lambda: shop.replies_to(cloud, sender), "the AI reply", processes=server.processes)
    shop.receive(sender, message)
    settled(server, cloud)
    assert shop.replies_to(cloud, sender) == ["Respuesta: Quiero reservar"]
    (conversation,) = shop.api.get("/api/conversations")["conversations"]
    contact_id = conversation["contact"]["id"]
    thread = shop.api.get(f"/api/conversations/{contact_id}/messages")["messages"]
    assert [m["direction"] for m in thread] == ["out", "in"]
    assert len(shop.activities()) == 1


def test_an_opt_out_word_opts_out_and_gets_no_reply(
    server: Server, cloud: WhatsAppCloudDouble
) -> None:
    shop = Business(server, **AUTOMATION_ON)
    sender = next(shop.senders)
    shop.receive(sender, text_message(sender, "BAJA"))
    settled(server, cloud)
    assert shop.replies_to(cloud, sender) == []
    (conversation,) = shop.api.get("/api/conversations")["conversations"]
    assert conversation["contact"]["opted_out"] is True
