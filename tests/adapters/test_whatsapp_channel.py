"""The WhatsApp Cloud API channel against a local Cloud API double (real HTTP, real sockets):
the exact request of every message shape, and the classification of every answer."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from nexus_adapters.channels.whatsapp import WhatsAppCloudChannel
from nexus_adapters.config import Settings
from nexus_core.domain.api_keys import Secret
from nexus_core.domain.outbound import ChannelAccount, OutboundMessage, RenderedTemplate
from nexus_core.ports import MessageChannel
from tests.doubles.whatsapp_cloud import Reply, WhatsAppCloudDouble, cloud_error, success

TOKEN = "EAAGm0PX4ZCpsBAtopsecret-token-value"
PHONE_NUMBER_ID = "106540352242922"
ACCOUNT = ChannelAccount(whatsapp_token=Secret(TOKEN), whatsapp_phone_number_id=PHONE_NUMBER_ID)
TO = "+5491155550000"
WA_TO = "5491155550000"
FAST = httpx.Timeout(2.0, read=0.3)


@pytest.fixture(scope="module")
def module_cloud() -> Iterator[WhatsAppCloudDouble]:
    with WhatsAppCloudDouble() as double:
        yield double


@pytest.fixture
def cloud(module_cloud: WhatsAppCloudDouble) -> WhatsAppCloudDouble:
    module_cloud.reset()
    return module_cloud


@pytest.fixture(scope="module")
def channel(module_cloud: WhatsAppCloudDouble) -> Iterator[WhatsAppCloudChannel]:
    """One channel for the module, as in production: its pooled connections outlive a send."""
    with WhatsAppCloudChannel(module_cloud.base_url, timeout=FAST) as whatsapp:
        yield whatsapp


def text(body: str = "Hola Ana", to: str = TO) -> OutboundMessage:
    return OutboundMessage(channel="whatsapp", to=to, text=body)


def test_is_a_message_channel(channel: WhatsAppCloudChannel) -> None:
    port: MessageChannel = channel
    assert port is channel


def test_a_text_message_is_posted_with_the_bearer_token(
    cloud: WhatsAppCloudDouble, channel: WhatsAppCloudChannel
) -> None:
    result = channel.send(ACCOUNT, text("Hola Ñandú 🎉, ¿qué tal?"))

    assert result.outcome == "sent"
    assert result.provider_message_id is not None
    assert result.provider_message_id.startswith("wamid.")
    assert result.error is None
    [request] = cloud.requests
    assert request.method == "POST"
    assert request.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert request.body == {
        "messaging_product": "whatsapp",
        "to": WA_TO,
        "type": "text",
        "text": {"body": "Hola Ñandú 🎉, ¿qué tal?"},
    }


def test_the_provider_id_is_the_first_message_id(
    cloud: WhatsAppCloudDouble, channel: WhatsAppCloudChannel
) -> None:
    cloud.script(WA_TO, success("wamid.HBgLNTQ5MTE1NTU1MDAwMBUCABEYEjQ2"))
    assert channel.send(ACCOUNT, text()).provider_message_id == (
        "wamid.HBgLNTQ5MTE1NTU1MDAwMBUCABEYEjQ2"
    )


@pytest.mark.parametrize("media_type", ["image", "video", "document"])
def test_a_media_message_carries_the_link_and_the_text_as_caption(
    cloud: WhatsAppCloudDouble, channel: WhatsAppCloudChannel, media_type: str
) -> None:
    message = OutboundMessage(
        channel="whatsapp",
        to=TO,
        text="Mirá la promo",
        media_url="https://cdn.example.com/promo.bin",
        media_type=media_type,  # type: ignore[arg-type]
    )
    assert channel.send(ACCOUNT, message).outcome == "sent"
    assert cloud.requests[0].body == {
        "messaging_product": "whatsapp",
        "to": WA_TO,
        "type": media_type,
        media_type: {"link": "https://cdn.example.com/promo.bin", "caption": "Mirá la promo"},
    }


def test_audio_has_no_caption(cloud: WhatsAppCloudDouble, channel: WhatsAppCloudChannel) -> None:
    message = OutboundMessage(
        channel="whatsapp",
        to=TO,
        text="ignored",
        media_url="https://cdn.example.com/a.ogg",
        media_type="audio",
    )
    assert channel.send(ACCOUNT, message).outcome == "sent"
    assert cloud.requests[0].body == {
        "messaging_product": "whatsapp",
        "to": WA_TO,
        "type": "audio",
        "audio": {"link": "https://cdn.example.com/a.ogg"},
    }


def test_a_template_sends_its_rendered_body_parameters(
    cloud: WhatsAppCloudDouble, channel: WhatsAppCloudChannel
) -> None:
    message = OutboundMessage(
        channel="whatsapp",
        to=TO,
        text="unused",
        template=RenderedTemplate("promo", "es", ("Ana María", "20%")),
    )
    assert channel.send(ACCOUNT, message).outcome == "sent"
    assert cloud.requests[0].body == {
        "messaging_product": "whatsapp",
        "to": WA_TO,
        "type": "template",
        "template": {
            "name": "promo",
            "language": {"code": "es"},
            "components": [
                {
                    "type": "body",
                    "parameters": [
                        {"type": "text", "text": "Ana María"},
                        {"type": "text", "text": "20%"},
                    ],
                }
            ],
        },
    }


def test_a_template_without_parameters_has_no_components(
    cloud: WhatsAppCloudDouble, channel: WhatsAppCloudChannel
) -> None:
    message = OutboundMessage(
        channel="whatsapp", to=TO, text="", template=RenderedTemplate("hello_world", "en_US")
    )
    assert channel.send(ACCOUNT, message).outcome == "sent"
    assert cloud.requests[0].body["template"] == {
        "name": "hello_world",
        "language": {"code": "en_US"},
    }


@pytest.mark.parametrize(
    ("reply", "outcome", "error"),
    [
        (cloud_error(130429), "retryable", "130429"),
        (cloud_error(131016), "retryable", "131016"),
        (cloud_error(131000), "retryable", "131000"),
        (cloud_error(131057), "retryable", "131057"),
        (cloud_error(131000, 400), "retryable", "131000"),  # the code decides
        (Reply(503, b"Service Unavailable"), "retryable", "http_503"),
        (Reply(502, {"unexpected": True}), "retryable", "http_502"),
        (Reply(429, b""), "retryable", "http_429"),
        (cloud_error(131026), "permanent", "131026"),
        (cloud_error(131050), "permanent", "131050"),
        (cloud_error(131026, 500), "permanent", "131026"),  # the code decides
        (cloud_error(100, 400, subcode=2494010), "permanent", "100"),
        (Reply(404, b"<html>not found</html>"), "permanent", "http_404"),
        (cloud_error(190, subcode=463), "bad_credentials", "190"),
        (Reply(401, b""), "bad_credentials", "http_401"),
        (cloud_error(10), "bad_credentials", "10"),
        (cloud_error(777, 503), "retryable", "777"),  # an unknown code: the status decides
        (cloud_error(777, 401), "bad_credentials", "777"),
    ],
)
def test_failures_are_classified(
    cloud: WhatsAppCloudDouble,
    channel: WhatsAppCloudChannel,
    reply: Reply,
    outcome: str,
    error: str,
) -> None:
    cloud.script(WA_TO, reply)
    result = channel.send(ACCOUNT, text())
    assert (result.outcome, result.error, result.provider_message_id) == (outcome, error, None)


def test_scripts_are_per_recipient_and_in_order(
    cloud: WhatsAppCloudDouble, channel: WhatsAppCloudChannel
) -> None:
    cloud.script(WA_TO, cloud_error(130429), cloud_error(131000))
    outcomes = [channel.send(ACCOUNT, text()).error for _ in range(3)]
    other = channel.send(ACCOUNT, text(to="+34600111222"))
    assert outcomes == ["130429", "131000", None]
    assert other.outcome == "sent"
    assert [r.body["to"] for r in cloud.requests] == [WA_TO] * 3 + ["34600111222"]


def test_a_timeout_after_the_request_left_is_an_unknown_outcome(
    cloud: WhatsAppCloudDouble, channel: WhatsAppCloudChannel
) -> None:
    cloud.script(WA_TO, Reply(delay=1.0))
    result = channel.send(ACCOUNT, text())
    assert (result.outcome, result.error) == ("unknown_outcome", "timeout")
    assert len(cloud.requests) == 1  # it did arrive: never retried automatically


def test_a_connection_dropped_before_the_answer_is_an_unknown_outcome(
    cloud: WhatsAppCloudDouble, channel: WhatsAppCloudChannel
) -> None:
    cloud.script(WA_TO, Reply(drop=True))
    result = channel.send(ACCOUNT, text())
    assert (result.outcome, result.error) == ("unknown_outcome", "connection_lost")
    assert channel.send(ACCOUNT, text()).outcome == "sent"  # the pool recovers


def test_a_server_that_cannot_be_reached_is_retryable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with WhatsAppCloudChannel(f"http://127.0.0.1:{port}/v21.0", timeout=FAST) as channel:
        result = channel.send(ACCOUNT, text())
    assert (result.outcome, result.error) == ("retryable", "connect_failed")


@pytest.mark.parametrize(
    "account",
    [
        ChannelAccount(whatsapp_phone_number_id=PHONE_NUMBER_ID),
        ChannelAccount(whatsapp_token=Secret(TOKEN)),
        ChannelAccount(whatsapp_token=Secret(""), whatsapp_phone_number_id=PHONE_NUMBER_ID),
    ],
)
def test_missing_credentials_are_bad_credentials_and_nothing_is_sent(
    cloud: WhatsAppCloudDouble, channel: WhatsAppCloudChannel, account: ChannelAccount
) -> None:
    result = channel.send(account, text())
    assert (result.outcome, result.error) == ("bad_credentials", "missing_credentials")
    assert cloud.requests == []


@pytest.mark.parametrize("token", ["tok en", "tökén", "token\r\nX-Evil: 1"])
def test_a_token_that_cannot_be_a_header_is_bad_credentials(
    cloud: WhatsAppCloudDouble, channel: WhatsAppCloudChannel, token: str
) -> None:
    account = ChannelAccount(whatsapp_token=Secret(token), whatsapp_phone_number_id="1")
    result = channel.send(account, text())
    assert (result.outcome, result.error) == ("bad_credentials", "invalid_token")
    assert cloud.requests == []


def test_the_phone_number_id_stays_one_path_segment(
    cloud: WhatsAppCloudDouble, channel: WhatsAppCloudChannel
) -> None:
    account = ChannelAccount(whatsapp_token=Secret(TOKEN), whatsapp_phone_number_id="1/../x?y")
    channel.send(account, text())
    assert cloud.requests[0].path == "/v21.0/1%2F..%2Fx%3Fy/messages"


def test_an_email_message_is_a_programming_error(channel: WhatsAppCloudChannel) -> None:
    with pytest.raises(ValueError, match="email"):
        channel.send(ACCOUNT, OutboundMessage(channel="email", to="a@example.com", text="x"))


def test_the_token_never_shows_in_results_or_reprs(
    cloud: WhatsAppCloudDouble, channel: WhatsAppCloudChannel
) -> None:
    cloud.script(
        WA_TO,
        cloud_error(190),
        Reply(drop=True),
        Reply(delay=1.0),
        Reply(500, TOKEN.encode()),  # even a server echoing it back
    )
    results = [channel.send(ACCOUNT, text()) for _ in range(4)]
    for shown in [repr(ACCOUNT), str(ACCOUNT), *map(repr, results)]:
        assert TOKEN not in shown
        assert TOKEN[-8:] not in shown


def test_one_channel_serves_many_threads_over_pooled_connections(
    cloud: WhatsAppCloudDouble, channel: WhatsAppCloudChannel
) -> None:
    recipients = [f"+34600{n:06d}" for n in range(40)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda to: channel.send(ACCOUNT, text(to=to)), recipients))

    assert all(r.outcome == "sent" for r in results)
    assert len({r.provider_message_id for r in results}) == len(recipients)
    assert sorted(r.body["to"] for r in cloud.requests) == sorted(
        to.removeprefix("+") for to in recipients
    )


def test_built_from_the_settings_it_posts_to_the_configured_url(
    cloud: WhatsAppCloudDouble,
) -> None:
    settings = Settings.from_env({"NEXUS_WHATSAPP_API_URL": cloud.base_url + "/"}, None)
    with WhatsAppCloudChannel.from_settings(settings) as channel:
        assert channel.send(ACCOUNT, text()).outcome == "sent"
    assert cloud.requests[0].path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
