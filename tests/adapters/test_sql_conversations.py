"""``SqlConversations`` and ``SqlAutomation`` on SQLite and PostgreSQL: the inbound pipeline's
writes (a contact found or created once, a message stored once, even concurrently), the inbox,
reading, and the bot activities' queue (pace, skips, leases, reaping)."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, text

from nexus_adapters.sql.tables import users
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.api_keys import Secret
from nexus_core.domain.contact_queries import ContactQuery
from nexus_core.domain.contacts import ContactDraft
from nexus_core.domain.conversations import ConversationSummary
from nexus_core.domain.deliveries import ReceiptStatus
from nexus_core.domain.inbound_messages import InboundMessage
from nexus_core.domain.users import User

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PHONE_NUMBER_ID = "1098765"
LUIS = "+34600111222"


def message(
    wamid: str, text: str = "Hola", sent_at: datetime = NOW, phone: str = LUIS
) -> InboundMessage:
    return InboundMessage(wamid, PHONE_NUMBER_ID, None, phone[1:], "Luis", "text", text, sent_at)


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
    uow_factory: SqlUnitOfWorkFactory, user_id: int, inbound: InboundMessage, phone: str = LUIS
) -> tuple[int, int | None]:
    """The sender's contact and the stored message's id (``None``: already stored), as the
    pipeline stores it: on a known conversation, else creating what is missing."""
    with uow_factory(write=True) as uow:
        done = uow.conversations.store_inbound(user_id, phone, inbound, NOW)
        if done is None:
            done = uow.conversations.store_inbound_creating(user_id, phone, "Luis", inbound, NOW)
        uow.commit()
    return done.contact.id, done.message_id


def owner_counts(uow_factory: SqlUnitOfWorkFactory, user_id: int) -> tuple[int, int]:
    """The owner's contacts count and contacts version (the row a new contact writes)."""
    with uow_factory.engine.connect() as connection:
        row = connection.execute(
            select(users.c.contacts_total, users.c.contacts_version).where(users.c.id == user_id)
        ).one()
    return int(row.contacts_total), int(row.contacts_version)


def only_conversation(uow_factory: SqlUnitOfWorkFactory, user_id: int) -> ConversationSummary:
    with uow_factory() as uow:
        (summary,), _ = uow.conversations.page(user_id, 1, 20)
    return summary


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


def test_only_the_creating_write_stores_an_unknown_sender_and_moves_the_owner(
    uow_factory: SqlUnitOfWorkFactory, ana: User
) -> None:
    before = owner_counts(uow_factory, ana.id)
    with uow_factory(write=True) as uow:
        assert uow.conversations.store_inbound(ana.id, LUIS, message("wamid.1"), NOW) is None
        uow.commit()
    assert owner_counts(uow_factory, ana.id) == before
    with uow_factory() as uow:
        assert uow.conversations.page(ana.id, 1, 20) == ([], 0)
    contact_id, first = store(uow_factory, ana.id, message("wamid.1"))
    created = owner_counts(uow_factory, ana.id)
    assert created[0] == before[0] + 1
    assert created[1] != before[1]
    # Later messages of a known conversation leave the owner's row alone.
    again, second = store(uow_factory, ana.id, message("wamid.2", "¿Sigue abierto?"))
    assert again == contact_id
    assert first is not None
    assert second is not None
    assert second > first
    assert owner_counts(uow_factory, ana.id) == created
    summary = only_conversation(uow_factory, ana.id)
    assert summary.unread_count == 2
    assert summary.last_message is not None
    assert summary.last_message.text == "¿Sigue abierto?"


def test_a_contact_without_a_conversation_gets_one_with_its_first_message(
    uow_factory: SqlUnitOfWorkFactory, ana: User
) -> None:
    with uow_factory(write=True) as uow:
        known = uow.contacts.add(ana.id, ContactDraft("Luis", LUIS, None), "manual", NOW)
        uow.commit()
    before = owner_counts(uow_factory, ana.id)
    contact_id, stored = store(uow_factory, ana.id, message("wamid.1"))
    assert contact_id == known.id
    assert owner_counts(uow_factory, ana.id) == before
    summary = only_conversation(uow_factory, ana.id)
    assert (summary.contact.source, summary.unread_count) == ("manual", 1)
    assert summary.last_message is not None
    assert summary.last_message.id == stored


