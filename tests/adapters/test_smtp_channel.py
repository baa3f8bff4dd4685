"""The email channel against a local SMTP server (aiosmtpd, real sockets, AUTH without TLS):
the message as received, and the classification of every failure."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from nexus_adapters.channels.email import SmtpEmailChannel
from nexus_adapters.config import Settings
from nexus_core.domain.api_keys import Secret
from nexus_core.domain.outbound import ChannelAccount, OutboundMessage
from nexus_core.ports import MessageChannel
from tests.doubles.smtp_server import DROP, HANG, SmtpDouble

SENDER = "tienda.ana@gmail.com"
PASSWORD = "qwer tyui opas dfgh"
ACCOUNT = ChannelAccount(gmail_address=SENDER, gmail_app_password=Secret(PASSWORD))
TO = "cliente@example.com"
UNSUBSCRIBE = "https://nexus.example.com/u/" + "t0k3n" * 30


@pytest.fixture(scope="module")
def module_smtp() -> Iterator[SmtpDouble]:
    with SmtpDouble(user=SENDER, password=PASSWORD) as server:
        yield server


@pytest.fixture
def smtp(module_smtp: SmtpDouble) -> SmtpDouble:
    module_smtp.received.clear()
    module_smtp.rcpt_replies.clear()
    module_smtp.data_replies.clear()
    module_smtp.hang_seconds = 1.0
    return module_smtp


@pytest.fixture
def channel(smtp: SmtpDouble) -> SmtpEmailChannel:
    return SmtpEmailChannel("127.0.0.1", smtp.port, starttls=False, timeout=0.3)


def email(
    to: str = TO,
    text: str = "Hola Ana,\n¡20 % de descuento! ☕\n.\n..punto al inicio\n",
    subject: str | None = "¡Oferta para vos, Ñandú! ☕",
    unsubscribe_url: str | None = UNSUBSCRIBE,
) -> OutboundMessage:
    return OutboundMessage(
        channel="email", to=to, text=text, subject=subject, unsubscribe_url=unsubscribe_url
    )


def test_is_a_message_channel(channel: SmtpEmailChannel) -> None:
    port: MessageChannel = channel
    assert port is channel


def test_a_message_is_sent_from_the_gmail_address_with_its_headers(
    smtp: SmtpDouble, channel: SmtpEmailChannel
) -> None:
    result = channel.send(ACCOUNT, email())

    assert result.outcome == "sent"
    assert result.error is None
    [mail] = smtp.received
    assert mail.login == SENDER
    assert (mail.mail_from, mail.rcpt_tos) == (SENDER, (TO,))
    received = mail.message
    assert received["From"] == SENDER
    assert received["To"] == TO
    assert received["Subject"] == "¡Oferta para vos, Ñandú! ☕"
    assert received["Message-ID"] == result.provider_message_id
    assert result.provider_message_id is not None
    assert result.provider_message_id.startswith("<")
    assert result.provider_message_id.endswith("@gmail.com>")
    assert received["Date"] is not None
    assert received["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received.get_content_type() == "text/plain"
    assert received.get_content_charset() == "utf-8"
    # MIME's canonical line break is CRLF, also inside the encoded body.
    body = received.get_content()
    assert body == "Hola Ana,\r\n¡20 % de descuento! ☕\r\n.\r\n..punto al inicio\r\n"


def test_the_wire_format_is_7bit_with_an_encoded_subject_and_an_unfolded_link(
    smtp: SmtpDouble, channel: SmtpEmailChannel
) -> None:
    assert channel.send(ACCOUNT, email(subject="Ñ " * 60)).outcome == "sent"
    raw = smtp.received[0].content
    assert raw.isascii()
    assert f"\r\nList-Unsubscribe: <{UNSUBSCRIBE}>\r\n".encode() in raw
    assert b"Subject: =?utf-8?" in raw
    assert smtp.received[0].message["Subject"] == "Ñ " * 60


def test_without_an_unsubscribe_link_there_are_no_list_headers(
    smtp: SmtpDouble, channel: SmtpEmailChannel
) -> None:
    assert channel.send(ACCOUNT, email(unsubscribe_url=None, subject="Plain")).outcome == "sent"
    received = smtp.received[0].message
    assert received["Subject"] == "Plain"
    assert received["List-Unsubscribe"] is None
    assert received["List-Unsubscribe-Post"] is None


def test_each_message_gets_its_own_message_id(smtp: SmtpDouble, channel: SmtpEmailChannel) -> None:
    ids = {channel.send(ACCOUNT, email()).provider_message_id for _ in range(3)}
    assert len(ids) == 3
    assert {m.message["Message-ID"] for m in smtp.received} == ids


def test_a_recipient_address_that_is_not_ascii_goes_with_smtputf8(
    smtp: SmtpDouble, channel: SmtpEmailChannel
) -> None:
    assert channel.send(ACCOUNT, email(to="josé@ejemplo.com")).outcome == "sent"
    assert smtp.received[0].rcpt_tos == ("josé@ejemplo.com",)
    assert smtp.received[0].message["Subject"] == "¡Oferta para vos, Ñandú! ☕"


@pytest.mark.parametrize(
    ("rcpt_reply", "outcome", "error"),
    [
        ("450 4.2.1 Mailbox busy", "retryable", "smtp_450"),
        ("452 4.5.3 Too many recipients", "retryable", "smtp_452"),
        ("550 5.1.1 No such user", "permanent", "smtp_550"),
        ("553 5.1.3 Bad address syntax", "permanent", "smtp_553"),
        (DROP, "retryable", "connection_lost"),  # nothing was handed over yet
    ],
)
def test_refusals_of_the_recipient_are_classified(
    smtp: SmtpDouble, channel: SmtpEmailChannel, rcpt_reply: str, outcome: str, error: str
) -> None:
    smtp.rcpt_replies[TO] = rcpt_reply
    result = channel.send(ACCOUNT, email())
    assert (result.outcome, result.error, result.provider_message_id) == (outcome, error, None)
    assert smtp.received == []


@pytest.mark.parametrize(
    ("data_reply", "outcome", "error"),
    [
        ("451 4.3.0 Try again later", "retryable", "smtp_451"),
        ("554 5.7.1 Message rejected as spam", "permanent", "smtp_554"),
    ],
)
def test_refusals_of_the_message_are_classified(
    smtp: SmtpDouble, channel: SmtpEmailChannel, data_reply: str, outcome: str, error: str
) -> None:
    smtp.data_replies[TO] = data_reply
    result = channel.send(ACCOUNT, email())
    assert (result.outcome, result.error, result.provider_message_id) == (outcome, error, None)


def test_a_connection_dropped_after_data_is_an_unknown_outcome(
    smtp: SmtpDouble, channel: SmtpEmailChannel
) -> None:
    smtp.data_replies[TO] = DROP
    result = channel.send(ACCOUNT, email())
    assert (result.outcome, result.error) == ("unknown_outcome", "connection_lost")
    assert len(smtp.received) == 1  # it may well have arrived: never retried automatically


def test_a_timeout_after_data_is_an_unknown_outcome(
    smtp: SmtpDouble, channel: SmtpEmailChannel
) -> None:
    smtp.data_replies[TO] = HANG
    result = channel.send(ACCOUNT, email())
    assert (result.outcome, result.error) == ("unknown_outcome", "timeout")


def test_a_wrong_app_password_is_bad_credentials(
    smtp: SmtpDouble, channel: SmtpEmailChannel
) -> None:
    account = ChannelAccount(gmail_address=SENDER, gmail_app_password=Secret("wrong password"))
    result = channel.send(account, email())
    assert (result.outcome, result.error) == ("bad_credentials", "smtp_535")
    assert smtp.received == []


@pytest.mark.parametrize(
    "account",
    [
        ChannelAccount(gmail_address=SENDER),
        ChannelAccount(gmail_app_password=Secret(PASSWORD)),
        ChannelAccount(gmail_address=SENDER, gmail_app_password=Secret("")),
    ],
)
def test_missing_credentials_are_bad_credentials(
    channel: SmtpEmailChannel, account: ChannelAccount
) -> None:
    result = channel.send(account, email())
    assert (result.outcome, result.error) == ("bad_credentials", "missing_credentials")


def test_a_server_that_cannot_be_reached_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    channel = SmtpEmailChannel("127.0.0.1", port, starttls=False, timeout=0.3)
    result = channel.send(ACCOUNT, email())
    assert (result.outcome, result.error) == ("retryable", "connect_failed")


def test_starttls_required_but_not_offered_sends_no_password(smtp: SmtpDouble) -> None:
    channel = SmtpEmailChannel("127.0.0.1", smtp.port, starttls=True, timeout=0.3)
    result = channel.send(ACCOUNT, email())
    assert (result.outcome, result.error) == ("permanent", "smtp_no_starttls")
    assert smtp.received == []


def test_a_server_without_auth_is_permanent() -> None:
    with SmtpDouble(offer_auth=False) as server:
        channel = SmtpEmailChannel("127.0.0.1", server.port, starttls=False, timeout=0.3)
        result = channel.send(ACCOUNT, email())
    assert (result.outcome, result.error) == ("permanent", "smtp_no_auth")


def test_a_whatsapp_message_is_a_programming_error(channel: SmtpEmailChannel) -> None:
    with pytest.raises(ValueError, match="whatsapp"):
        channel.send(ACCOUNT, OutboundMessage(channel="whatsapp", to="+34600111222", text="x"))


def test_the_password_never_shows_in_results_or_reprs(
    smtp: SmtpDouble, channel: SmtpEmailChannel
) -> None:
    wrong = ChannelAccount(gmail_address=SENDER, gmail_app_password=Secret(PASSWORD + "x"))
    smtp.data_replies[TO] = DROP
    results = [channel.send(wrong, email()), channel.send(ACCOUNT, email())]
    for shown in [repr(ACCOUNT), str(ACCOUNT), repr(wrong), *map(repr, results)]:
        assert PASSWORD not in shown
        assert PASSWORD[-4:] not in shown


def test_built_from_the_settings_it_uses_the_configured_server(smtp: SmtpDouble) -> None:
    environ = {
        "NEXUS_SMTP_HOST": "127.0.0.1",
        "NEXUS_SMTP_PORT": str(smtp.port),
        "NEXUS_SMTP_STARTTLS": "false",
    }
    channel = SmtpEmailChannel.from_settings(Settings.from_env(environ, None))
    assert channel.send(ACCOUNT, email()).outcome == "sent"
    assert len(smtp.received) == 1
