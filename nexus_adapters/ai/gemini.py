"""Gemini's REST API as a ``TextGenerator``: ``POST {base}/models/{model}:generateContent``
with the user's key in the ``x-goog-api-key`` header (never in the URL, which proxies and
access logs keep), one pooled ``httpx.Client`` (thread-safe).

How an answer is classified (the codes of ``text_generator.GenerationError``):

- 200 with a candidate holding text: the text (its parts joined);
- 200 whose prompt or candidate was withheld by the safety filters (``promptFeedback.
  blockReason``, ``finishReason`` ``SAFETY``/``PROHIBITED_CONTENT``/…) and no text:
  ``blocked``; with no text otherwise: ``empty``;
- an error body's ``error.status`` or reason: ``API_KEY_INVALID``, ``UNAUTHENTICATED`` or
  ``PERMISSION_DENIED`` (and HTTP 401/403) ``bad_credentials``; ``RESOURCE_EXHAUSTED`` (and
  429) ``rate_limited``; other 4xx ``bad_request``; 5xx ``unavailable``;
- no connection could be opened: ``connect_failed``; no answer in time: ``timeout``; a dropped
  connection or an unreadable 200: ``unavailable``.

Nothing of the request, the answer or the key is ever logged or put in an error.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import httpx

from nexus_adapters.config import Settings
from nexus_adapters.http_api import DEFAULT_TIMEOUT, HttpApiClient
from nexus_core.domain.api_keys import Secret
from nexus_core.domain.text_generator import Generation, GenerationError, GenerationRequest

# A reply is waited for by a dispatch worker (whose lease outlasts it) or by a person on the
# test page: 30 s to read the answer, as the model may think for a while.
DEFAULT_MAX_CONNECTIONS = 16
_KEY = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: anything else is no key
_NEVER_LEFT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
_CREDENTIAL_MARKS = frozenset({"API_KEY_INVALID", "UNAUTHENTICATED", "PERMISSION_DENIED"})
_BLOCKING_FINISH = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"}
)


class GeminiTextGenerator(HttpApiClient):
    """Asks ``model`` at ``base_url`` (``NEXUS_GEMINI_API_URL``, e.g.
    ``https://generativelanguage.googleapis.com/v1beta``; ``NEXUS_GEMINI_MODEL``)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> None:
        self._url = f"{base_url.rstrip('/')}/models/{quote(model, safe='')}:generateContent"
        super().__init__(timeout=timeout, max_connections=max_connections)

    @classmethod
    def from_settings(cls, settings: Settings) -> GeminiTextGenerator:
        return cls(settings.gemini_api_url, settings.gemini_model)

    def generate(self, api_key: Secret, request: GenerationRequest) -> Generation:
        if not api_key.value:
            return Generation.failed("not_configured")
        if not _KEY.fullmatch(api_key.value):
            return Generation.failed("bad_credentials")
        try:
            response = self._client.post(
                self._url,
                content=json.dumps(request_body(request), ensure_ascii=False).encode("utf-8"),
                headers={"x-goog-api-key": api_key.value, "Content-Type": "application/json"},
            )
        except _NEVER_LEFT:
            return Generation.failed("connect_failed")
        except httpx.TimeoutException:
            return Generation.failed("timeout")
        except httpx.HTTPError:
            return Generation.failed("unavailable")
        return classify_response(response.status_code, response.content)


def request_body(request: GenerationRequest) -> dict[str, Any]:
    """The ``generateContent`` JSON of ``request``."""
    return {
        "systemInstruction": {"parts": [{"text": request.instruction}]},
        "contents": [{"role": turn.role, "parts": [{"text": turn.text}]} for turn in request.turns],
        "generationConfig": {
            "maxOutputTokens": request.max_output_tokens,
            "temperature": request.temperature,
        },
    }


def classify_response(status: int, content: bytes) -> Generation:
    """The outcome of an HTTP answer of ``generateContent`` (see the module's docstring)."""
    try:
        payload = json.loads(content)
    except ValueError:
        payload = None
    if 200 <= status < 300:
        return _generation(payload)
    return Generation.failed(_error(status, payload))


def _generation(payload: object) -> Generation:
    if not isinstance(payload, dict):
        return Generation.failed("unavailable")
    blocked = False
    feedback = payload.get("promptFeedback")
    if isinstance(feedback, dict) and feedback.get("blockReason"):
        blocked = True
    candidates = payload.get("candidates")
    for candidate in candidates if isinstance(candidates, list) else ():
        if not isinstance(candidate, dict):
            continue
        text = _text_of(candidate.get("content"))
        if text.strip():
            return Generation.written(text)
        if candidate.get("finishReason") in _BLOCKING_FINISH:
            blocked = True
    return Generation.failed("blocked" if blocked else "empty")


def _text_of(content: object) -> str:
    if not isinstance(content, dict):
        return ""
    parts = content.get("parts")
    return "".join(
        part["text"]
        for part in (parts if isinstance(parts, list) else ())
        if isinstance(part, dict) and isinstance(part.get("text"), str) and not part.get("thought")
    )


def _error(status: int, payload: object) -> GenerationError:
    marks: set[str] = set()
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        if isinstance(error.get("status"), str):
            marks.add(error["status"])
        details = error.get("details")
        for detail in details if isinstance(details, list) else ():
            if isinstance(detail, dict) and isinstance(detail.get("reason"), str):
                marks.add(detail["reason"])
    if marks & _CREDENTIAL_MARKS or status in (401, 403):
        return "bad_credentials"
    if "RESOURCE_EXHAUSTED" in marks or status == 429:
        return "rate_limited"
    if status >= 500:
        return "unavailable"
    return "bad_request"