def test_several_messages_of_a_new_sender_in_one_unit_of_work(
    uow_factory: SqlUnitOfWorkFactory, ana: User
) -> None:
    with uow_factory(write=True) as uow:
        done = [
            uow.conversations.store_inbound_creating(ana.id, LUIS, "Luis", message(wamid), NOW)
            for wamid in ("wamid.1", "wamid.2", "wamid.1")
        ]
        uow.commit()
    assert len({d.contact.id for d in done}) == 1
    ids = [d.message_id for d in done]
    assert ids[0] is not None
    assert ids[1] is not None
    assert ids[2] is None
    assert ids[1] > ids[0]
    summary = only_conversation(uow_factory, ana.id)
    assert summary.unread_count == 2
    assert summary.last_message is not None
    assert summary.last_message.id == ids[1]
    assert owner_counts(uow_factory, ana.id)[0] == 1


def test_concurrent_messages_of_a_new_sender_make_one_contact(
    uow_factory: SqlUnitOfWorkFactory, ana: User
) -> None:
    results: list[int | None] = []
    barrier = threading.Barrier(6)
    earlier = NOW - timedelta(minutes=5)

    def deliver(n: int) -> None:
        barrier.wait()
        sent_at = earlier if n == 0 else NOW - timedelta(minutes=n)
        results.append(store(uow_factory, ana.id, message(f"wamid.{n}", f"m{n}", sent_at))[1])

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6
    assert None not in results
    summary = only_conversation(uow_factory, ana.id)
    assert summary.unread_count == 6
    assert summary.last_inbound_at == NOW - timedelta(minutes=1)
    assert summary.last_message is not None
    assert summary.last_message.id == max(r for r in results if r is not None)
    assert owner_counts(uow_factory, ana.id)[0] == 1
    with uow_factory() as uow:
        assert uow.contacts.page(ana.id, ContactQuery())[1] == 1
        assert uow.conversations.read_messages(ana.id, summary.contact.id, 1, 20)[1] == 6


def test_a_message_stored_on_another_contact_starts_an_empty_conversation(
    uow_factory: SqlUnitOfWorkFactory, ana: User
) -> None:
    """What Meta repeats after the user changed the sender's phone: the message stays where it
    is; the phone's new contact gets an empty conversation."""
    store(uow_factory, ana.id, message("wamid.1"))
    other = "+34600999888"
    contact_id, stored = store(uow_factory, ana.id, message("wamid.1", phone=other), other)
    assert stored is None
    with uow_factory() as uow:
        summaries, total = uow.conversations.page(ana.id, 1, 20)
    assert total == 2
    (empty,) = [s for s in summaries if s.contact.id == contact_id]
    assert (empty.contact.phone, empty.last_message, empty.unread_count) == (other, None, 0)
    assert empty.window_open_until is None


def test_a_message_stored_meanwhile_on_another_contact_leaves_an_empty_conversation(
    uow_factory: SqlUnitOfWorkFactory, ana: User, dialect: str
) -> None:
    """PostgreSQL: the new conversation names the message's id before the message is inserted;
    when a concurrent transaction was storing the same message elsewhere, the conversation is
    emptied again."""
    if dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing is stored meanwhile")
    other = "+34600999888"
    first = uow_factory(write=True)
    with first as uow:
        assert uow.conversations.store_inbound_creating(
            ana.id, LUIS, "Luis", message("wamid.1"), NOW
        ).message_id
        done: list[tuple[int, int | None]] = []
        second = threading.Thread(
            target=lambda: done.append(
                store(uow_factory, ana.id, message("wamid.1", phone=other), other)
            )
        )
        second.start()
        _wait_for_a_lock_wait(uow_factory)
        uow.commit()
    second.join()
    ((contact_id, stored),) = done
    assert stored is None
    with uow_factory() as uow:
        summaries, _ = uow.conversations.page(ana.id, 1, 20)
    (empty,) = [s for s in summaries if s.contact.id == contact_id]
    assert (empty.last_message, empty.unread_count, empty.window_open_until) == (None, 0, None)


def _wait_for_a_lock_wait(uow_factory: SqlUnitOfWorkFactory) -> None:
    """Until some session of this database waits for a lock (PostgreSQL)."""
    deadline = time.monotonic() + 10
    with uow_factory.engine.connect() as connection:
        while time.monotonic() < deadline:
            waiting = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
            if waiting:
                return
            connection.rollback()
            time.sleep(0.01)
    raise AssertionError("nothing waited for a lock")


