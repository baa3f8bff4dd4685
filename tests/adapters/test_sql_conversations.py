"""``SqlConversations`` and ``SqlAutomation`` on SQLite and PostgreSQL: the inbound pipeline's
writes (a contact found or created once, a message stored once, even concurrently), the inbox,
reading, and the bot activities' queue (pace, skips, leases, reaping)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.api_keys import Secret
from nexus_core.domain.contact_queries import ContactQuery
from nexus_core.domain.inbound_messages import InboundMessage
from nexus_core.domain.users import User

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PHONE_NUMBER_ID = "1098765"
LUIS = "+34600111222"


def message(wamid: str, text: str = "Hola", sent_at: datetime = NOW) -> InboundMessage:
    return InboundMessage(wamid, PHONE_NUMBER_ID, None, LUIS[1:], "Luis", "text", text, sent_at)


@pytest.fixture
def ana(uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]) -> User:
    """Ana, owner of the business number, with a Gemini key and the automation on."""
    user = add_user()
    credentials = dataclasses.replace(
        user.credentials,
        whatsapp_phone_number_id=PHONE_NUMBER_ID,
        gemini_api_key=Secret("AIza-key-1234"),
        gemini_auto_reply_enabled=True,
    )
    with uow_factory(write=True) as uow:
        uow.users.save(dataclasses.replace(user, credentials=credentials))
        uow.commit()
    return dataclasses.replace(user, credentials=credentials)


def store(
    uow_factory: SqlUnitOfWorkFactory, user_id: int, inbound: InboundMessage
) -> tuple[int, int | None]:
    """The contact of Luis and the stored message's id (``None``: already stored)."""
    with uow_factory(write=True) as uow:
        contact = uow.conversations.contact_for(user_id, LUIS, "Luis", NOW)
        stored = uow.conversations.record_inbound(user_id, contact.id, inbound, NOW)
        uow.commit()
    return contact.id, stored


def test_the_owner_of_a_number_is_found_with_its_automation(
    uow_factory: SqlUnitOfWorkFactory, ana: User, add_user: Callable[..., User]
) -> None:
    add_user("bob@example.com")
    with uow_factory() as uow:
        owner = uow.conversations.owner_of(PHONE_NUMBER_ID)
        assert uow.conversations.owner_of("0000") is None
    assert owner is not None
    assert (owner.user_id, owner.auto_reply) == (ana.id, True)


def test_a_sender_becomes_a_whatsapp_contact_once_and_lists_see_it(
    uow_factory: SqlUnitOfWorkFactory, ana: User
) -> None:
    with uow_factory() as uow:
        assert uow.contacts.page(ana.id, ContactQuery()) == ([], 0)
    first, _ = store(uow_factory, ana.id, message("wamid.1"))
    again, _ = store(uow_factory, ana.id, message("wamid.2"))
    assert first == again
    with uow_factory() as uow:
        contacts, total = uow.contacts.page(ana.id, ContactQuery())
    assert total == 1
    assert (contacts[0].phone, contacts[0].source, contacts[0].status) == (
        LUIS,
        "whatsapp",
        "activo",
    )


def test_a_message_is_stored_once_and_moves_its_conversation(
    uow_factory: SqlUnitOfWorkFactory, ana: User
) -> None:
    earlier = NOW - timedelta(hours=2)
    contact_id, first = store(uow_factory, ana.id, message("wamid.1", sent_at=earlier))
    _, repeated = store(uow_factory, ana.id, message("wamid.1", "otra vez"))
    assert first is not None
    assert repeated is None
    with uow_factory() as uow:
        (summary,), total = uow.conversations.page(ana.id, 1, 20)
        assert uow.conversations.last_inbound_at(ana.id, contact_id) == earlier
    assert total == 1
    assert summary.unread_count == 1
    assert summary.last_message is not None
    assert (summary.last_message.id, summary.last_message.text) == (first, "Hola")
    assert summary.window_open_until == earlier + timedelta(hours=24)


def test_concurrent_copies_of_a_message_store_it_once(
    uow_factory: SqlUnitOfWorkFactory, ana: User
) -> None:
    results: list[int | None] = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        barrier.wait()
        results.append(store(uow_factory, ana.id, message("wamid.same"))[1])

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for stored in results if stored is not None) == 1
    with uow_factory() as uow:
        (summary,), _ = uow.conversations.page(ana.id, 1, 20)
        assert uow.contacts.page(ana.id, ContactQuery())[1] == 1
    assert summary.unread_count == 1


def test_reading_marks_the_page_read(uow_factory: SqlUnitOfWorkFactory, ana: User) -> None:
    for n in range(3):
        contact_id, _ = store(uow_factory, ana.id, message(f"wamid.{n}", f"m{n}"))
    with uow_factory(write=True) as uow:
        page, total = uow.conversations.read_messages(ana.id, contact_id, 1, 2)
        uow.commit()
    assert total == 3
    assert [(m.text, m.status) for m in page] == [("m2", "read"), ("m1", "read")]
    with uow_factory(write=True) as uow:
        assert uow.conversations.page(ana.id, 1, 20)[0][0].unread_count == 1
        out = uow.conversations.add_outbound(
            ana.id, contact_id, "Hola", "sent", "wamid.o", True, NOW
        )
        uow.commit()
    with uow_factory() as uow:
        (summary,), _ = uow.conversations.page(ana.id, 1, 20)
        recent = uow.conversations.recent(ana.id, contact_id, 2)
    assert summary.last_message == out
    assert [m.text for m in recent] == ["m2", "Hola"]
    assert out.generated_by_ai


