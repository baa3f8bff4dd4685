"""The rules of Gemini's prompts and answers: every prompt within its bound however long the
knowledge base and the conversation, turns that alternate from the person's, drafts with only
the known placeholders, and replies capped for WhatsApp."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.automation import AUTO_REPLY_MAX, ELLIPSIS, cap_reply
from nexus_core.domain.automation_prompts import (
    PROMPT_MAX,
    clean_draft,
    draft_request,
    reply_request,
)
from nexus_core.domain.campaigns import MESSAGE_MAX
from nexus_core.domain.conversations import ConversationMessage, Direction
from nexus_core.domain.placeholders import unknown_placeholders

AT = datetime(2026, 11, 26, tzinfo=UTC)


def _message(n: int, direction: Direction, text: str) -> ConversationMessage:
    return ConversationMessage(n, 1, 1, direction, text, "read", None, direction == "out", AT)


HISTORY = st.lists(
    st.tuples(st.sampled_from(["in", "out"]), st.text(max_size=3000)), max_size=40
).map(lambda items: [_message(n, d, t) for n, (d, t) in enumerate(items)])  # type: ignore[arg-type]


@given(
    knowledge=st.none() | st.text(max_size=60_000),
    history=HISTORY,
    message=st.text(max_size=10_000),
)
def test_a_reply_prompt_stays_within_its_bound(
    knowledge: str | None, history: list[ConversationMessage], message: str
) -> None:
    request = reply_request(knowledge, history, message)
    assert request.size <= PROMPT_MAX
    roles = [turn.role for turn in request.turns]
    assert roles[0] == "user"
    assert roles[-1] == "user"
    assert all(a != b for a, b in itertools.pairwise(roles))


def test_the_newest_history_is_kept_and_the_message_comes_last() -> None:
    history = [_message(n, "in" if n % 2 else "out", f"m{n}") for n in range(30)]
    request = reply_request("KB", history, "¿Hola?")
    texts = "\n".join(turn.text for turn in request.turns)
    assert "m29" in texts
    assert "m0\n" not in texts
    assert request.turns[-1].text.endswith("¿Hola?")
    assert "KB" in request.instruction


@given(brief=st.text(max_size=5000), tone=st.none() | st.text(max_size=50))
def test_a_draft_prompt_is_bounded(brief: str, tone: str | None) -> None:
    assert draft_request(brief, tone, "whatsapp").size <= PROMPT_MAX


@given(st.text(max_size=6000))
def test_a_cleaned_draft_has_only_known_placeholders_and_fits_a_campaign(text: str) -> None:
    cleaned = clean_draft(text)
    assert len(cleaned) <= MESSAGE_MAX
    assert unknown_placeholders(cleaned) == ()


def test_known_placeholders_survive_a_clean() -> None:
    assert clean_draft("Hola {nombre}, {x} tu {email}") == "Hola {nombre}, tu {email}"
    assert clean_draft("{{a}b}") == ""


@given(st.text(max_size=5000))
def test_a_reply_is_capped_for_whatsapp(text: str) -> None:
    capped = cap_reply(text)
    assert len(capped) <= AUTO_REPLY_MAX
    if len(text.strip()) <= AUTO_REPLY_MAX:
        assert capped == text.strip()
    else:
        assert capped.endswith(ELLIPSIS)
        assert text.strip().startswith(capped[: -len(ELLIPSIS)].rstrip())
