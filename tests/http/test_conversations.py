"""The WhatsApp inbox over HTTP on SQLite and PostgreSQL: inbound messages arrive through the
signed webhook (stored once, on a contact found or created by phone, opt-out words honoured),
the conversations and their messages are listed (reading marks them read), and replies leave
through a local WhatsApp Cloud API double only within the 24-hour window."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import URL

from tests.doubles.whatsapp_cloud import WhatsAppCloudDouble, cloud_error, success
from tests.http.support import AppFactory, Client, assert_problem, login, registered
from tests.http.test_campaigns import contact
from tests.http.test_whatsapp_webhook import statuses
from tests.inbound_webhooks import (
    inbound_body,
    message_id,
    post_inbound,
    post_signed,
    text_message,
)
from tests.postgres import empty_public_schema

APP_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PHONE_NUMBER_ID = "1098765"
WHATSAPP = {"whatsapp_api_key": "EAAG-test-token-1234", "whatsapp_phone_number_id": PHONE_NUMBER_ID}
LUIS = "34600111222"
BOB = {"email": "bob@example.com", "name": "Bob"}


@pytest.fixture
def cloud() -> Iterator[WhatsAppCloudDouble]:
    with WhatsAppCloudDouble() as double:
        yield double


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def client(
    request: pytest.FixtureRequest, make_client: AppFactory, cloud: WhatsAppCloudDouble
) -> Client:
    """Ana, logged in, with WhatsApp configured, on an app whose webhook is configured and
    whose Cloud API is the double; SQLite, then PostgreSQL."""
    settings: dict[str, Any] = {
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_verify_token": "verify",
        "whatsapp_api_url": cloud.base_url,
    }
    if request.param == "postgresql":
        url: URL = request.getfixturevalue("postgres_session_url")
        empty_public_schema(url)
        settings |= {"database_url": url.render_as_string(hide_password=False), "db_pool_size": 4}
    made = make_client(**settings)
    registered(made)
    assert made.put("/api/profile", json=WHATSAPP).status_code == 200
    return made


def inbound(client: Client, *messages: dict[str, Any], **options: Any) -> None:
    post_inbound(client, APP_SECRET, inbound_body(PHONE_NUMBER_ID, *messages, **options))


def conversations(client: Client, **params: Any) -> dict[str, Any]:
    response = client.get("/api/conversations", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def messages(client: Client, contact_id: int, **params: Any) -> dict[str, Any]:
    response = client.get(f"/api/conversations/{contact_id}/messages", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def only_conversation(client: Client) -> dict[str, Any]:
    body = conversations(client)
    assert body["pagination"]["total"] == 1, body
    (conversation,) = body["conversations"]
    found: dict[str, Any] = conversation
    return found


def test_an_inbound_message_opens_a_conversation_on_a_new_contact(client: Client) -> None:
    sent_at = int(time.time()) - 60
    inbound(client, text_message(LUIS, "Hola, ¿abrís el sábado?", timestamp=sent_at))

    conversation = only_conversation(client)
    assert set(conversation) == {"contact", "last_message", "unread_count", "window_open_until"}
    person = conversation["contact"]
    assert person["phone"] == "+34600111222"
    assert person["name"] == "Luis Gómez"
    assert person["source"] == "whatsapp"
    assert person["opted_out"] is False
    assert conversation["unread_count"] == 1
    last = conversation["last_message"]
    assert set(last) == {"id", "direction", "text", "status", "created_at", "generated_by_ai"}
    assert (last["direction"], last["text"], last["status"]) == (
        "in",
        "Hola, ¿abrís el sábado?",
        "received",
    )
    assert last["generated_by_ai"] is False
    opened = datetime.fromtimestamp(sent_at, UTC) + timedelta(hours=24)
    assert conversation["window_open_until"] == opened.strftime("%Y-%m-%dT%H:%M:%SZ")
    listed = client.get("/api/contacts").json()["contacts"]
    assert [c["phone"] for c in listed] == ["+34600111222"]


def test_an_inbound_message_lands_on_the_existing_contact_of_its_phone(client: Client) -> None:
    known = contact(client, "+34600111222")
    inbound(client, text_message(LUIS, "Soy yo"))
    assert only_conversation(client)["contact"]["id"] == known
    assert client.get("/api/contacts").json()["pagination"]["total"] == 1


def test_a_repeated_webhook_call_stores_its_message_once(client: Client) -> None:
    message = text_message(LUIS, "Hola")
    for _ in range(3):
        inbound(client, message)
    conversation = only_conversation(client)
    assert conversation["unread_count"] == 1
    assert messages(client, conversation["contact"]["id"])["pagination"]["total"] == 1


def test_reading_marks_the_page_read_and_the_count_follows(client: Client) -> None:
    inbound(client, *(text_message(LUIS, f"mensaje {n}") for n in range(3)))
    contact_id = only_conversation(client)["contact"]["id"]

    first = messages(client, contact_id, per_page=2)
    assert [m["text"] for m in first["messages"]] == ["mensaje 2", "mensaje 1"]
    assert {m["status"] for m in first["messages"]} == {"read"}
    assert first["pagination"] == {
        "page": 1, "per_page": 2, "total": 3, "pages": 2, "has_next": True, "has_prev": False,
    }  # fmt: skip
    assert only_conversation(client)["unread_count"] == 1
    messages(client, contact_id, page=2, per_page=2)
    assert only_conversation(client)["unread_count"] == 0


def test_conversations_are_listed_newest_activity_first(client: Client) -> None:
    inbound(client, text_message("34600000001", "primero"))
    inbound(client, text_message("34600000002", "segundo"))
    phones = [c["contact"]["phone"] for c in conversations(client)["conversations"]]
    assert phones == ["+34600000002", "+34600000001"]
    inbound(client, text_message("34600000001", "otra vez"))
    phones = [c["contact"]["phone"] for c in conversations(client)["conversations"]]
    assert phones == ["+34600000001", "+34600000002"]


@pytest.mark.parametrize("word", ["baja", "STOP", "  Cancelar. ", "No más", "no mas", "¡NO MÁS!"])
def test_an_opt_out_word_opts_the_contact_out(client: Client, word: str) -> None:
    inbound(client, text_message(LUIS, word))
    conversation = only_conversation(client)
    assert conversation["contact"]["opted_out"] is True
    assert conversation["last_message"]["text"] == word


def test_a_sentence_with_an_opt_out_word_does_not_opt_out(client: Client) -> None:
    inbound(client, text_message(LUIS, "no quiero darme de baja"))
    assert only_conversation(client)["contact"]["opted_out"] is False


def test_media_is_stored_as_a_description_with_its_id(client: Client) -> None:
    image = {
        "from": LUIS,
        "id": message_id(),
        "timestamp": str(int(time.time())),
        "type": "image",
        "image": {"id": "1479537139650973", "mime_type": "image/jpeg", "caption": "mi recibo"},
    }
    inbound(client, image)
    assert only_conversation(client)["last_message"]["text"] == "[image 1479537139650973] mi recibo"


def test_messages_of_other_numbers_and_our_own_echoes_are_ignored(client: Client) -> None:
    post_inbound(client, APP_SECRET, inbound_body("another-number", text_message(LUIS, "hola")))
    inbound(client, text_message("34910000000", "eco de un mensaje nuestro"))
    assert conversations(client)["pagination"]["total"] == 0
    assert client.get("/api/contacts").json()["pagination"]["total"] == 0


def test_a_malformed_inbound_message_is_a_400_and_stores_nothing(client: Client) -> None:
    body = inbound_body(PHONE_NUMBER_ID, text_message(LUIS, "hola"))
    del body["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    problem = assert_problem(post_signed(client, APP_SECRET, body), 400)
    assert problem["errors"][0]["field"] == "entry.0.changes.0.value.messages.0.from"
    assert conversations(client)["pagination"]["total"] == 0


def test_a_reply_within_the_window_leaves_through_whatsapp(
    client: Client, cloud: WhatsAppCloudDouble
) -> None:
    inbound(client, text_message(LUIS, "¿Tenéis la talla M?"))
    contact_id = only_conversation(client)["contact"]["id"]

    response = client.post(
        f"/api/conversations/{contact_id}/messages", json={"text": "  Sí, en azul.  "}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["message"] == "Mensaje enviado"
    sent = body["sent"]
    assert (sent["direction"], sent["text"], sent["status"], sent["generated_by_ai"]) == (
        "out",
        "Sí, en azul.",
        "sent",
        False,
    )
    (request,) = cloud.requests
    assert request.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert request.body["to"] == LUIS
    assert request.body["text"] == {"body": "Sí, en azul."}
    assert only_conversation(client)["last_message"]["id"] == sent["id"]
    assert [m["direction"] for m in messages(client, contact_id)["messages"]] == ["out", "in"]


def test_receipts_move_a_replys_status_never_backwards(
    client: Client, cloud: WhatsAppCloudDouble
) -> None:
    wamid = "wamid.reply.1"
    cloud.script(LUIS, success(wamid))
    inbound(client, text_message(LUIS, "¿Tenéis la talla M?"))
    contact_id = only_conversation(client)["contact"]["id"]
    response = client.post(f"/api/conversations/{contact_id}/messages", json={"text": "Sí"})
    assert response.status_code == 201, response.text

    def receipt(*items: tuple[str, str]) -> dict[str, Any]:
        answered = post_signed(client, APP_SECRET, statuses(*items))
        assert answered.status_code == 200, answered.text
        body: dict[str, Any] = answered.json()
        return body

    def reply_status() -> str:
        newest: dict[str, Any] = messages(client, contact_id)["messages"][0]
        assert newest["direction"] == "out"
        return str(newest["status"])

    assert receipt((wamid, "sent"), (wamid, "delivered"))["applied"] == 1
    assert reply_status() == "delivered"
    assert receipt((wamid, "read"), (wamid, "delivered"), (wamid, "failed"))["applied"] == 1
    assert reply_status() == "read"


def test_a_reply_outside_the_window_is_a_409_and_sends_nothing(
    client: Client, cloud: WhatsAppCloudDouble
) -> None:
    long_ago = int(time.time()) - 25 * 3600
    inbound(client, text_message(LUIS, "hola", timestamp=long_ago))
    contact_id = only_conversation(client)["contact"]["id"]
    response = client.post(f"/api/conversations/{contact_id}/messages", json={"text": "Hola"})
    assert "24" in assert_problem(response, 409)["error"]
    never_wrote = contact(client, "+34600999888")
    response = client.post(f"/api/conversations/{never_wrote}/messages", json={"text": "Hola"})
    assert_problem(response, 409)
    assert cloud.requests == []
    assert messages(client, contact_id)["pagination"]["total"] == 1


def test_a_reply_to_an_opted_out_contact_is_a_409(
    client: Client, cloud: WhatsAppCloudDouble
) -> None:
    inbound(client, text_message(LUIS, "stop"))
    contact_id = only_conversation(client)["contact"]["id"]
    response = client.post(f"/api/conversations/{contact_id}/messages", json={"text": "Vale"})
    assert_problem(response, 409)
    assert cloud.requests == []


def test_a_reply_needs_text_and_credentials(client: Client, cloud: WhatsAppCloudDouble) -> None:
    inbound(client, text_message(LUIS, "hola"))
    contact_id = only_conversation(client)["contact"]["id"]
    path = f"/api/conversations/{contact_id}/messages"
    assert_problem(client.post(path, json={"text": "   "}), 400, fields={"text"})
    assert_problem(client.post(path, json={"text": "x" * 4097}), 400, fields={"text"})
    assert_problem(client.post(path, json={}), 400, fields={"text"})
    assert client.put("/api/profile", json={"whatsapp_api_key": ""}).status_code == 200
    assert_problem(client.post(path, json={"text": "hola"}), 400)
    assert cloud.requests == []


def test_a_refused_reply_is_a_502_and_kept_as_failed(
    client: Client, cloud: WhatsAppCloudDouble
) -> None:
    cloud.script(LUIS, cloud_error(131026))
    inbound(client, text_message(LUIS, "hola"))
    contact_id = only_conversation(client)["contact"]["id"]
    response = client.post(f"/api/conversations/{contact_id}/messages", json={"text": "Hola"})
    assert "131026" in assert_problem(response, 502)["error"]
    newest = messages(client, contact_id)["messages"][0]
    assert (newest["direction"], newest["status"]) == ("out", "failed")


def test_another_users_conversations_are_invisible(client: Client) -> None:
    inbound(client, text_message(LUIS, "hola Ana"))
    contact_id = only_conversation(client)["contact"]["id"]
    registered(client, **BOB)
    assert conversations(client)["pagination"]["total"] == 0
    path = f"/api/conversations/{contact_id}/messages"
    assert_problem(client.get(path), 404)
    assert_problem(client.post(path, json={"text": "hola"}), 404)
    assert_problem(client.get("/api/conversations/999999999999/messages"), 404)
    login(client)
    assert only_conversation(client)["unread_count"] == 1


def test_the_lists_need_a_session_and_valid_pages(client: Client) -> None:
    assert_problem(client.get("/api/conversations", params={"page": "0"}), 400, fields={"page"})
    client.post("/api/auth/logout")
    assert_problem(client.get("/api/conversations"), 401)