def _reply(uow_factory: SqlUnitOfWorkFactory, user_id: int, wamid: str | None) -> int:
    contact_id, _ = store(uow_factory, user_id, message(f"in.{wamid}"))
    with uow_factory(write=True) as uow:
        uow.conversations.add_outbound(user_id, contact_id, "Hola", "sent", wamid, True, NOW)
        uow.commit()
    return contact_id


def _receipt(uow_factory: SqlUnitOfWorkFactory, wamid: str, status: ReceiptStatus) -> bool:
    with uow_factory(write=True) as uow:
        moved = uow.conversations.apply_receipt(wamid, status)
        uow.commit()
    return moved


def _statuses(uow_factory: SqlUnitOfWorkFactory, user_id: int, contact_id: int) -> list[str]:
    with uow_factory() as uow:
        return [m.status for m in uow.conversations.recent(user_id, contact_id, 20)]


def test_receipts_move_a_reply_forward_only(uow_factory: SqlUnitOfWorkFactory, ana: User) -> None:
    contact_id = _reply(uow_factory, ana.id, "wamid.out")
    assert not _receipt(uow_factory, "wamid.out", "sent")
    assert _receipt(uow_factory, "wamid.out", "delivered")
    assert _statuses(uow_factory, ana.id, contact_id) == ["received", "delivered"]
    assert not _receipt(uow_factory, "wamid.out", "failed")  # it arrived
    assert _receipt(uow_factory, "wamid.out", "read")
    assert not _receipt(uow_factory, "wamid.out", "delivered")  # late
    assert not _receipt(uow_factory, "wamid.out", "read")  # repeated
    assert _statuses(uow_factory, ana.id, contact_id) == ["received", "read"]


def test_a_failed_receipt_fails_a_sent_reply_for_good(
    uow_factory: SqlUnitOfWorkFactory, ana: User
) -> None:
    contact_id = _reply(uow_factory, ana.id, "wamid.out")
    assert _receipt(uow_factory, "wamid.out", "failed")
    assert not _receipt(uow_factory, "wamid.out", "read")
    assert _statuses(uow_factory, ana.id, contact_id) == ["received", "failed"]


def test_receipts_leave_inbound_messages_and_unknown_ids_alone(
    uow_factory: SqlUnitOfWorkFactory, ana: User
) -> None:
    contact_id, _ = store(uow_factory, ana.id, message("wamid.in"))
    assert not _receipt(uow_factory, "wamid.in", "read")
    assert not _receipt(uow_factory, "wamid.nobody", "delivered")
    assert _statuses(uow_factory, ana.id, contact_id) == ["received"]


def test_a_receipt_finds_its_reply_through_the_outbound_index(
    uow_factory: SqlUnitOfWorkFactory, ana: User, dialect: str
) -> None:
    """The receipt's update, as sent, reads the partial index, not the table (Meta sends
    several receipts per message: a scan of every message each would grow with the inbox)."""
    sent: list[tuple[str, Any]] = []

    def capture(_c: object, _cursor: object, sql: str, parameters: Any, *_: object) -> None:
        if sql.startswith("UPDATE conversation_messages"):
            sent.append((sql, parameters))

    event.listen(uow_factory.engine, "before_cursor_execute", capture)
    try:
        _receipt(uow_factory, "wamid.out", "read")
    finally:
        event.remove(uow_factory.engine, "before_cursor_execute", capture)
    ((sql, parameters),) = sent
    with uow_factory.engine.connect() as connection:
        if dialect == "postgresql":
            connection.execute(text("SET enable_seqscan = off"))  # a tiny table would be scanned
            plan = connection.exec_driver_sql("EXPLAIN " + sql, parameters).scalars().all()
        else:
            explained = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters)
            plan = [row[-1] for row in explained]
    assert any("ix_conversation_messages_outbound_provider_message_id" in line for line in plan)


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
    """Store and queue a reply to each message; the contact of each."""
    ids = []
    for wamid in wamids:
        contact_id, stored = store(uow_factory, user_id, message(wamid, f"pregunta {wamid}"))
        assert stored is not None
        with uow_factory(write=True) as uow:
            uow.automation.enqueue(user_id, contact_id, stored, NOW)
            uow.commit()
        ids.append(contact_id)
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
    contact_id = _queue(uow_factory, ana.id, "wamid.2")[0]
    with uow_factory(write=True) as uow:
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
    contact_id = _queue(uow_factory, ana.id, "wamid.1")[0]
    with uow_factory(write=True) as uow:
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
