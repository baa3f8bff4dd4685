"""The AI automation's use cases on the in-memory fakes: the workers' round of replies (one
reply per inbound message, sent at most once, paced per user, never to opted-out contacts or
outside the window, failures recorded and nothing sent), status, toggle and drafts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nexus_core.domain.automation import AUTO_REPLY_MAX
from nexus_core.domain.outbound import SendResult
from nexus_core.domain.text_generator import Generation
from nexus_core.errors import RuleRefused, UpstreamFailed
from nexus_core.use_cases import automation, conversations
from nexus_core.use_cases.automation import ReplyReport, reply_once
from nexus_core.use_cases.inbound import receive_inbound
from tests.core.conversation_world import GEMINI, WHATSAPP, World, world


@pytest.fixture
def w() -> World:
    return world()


def round_of(w: World, worker_id: str = "w1", **options: object) -> ReplyReport:
    return reply_once(
        w.ports, w.channel, worker_id=worker_id, lease_seconds=120, batch=50, **options
    )  # type: ignore[arg-type]


def activities(w: World, user_id: int) -> list[tuple[str, str | None]]:
    page = automation.list_activity(w.ports, user_id, {})
    return [(a.status, a.error) for a in page.items]


def test_an_inbound_message_gets_exactly_one_ai_reply(w: World) -> None:
    ana = w.user(**WHATSAPP, **GEMINI, gemini_knowledge_base="Abrimos a las 9.")
    receive_inbound(w.ports, [w.message("¿A qué hora abrís?")], w.clock())
    report = round_of(w)
    assert (report.claimed, report.sent) == (1, 1)
    assert round_of(w).claimed == 0
    ((account, sent),) = w.channel.sent
    assert (sent.to, sent.text) == ("+34600111222", "Respuesta a: ¿A qué hora abrís?")
    assert account.whatsapp_phone_number_id == "1098765"
    (asked,) = w.gemini.asked
    assert asked.api_key == "AIza-test-key-5678"
    assert "Abrimos a las 9." in asked.request.instruction
    (activity,) = automation.list_activity(w.ports, ana, {}).items
    assert (activity.status, activity.response_content) == ("sent", sent.text)
    assert activity.message_content == "¿A qué hora abrís?"
    contact_id = activity.contact_id
    assert contact_id is not None
    newest = conversations.read_messages(w.ports, ana, contact_id, {}).items[0]
    assert (newest.direction, newest.generated_by_ai, newest.text) == ("out", True, sent.text)
    assert automation.automation_status(w.ports, ana).replies_today == 1


def test_the_prompt_carries_the_recent_conversation(w: World) -> None:
    w.user(**WHATSAPP, **GEMINI)
    receive_inbound(w.ports, [w.message("Hola")], w.clock())
    round_of(w)
    receive_inbound(w.ports, [w.message("¿Y el domingo?")], w.clock())
    round_of(w)
    turns = [(t.role, t.text) for t in w.gemini.asked[-1].request.turns]
    assert turns == [
        ("user", "Hola"),
        ("model", "Respuesta a: Hola"),
        ("user", "¿Y el domingo?"),
    ]


def test_without_the_automation_nothing_is_asked_or_sent(w: World) -> None:
    w.user(**WHATSAPP, gemini_api_key="AIza-key-1234")
    receive_inbound(w.ports, [w.message("Hola")], w.clock())
    assert round_of(w).claimed == 0
    assert w.gemini.asked == []
    assert w.channel.sent == []


def test_a_gemini_failure_is_recorded_and_nothing_is_sent(w: World) -> None:
    ana = w.user(**WHATSAPP, **GEMINI)
    w.gemini.script(Generation.failed("rate_limited"))
    receive_inbound(w.ports, [w.message("Hola")], w.clock())
    report = round_of(w)
    assert (report.claimed, report.failed, report.sent) == (1, 1, 0)
    assert w.channel.sent == []
    assert activities(w, ana) == [("failed", "gemini_rate_limited")]
    assert automation.automation_status(w.ports, ana).failures_today == 1
    assert round_of(w).claimed == 0  # never retried by itself


def test_a_channel_failure_is_recorded_with_the_reply(w: World) -> None:
    ana = w.user(**WHATSAPP, **GEMINI)
    w.channel._script.append(SendResult.failed("permanent", "131026"))
    receive_inbound(w.ports, [w.message("Hola")], w.clock())
    round_of(w)
    (activity,) = automation.list_activity(w.ports, ana, {}).items
    assert (activity.status, activity.error) == ("failed", "whatsapp_131026")
    assert activity.response_content == "Respuesta a: Hola"


def test_a_long_answer_is_capped_for_whatsapp(w: World) -> None:
    w.user(**WHATSAPP, **GEMINI)
    w.gemini.script(Generation.written("bla " * 1000))
    receive_inbound(w.ports, [w.message("Hola")], w.clock())
    round_of(w)
    assert len(w.channel.sent[0][1].text) <= AUTO_REPLY_MAX


def test_replies_are_paced_per_user(w: World) -> None:
    w.user(**WHATSAPP, **GEMINI)
    receive_inbound(w.ports, [w.message(f"m{n}") for n in range(5)], w.clock())
    assert round_of(w, per_minute=3).sent == 3
    assert round_of(w, per_minute=3).claimed == 0
    w.clock.advance(timedelta(minutes=1))
    assert round_of(w, per_minute=3).sent == 2


def test_a_contact_who_opted_out_meanwhile_gets_no_reply(w: World) -> None:
    ana = w.user(**WHATSAPP, **GEMINI)
    receive_inbound(w.ports, [w.message("Hola")], w.clock())
    receive_inbound(w.ports, [w.message("baja")], w.clock())
    assert round_of(w).claimed == 0
    assert activities(w, ana) == [("skipped", "opted_out")]
    assert w.channel.sent == []


def test_a_reply_whose_window_closed_is_skipped(w: World) -> None:
    ana = w.user(**WHATSAPP, **GEMINI)
    receive_inbound(w.ports, [w.message("Hola")], w.clock())
    w.clock.advance(timedelta(hours=24))
    assert round_of(w).claimed == 0
    assert activities(w, ana) == [("skipped", "window_closed")]


def test_turning_it_off_before_the_round_skips_what_was_queued(w: World) -> None:
    ana = w.user(**WHATSAPP, **GEMINI)
    receive_inbound(w.ports, [w.message("Hola")], w.clock())
    assert automation.toggle_automation(w.ports, ana, None) is False
    round_of(w)
    assert activities(w, ana) == [("skipped", "automation_off")]
    assert w.gemini.asked == []


def test_a_worker_that_died_mid_reply_leaves_it_failed_never_resent(w: World) -> None:
    ana = w.user(**WHATSAPP, **GEMINI)
    receive_inbound(w.ports, [w.message("Hola")], w.clock())
    with w.ports.uow(write=True) as uow:
        assert len(uow.automation.claim_due(w.clock(), 120, 10, "dead", 20)) == 1
        uow.commit()
    w.clock.advance(timedelta(minutes=3))
    report = round_of(w)
    assert (report.reaped, report.claimed) == (1, 0)
    assert activities(w, ana) == [("failed", "unknown_outcome")]
    assert w.channel.sent == []


def test_users_see_only_their_own_activity(w: World) -> None:
    w.user(**WHATSAPP, **GEMINI)
    bob = w.user("bob@example.com")
    receive_inbound(w.ports, [w.message("Hola")], w.clock())
    round_of(w)
    assert automation.list_activity(w.ports, bob, {}).total == 0
    assert automation.automation_status(w.ports, bob).replies_today == 0


def test_toggle_needs_a_key_to_turn_on(w: World) -> None:
    ana = w.user(**WHATSAPP)
    with pytest.raises(RuleRefused):
        automation.toggle_automation(w.ports, ana, True)
    assert automation.toggle_automation(w.ports, ana, False) is False


def test_dry_runs_and_drafts_report_gemini_failures(w: World) -> None:
    ana = w.user(gemini_api_key="AIza-key-1234")
    w.gemini.script(Generation.failed("bad_credentials"), Generation.failed("timeout"))
    with pytest.raises(RuleRefused):
        automation.dry_run_reply(w.ports, ana, "Hola")
    with pytest.raises(UpstreamFailed):
        automation.generate_campaign_message(w.ports, ana, "Rebajas", None, None)
    assert automation.dry_run_reply(w.ports, ana, "Hola") == "Respuesta a: Hola"