def test_another_users_conversations_stay_apart(
    uow_factory: SqlUnitOfWorkFactory, ana: User, add_user: Callable[..., User]
) -> None:
    bob = add_user("bob@example.com")
    contact_id, _ = store(uow_factory, ana.id, message("wamid.1"))
    with uow_factory() as uow:
        assert uow.conversations.page(bob.id, 1, 20) == ([], 0)
        assert uow.conversations.read_messages(bob.id, contact_id, 1, 20) == ([], 0)
        assert uow.conversations.last_inbound_at(bob.id, contact_id) is None
        assert uow.conversations.recent(bob.id, contact_id, 5) == []


def _queue(uow_factory: SqlUnitOfWorkFactory, user_id: int, *wamids: str) -> list[int]:
    ids = []
    for wamid in wamids:
        contact_id, stored = store(uow_factory, user_id, message(wamid, f"pregunta {wamid}"))
        assert stored is not None
        with uow_factory(write=True) as uow:
            uow.automation.enqueue(user_id, contact_id, stored, NOW)
            uow.commit()
        ids.append(stored)
    return ids


def test_claims_are_paced_per_user_and_leased(uow_factory: SqlUnitOfWorkFactory, ana: User) -> None:
    _queue(uow_factory, ana.id, "wamid.1", "wamid.2", "wamid.3")
    with uow_factory(write=True) as uow:
        first = uow.automation.claim_due(NOW, 60, 10, "w1", per_minute=2)
        again = uow.automation.claim_due(NOW, 60, 10, "w2", per_minute=2)
        uow.commit()
    assert [c.message_content for c in first] == ["pregunta wamid.1", "pregunta wamid.2"]
    assert again == []
    assert {c.phone for c in first} == {LUIS}
    with uow_factory(write=True) as uow:
        later = uow.automation.claim_due(NOW + timedelta(minutes=1), 60, 10, "w2", per_minute=2)
        assert uow.automation.record("w2", first[0].activity_id, "sent", "R", None, NOW) is False
        assert uow.automation.record("w1", first[0].activity_id, "sent", "R", None, NOW) is True
        assert uow.automation.record("w1", first[0].activity_id, "failed", None, "x", NOW) is False
        uow.commit()
    assert [c.message_content for c in later] == ["pregunta wamid.3"]
    with uow_factory(write=True) as uow:
        assert uow.automation.reap_expired(NOW + timedelta(seconds=59)) == 0
        assert uow.automation.reap_expired(NOW + timedelta(minutes=5)) == 2
        uow.commit()
    with uow_factory() as uow:
        activities, total = uow.automation.page(ana.id, 1, 20)
        outcomes = uow.automation.outcomes_since(ana.id, NOW)
        assert uow.automation.outcomes_since(ana.id, NOW + timedelta(seconds=1)) == (0, 0)
    assert total == 3
    assert sorted((a.status, a.error) for a in activities) == [
        ("failed", "unknown_outcome"),
        ("failed", "unknown_outcome"),
        ("sent", None),
    ]
    assert outcomes == (1, 2)
    assert {(a.contact_phone, a.contact_name) for a in activities} == {(LUIS, "Luis")}


def test_what_may_no_longer_be_answered_is_skipped(
    uow_factory: SqlUnitOfWorkFactory, ana: User
) -> None:
    _queue(uow_factory, ana.id, "wamid.1")
    with uow_factory(write=True) as uow:
        assert uow.automation.claim_due(NOW + timedelta(hours=25), 60, 10, "w", 20) == []
        uow.commit()
    _queue(uow_factory, ana.id, "wamid.2")
    with uow_factory(write=True) as uow:
        contact_id = uow.conversations.contact_for(ana.id, LUIS, "Luis", NOW).id
        uow.conversations.opt_out(ana.id, contact_id, NOW)
        assert uow.automation.claim_due(NOW, 60, 10, "w", 20) == []
        uow.commit()
    with uow_factory() as uow:
        activities, _ = uow.automation.page(ana.id, 1, 20)
    assert sorted((a.status, a.error) for a in activities) == [
        ("skipped", "opted_out"),
        ("skipped", "window_closed"),
    ]


def test_a_user_who_turned_the_automation_off_is_skipped(
    uow_factory: SqlUnitOfWorkFactory, ana: User
) -> None:
    _queue(uow_factory, ana.id, "wamid.1")
    off = dataclasses.replace(ana.credentials, gemini_auto_reply_enabled=False)
    with uow_factory(write=True) as uow:
        uow.users.save(dataclasses.replace(ana, credentials=off))
        assert uow.automation.claim_due(NOW, 60, 10, "w", 20) == []
        uow.commit()
    with uow_factory() as uow:
        (activity,), _ = uow.automation.page(ana.id, 1, 20)
    assert (activity.status, activity.error) == ("skipped", "automation_off")


def test_deleting_a_contact_removes_its_conversation_and_keeps_its_activities(
    uow_factory: SqlUnitOfWorkFactory, ana: User
) -> None:
    _queue(uow_factory, ana.id, "wamid.1")
    with uow_factory(write=True) as uow:
        contact_id = uow.conversations.contact_for(ana.id, LUIS, "Luis", NOW).id
        assert uow.contacts.delete(ana.id, contact_id)
        assert uow.automation.claim_due(NOW, 60, 10, "w", 20) == []
        uow.commit()
    with uow_factory() as uow:
        assert uow.conversations.page(ana.id, 1, 20) == ([], 0)
        (activity,), _ = uow.automation.page(ana.id, 1, 20)
    assert (activity.contact_id, activity.status, activity.error) == (
        None,
        "skipped",
        "contact_deleted",
    )
