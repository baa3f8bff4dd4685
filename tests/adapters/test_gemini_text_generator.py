"""``GeminiTextGenerator`` against a local server speaking Gemini's ``generateContent`` wire
format: the request it sends (the key in a header, never in the URL), and how each answer,
error body and transport failure is classified."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from nexus_adapters.ai.gemini import GeminiTextGenerator, classify_response
from nexus_core.domain.api_keys import Secret
from nexus_core.domain.text_generator import GenerationRequest, Turn
from tests.doubles.gemini_api import (
    MODEL,
    GeminiApiDouble,
    Reply,
    answer,
    blocked_prompt,
    gemini_error,
)

KEY = "AIza-test-key-0123456789"
REQUEST = GenerationRequest(
    instruction="Eres un asistente.",
    turns=(Turn("user", "Hola"), Turn("model", "¡Hola!"), Turn("user", "¿Horario?")),
    max_output_tokens=256,
    temperature=0.5,
)


@pytest.fixture
def gemini() -> Iterator[GeminiApiDouble]:
    with GeminiApiDouble(keys={KEY}) as double:
        yield double


@pytest.fixture
def generator(gemini: GeminiApiDouble) -> Iterator[GeminiTextGenerator]:
    with GeminiTextGenerator(gemini.base_url, MODEL, timeout=2.0) as made:
        yield made


def test_a_request_carries_the_prompt_and_the_key_in_a_header(
    gemini: GeminiApiDouble, generator: GeminiTextGenerator
) -> None:
    generated = generator.generate(Secret(KEY), REQUEST)
    assert (generated.text, generated.error) == ("Respuesta: ¿Horario?", None)
    (request,) = gemini.requests
    assert request.path == f"/v1beta/models/{MODEL}:generateContent"
    assert KEY not in request.path
    assert request.headers["x-goog-api-key"] == KEY
    assert request.body == {
        "systemInstruction": {"parts": [{"text": "Eres un asistente."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Hola"}]},
            {"role": "model", "parts": [{"text": "¡Hola!"}]},
            {"role": "user", "parts": [{"text": "¿Horario?"}]},
        ],
        "generationConfig": {"maxOutputTokens": 256, "temperature": 0.5},
    }


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (gemini_error(400, "API key not valid.", "API_KEY_INVALID"), "bad_credentials"),
        (gemini_error(403, "Permission denied"), "bad_credentials"),
        (gemini_error(429, "Quota exceeded"), "rate_limited"),
        (gemini_error(500, "Internal error"), "unavailable"),
        (gemini_error(503, "The model is overloaded"), "unavailable"),
        (gemini_error(400, "Invalid argument"), "bad_request"),
        (gemini_error(404, "models/x is not found"), "bad_request"),
        (blocked_prompt(), "blocked"),
        (answer("", finish_reason="SAFETY"), "blocked"),
        (answer("   "), "empty"),
        (Reply(200, b"<html>not json</html>"), "unavailable"),
        (Reply(502, b"Bad Gateway"), "unavailable"),
    ],
)
def test_failures_are_classified(
    gemini: GeminiApiDouble, generator: GeminiTextGenerator, reply: Reply, error: str
) -> None:
    gemini.script(reply)
    assert generator.generate(Secret(KEY), REQUEST).error == error


def test_a_wrong_key_is_bad_credentials(generator: GeminiTextGenerator) -> None:
    assert generator.generate(Secret("AIza-wrong"), REQUEST).error == "bad_credentials"


def test_a_key_that_cannot_be_a_header_never_leaves(
    gemini: GeminiApiDouble, generator: GeminiTextGenerator
) -> None:
    assert generator.generate(Secret("two words\n"), REQUEST).error == "bad_credentials"
    assert generator.generate(Secret(""), REQUEST).error == "not_configured"
    assert gemini.requests == []


def test_a_slow_or_dropped_answer_is_a_timeout_or_unavailable(
    gemini: GeminiApiDouble, generator: GeminiTextGenerator
) -> None:
    gemini.script(Reply(delay=3.0), Reply(drop=True))
    assert generator.generate(Secret(KEY), REQUEST).error == "timeout"
    assert generator.generate(Secret(KEY), REQUEST).error == "unavailable"


def test_no_server_is_connect_failed() -> None:
    with GeminiTextGenerator("http://127.0.0.1:9/v1beta", MODEL, timeout=1.0) as generator:
        assert generator.generate(Secret(KEY), REQUEST).error == "connect_failed"


def test_parts_are_joined_and_thoughts_left_out() -> None:
    body = (
        b'{"candidates": [{"content": {"parts": [{"text": "pienso...", "thought": true},'
        b' {"text": "Abrimos "}, {"text": "a las 9."}]}}]}'
    )
    assert classify_response(200, body).text == "Abrimos a las 9."


def test_the_key_never_reaches_a_log_line(
    gemini: GeminiApiDouble, generator: GeminiTextGenerator, caplog: pytest.LogCaptureFixture
) -> None:
    gemini.script(gemini_error(500))
    with caplog.at_level(logging.DEBUG):
        generator.generate(Secret(KEY), REQUEST)
        generator.generate(Secret(KEY), REQUEST)
    assert caplog.records  # httpx logs each request at INFO
    assert all(KEY not in record.getMessage() for record in caplog.records)


def test_the_timeouts_are_bounded() -> None:
    with GeminiTextGenerator("http://127.0.0.1:9/v1beta", MODEL) as generator:
        timeout: httpx.Timeout = generator._client.timeout
    assert timeout.read is not None
    assert timeout.read <= 60
    assert timeout.connect is not None
    assert timeout.connect <= 10
