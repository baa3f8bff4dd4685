"""``receive_inbound``, the conversation use cases and the receipts of replies on the
in-memory fakes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nexus_core.domain.outbound import SendResult
from nexus_core.domain.whatsapp_webhook import Receipt
from nexus_core.errors import Conflict, NotFound, RuleRefused, UpstreamFailed
from nexus_core.testing.conversation_fakes import FakeConversations
from nexus_core.use_cases import conversations, profile
from nexus_core.use_cases.inbound import receive_inbound, sender_phone
from nexus_core.use_cases.receipts import record_receipts
from tests.core.conversation_world import GEMINI, WHATSAPP, World, world


@pytest.fixture
def w() -> World:
    return world()


def test_a_message_is_stored_on_a_contact_created_for_its_sender(w: World) -> None:
    ana = w.user(**WHATSAPP)
    assert receive_inbound(w.ports, [w.message("Hola")], w.clock()) == 1
    page = conversations.list_conversations(w.ports, ana, {})
    (summary,) = page.items
    assert (summary.contact.phone, summary.contact.source, summary.contact.name) == (
        "+34600111222",
        "whatsapp",
        "Luis",
    )
    assert summary.unread_count == 1
    assert summary.last_inbound_at == w.clock()


def test_a_repeated_message_is_stored_once_and_queues_one_reply(w: World) -> None:
    w.user(**WHATSAPP, **GEMINI)
    message = w.message("Hola")
    assert receive_inbound(w.ports, [message, message], w.clock()) == 1
    assert receive_inbound(w.ports, [message], w.clock()) == 0
    assert len(w.store.state.inbox.messages) == 1
    assert [a.status for a in w.store.state.inbox.activities.values()] == ["pending"]


def test_a_reply_is_queued_only_with_the_automation_on_and_a_key(w: World) -> None:
    w.user(**WHATSAPP, gemini_api_key="AIza-key-1234")  # a key, automation off
    receive_inbound(w.ports, [w.message("Hola")], w.clock())
    assert w.store.state.inbox.activities == {}


def test_an_opt_out_word_opts_out_and_queues_no_reply(w: World) -> None:
    ana = w.user(**WHATSAPP, **GEMINI)
    receive_inbound(w.ports, [w.message("STOP"), w.message("¿y ahora?")], w.clock())
    (summary,) = conversations.list_conversations(w.ports, ana, {}).items
    assert summary.contact.opted_out
    assert w.store.state.inbox.activities == {}


def test_messages_of_unknown_numbers_echoes_and_bad_ids_are_ignored(w: World) -> None:
    ana = w.user(**WHATSAPP)
    ignored = [
        w.message("hola", phone_number_id="999"),
        w.message("eco", sender="34910000000"),
        w.message("sin teléfono", sender="abc"),
        w.message("id vacío", wamid=""),
    ]
    assert receive_inbound(w.ports, ignored, w.clock()) == 0
    assert conversations.list_conversations(w.ports, ana, {}).total == 0


def test_the_earliest_user_of_a_shared_number_gets_its_messages(w: World) -> None:
    ana = w.user(**WHATSAPP)
    bob = w.user("bob@example.com", **WHATSAPP)
    receive_inbound(w.ports, [w.message("Hola")], w.clock())
    assert conversations.list_conversations(w.ports, ana, {}).total == 1
    assert conversations.list_conversations(w.ports, bob, {}).total == 0


def test_sender_phones_are_e164_and_odd_ids_are_no_phones() -> None:
    assert sender_phone("34600111222") == "+34600111222"
    assert sender_phone("5491155550000") == "+5491155550000"
    assert sender_phone("1234") is None
    assert sender_phone("+34600111222") is None


def test_a_reply_is_refused_outside_the_window_and_sent_inside(w: World) -> None:
    ana = w.user(**WHATSAPP)
    receive_inbound(w.ports, [w.message("Hola")], w.clock())
    contact_id = conversations.list_conversations(w.ports, ana, {}).items[0].contact.id
    w.clock.advance(timedelta(hours=23, minutes=59))
    sent = conversations.send_reply(w.ports, ana, contact_id, " Hola Luis ")
    assert (sent.text, sent.status, sent.direction) == ("Hola Luis", "sent", "out")
    (account, message) = w.channel.sent[0]
    assert (message.to, message.text, account.whatsapp_phone_number_id) == (
        "+34600111222",
        "Hola Luis",
        "1098765",
    )
    w.clock.advance(timedelta(minutes=1))
    with pytest.raises(Conflict) as closed:
        conversations.send_reply(w.ports, ana, contact_id, "¿Sigues ahí?")
    assert closed.value.code == "conversation.window_closed"
    assert len(w.channel.sent) == 1


def test_a_reply_needs_credentials_and_the_users_own_contact(w: World) -> None:
    ana = w.user(**WHATSAPP)
    bob = w.user("bob@example.com")
    receive_inbound(w.ports, [w.message("Hola")], w.clock())
    contact_id = conversations.list_conversations(w.ports, ana, {}).items[0].contact.id
    with pytest.raises(NotFound):
        conversations.send_reply(w.ports, bob, contact_id, "Hola")
    with pytest.raises(NotFound):
        conversations.read_messages(w.ports, bob, contact_id, {})
    profile.update_profile(w.ports, ana, {"whatsapp_api_key": None})
    with pytest.raises(RuleRefused):
        conversations.send_reply(w.ports, ana, contact_id, "Hola")
    assert w.channel.sent == []


def test_a_failed_reply_is_stored_failed_and_raised(w: World) -> None:
    ana = w.user(**WHATSAPP)
    receive_inbound(w.ports, [w.message("Hola")], w.clock())
    contact_id = conversations.list_conversations(w.ports, ana, {}).items[0].contact.id
    w.channel._script.append(SendResult.failed("permanent", "131026"))
    with pytest.raises(UpstreamFailed) as failed:
        conversations.send_reply(w.ports, ana, contact_id, "Hola")
    assert failed.value.params["reason"] == "131026"
    newest = conversations.read_messages(w.ports, ana, contact_id, {}).items[0]
    assert (newest.direction, newest.status) == ("out", "failed")


def test_reading_marks_read(w: World) -> None:
    ana = w.user(**WHATSAPP)
    receive_inbound(w.ports, [w.message("uno"), w.message("dos")], w.clock())
    contact_id = conversations.list_conversations(w.ports, ana, {}).items[0].contact.id
    page = conversations.read_messages(w.ports, ana, contact_id, {"per_page": "1"})
    assert [m.status for m in page.items] == ["read"]
    assert conversations.list_conversations(w.ports, ana, {}).items[0].unread_count == 1


def test_a_call_stores_known_and_new_senders_and_applies_opt_outs(w: World) -> None:
    ana = w.user("ana@example.com", **WHATSAPP, **GEMINI)
    receive_inbound(w.ports, [w.message("Hola", sender="34600000001")], w.clock())
    call = [
        w.message("STOP", sender="34600000003"),  # a new sender opting out at once
        w.message("¿Abrís mañana?", sender="34600000002"),  # a new sender
        w.message("baja", sender="34600000001"),  # a known one opting out...
        w.message("¿me oís?", sender="34600000001"),  # ...who then gets no reply
    ]
    assert receive_inbound(w.ports, call, w.clock()) == 4
    listed = conversations.list_conversations(w.ports, ana, {}).items
    opted_out = {s.contact.phone: s.contact.opted_out for s in listed}
    assert opted_out == {"+34600000001": True, "+34600000002": False, "+34600000003": True}
    asked = sorted(a.message_content for a in w.store.state.inbox.activities.values())
    assert asked == ["Hola", "¿Abrís mañana?"]
    assert receive_inbound(w.ports, call, w.clock()) == 0


def test_receipts_move_a_reply_sent_from_the_inbox(w: World) -> None:
    ana = w.user(**WHATSAPP)
    receive_inbound(w.ports, [w.message("Hola")], w.clock())
    contact_id = conversations.list_conversations(w.ports, ana, {}).items[0].contact.id
    sent = conversations.send_reply(w.ports, ana, contact_id, "Hola Luis")
    assert sent.provider_message_id is not None

    def receipt(status: str) -> int:
        return record_receipts(
            w.ports, [Receipt(sent.provider_message_id or "", status, w.clock())], w.clock()
        )

    def status() -> str:
        return conversations.read_messages(w.ports, ana, contact_id, {}).items[0].status

    assert receipt("delivered") == 1
    assert status() == "delivered"
    assert receipt("failed") == 0  # it arrived: a failure no longer applies
    assert receipt("read") == 1
    assert receipt("delivered") == 0  # late
    assert status() == "read"


def test_a_call_that_fails_part_way_is_completed_when_meta_repeats_it(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Known senders' messages are stored first, new senders' and opt-outs after them: when
    the second step fails, the repeated call stores what is missing, and an opt-out word is
    never stored without opting its contact out."""
    ana = w.user("ana@example.com", **WHATSAPP, **GEMINI)
    receive_inbound(w.ports, [w.message("Hola", sender="34600000001")], w.clock())
    call = [
        w.message("¿Seguís abiertos?", sender="34600000001"),
        w.message("STOP", sender="34600000001"),
        w.message("Buenas", sender="34600000002"),
    ]

    def broken(*args: object) -> None:
        raise RuntimeError("the database went away")

    with monkeypatch.context() as patched:
        patched.setattr(FakeConversations, "store_inbound_creating", broken)
        with pytest.raises(RuntimeError):
            receive_inbound(w.ports, call, w.clock())
    listed = conversations.list_conversations(w.ports, ana, {}).items
    assert [(s.contact.phone, s.contact.opted_out, s.unread_count) for s in listed] == [
        ("+34600000001", False, 2)  # the plain message only: STOP waits with the new sender
    ]
    assert receive_inbound(w.ports, call, w.clock()) == 2
    listed = conversations.list_conversations(w.ports, ana, {}).items
    assert sorted((s.contact.phone, s.contact.opted_out, s.unread_count) for s in listed) == [
        ("+34600000001", True, 3),
        ("+34600000002", False, 1),
    ]
    asked = sorted(a.message_content for a in w.store.state.inbox.activities.values())
    assert asked == ["Buenas", "Hola", "¿Seguís abiertos?"]
