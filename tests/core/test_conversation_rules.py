"""The rules of conversations: opt-out words, the 24-hour window, a reply's text, and inbound
messages as the webhook carries them (each kind read as text)."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.conversations import (
    OPT_OUT_WORDS,
    REPLY_WINDOW,
    check_reply_text,
    is_opt_out,
    window_is_open,
    window_open_until,
)
from nexus_core.domain.whatsapp_webhook import MalformedWebhook, parse_webhook
from nexus_core.errors import ValidationFailed
from tests.inbound_webhooks import inbound_body, text_message

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WRITTEN = ["baja", "stop", "cancelar", "no más"]


def _accented(word: str) -> st.SearchStrategy[str]:
    """``word`` with each letter in any case, vowels with or without an accent."""
    accents = {"a": "aáà", "e": "eéè", "i": "ií", "o": "oóò", "u": "uúü"}

    def letter(c: str) -> st.SearchStrategy[str]:
        return st.sampled_from(accents.get(c, c)).flatmap(
            lambda chosen: st.sampled_from([chosen, chosen.upper()])
        )

    return st.tuples(*(letter(c) for c in word)).map("".join)


@given(
    word=st.sampled_from(WRITTEN).flatmap(_accented),
    before=st.sampled_from(["", " ", "¡", "\n", "  «"]),
    after=st.sampled_from(["", " ", "!", ".", "!!", "»  "]),
    form=st.sampled_from(["NFC", "NFD"]),
)
def test_an_opt_out_word_alone_opts_out_in_any_case_and_accents(
    word: str, before: str, after: str, form: Any
) -> None:
    assert is_opt_out(unicodedata.normalize(form, f"{before}{word}{after}"))


@given(st.text(max_size=30))
def test_only_the_words_themselves_opt_out(text: str) -> None:
    folded = "".join(
        c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)
    ).casefold()
    words = " ".join(folded.split()).strip(" \t\r\n.,;:!?¡¿\"'«»()[]-_*~")
    assert is_opt_out(text) == (words in OPT_OUT_WORDS)


@pytest.mark.parametrize("text", ["no quiero la baja", "stop it", "bajas", "no", "", "más"])
def test_sentences_and_other_words_do_not_opt_out(text: str) -> None:
    assert not is_opt_out(text)


@given(st.timedeltas(min_value=timedelta(days=-3), max_value=timedelta(days=3)))
def test_the_window_is_open_for_24_hours_after_the_last_inbound_message(ago: timedelta) -> None:
    last = NOW - ago
    assert window_is_open(last, NOW) == (ago < REPLY_WINDOW)
    assert window_open_until(last) == last + timedelta(hours=24)


def test_without_an_inbound_message_the_window_was_never_open() -> None:
    assert window_open_until(None) is None
    assert not window_is_open(None, NOW)


@given(
    st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=4096).filter(
        lambda t: t.strip() == t and t
    )
)
def test_a_reply_text_is_kept_when_valid(text: str) -> None:
    assert check_reply_text(text) == text


@pytest.mark.parametrize(
    ("text", "code"), [("   ", "field.required"), ("x" * 4097, "field.too_long")]
)
def test_a_reply_text_names_the_field(text: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        check_reply_text(text)
    assert [(e.field, e.code) for e in raised.value.errors] == [("text", code)]


def _one(message: dict[str, Any], **options: Any) -> Any:
    (found,) = parse_webhook(inbound_body("1098765", message, **options)).inbound
    return found


def test_an_inbound_text_is_read_with_its_number_and_sender() -> None:
    found = _one(text_message("34600111222", "Hola", wamid="wamid.A1", timestamp=1700000000))
    assert found.provider_message_id == "wamid.A1"
    assert found.phone_number_id == "1098765"
    assert found.sender == "34600111222"
    assert found.profile_name == "Luis Gómez"
    assert (found.kind, found.text) == ("text", "Hola")
    assert found.timestamp == datetime.fromtimestamp(1700000000, UTC)
    assert not found.from_business


@pytest.mark.parametrize(
    ("kind", "part", "text"),
    [
        ("image", {"id": "77", "caption": "recibo"}, "[image 77] recibo"),
        ("document", {"id": "78", "filename": "factura.pdf"}, "[document 78] factura.pdf"),
        ("audio", {"id": "79"}, "[audio 79]"),
        ("sticker", {}, "[sticker]"),
        ("button", {"text": "Sí"}, "Sí"),
        ("interactive", {"button_reply": {"id": "b1", "title": "Ver catálogo"}}, "Ver catálogo"),
        ("location", {"latitude": 40.4, "longitude": -3.7}, "[location 40.4 -3.7]"),
        ("reaction", {"emoji": "👍", "message_id": "wamid.X"}, "[reaction 👍]"),
        ("unsupported", {}, "[unsupported]"),
    ],
)
def test_other_kinds_are_described(kind: str, part: dict[str, Any], text: str) -> None:
    message = {"from": "34600111222", "id": "wamid.K", "timestamp": "1700000000", "type": kind}
    message[kind] = part
    assert _one(message).text == text


def test_a_message_from_the_business_number_is_ours() -> None:
    assert _one(text_message("34910000000", "eco"), business_number="34910000000").from_business


@pytest.mark.parametrize("member", ["from", "id", "type"])
def test_an_inbound_message_without_what_it_needs_is_malformed(member: str) -> None:
    message = text_message("34600111222", "Hola", wamid="wamid.M")
    del message[member]
    with pytest.raises(MalformedWebhook) as raised:
        parse_webhook(inbound_body("1098765", message))
    assert raised.value.errors[0].field == f"entry.0.changes.0.value.messages.0.{member}"


def test_a_message_without_a_timestamp_was_sent_when_it_arrived() -> None:
    message = text_message("34600111222", "Hola")
    del message["timestamp"]
    found = _one(message)
    assert found.timestamp is None
    assert found.sent_at(NOW) == NOW
    assert _one(text_message("34600111222", "Hola", timestamp=2_000_000_000)).sent_at(NOW) == NOW


def test_a_wrong_timestamp_is_malformed() -> None:
    with pytest.raises(MalformedWebhook):
        parse_webhook(inbound_body("1098765", text_message("346001", "x") | {"timestamp": "ayer"}))


def test_messages_without_metadata_are_malformed() -> None:
    body = inbound_body("1098765", text_message("34600111222", "Hola"))
    del body["entry"][0]["changes"][0]["value"]["metadata"]
    with pytest.raises(MalformedWebhook) as raised:
        parse_webhook(body)
    assert raised.value.errors[0].field == "entry.0.changes.0.value.metadata"
