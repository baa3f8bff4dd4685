"""A Gemini API double: a real HTTP/1.1 server (keep-alive, one thread per connection)
answering ``POST /v1beta/models/{model}:generateContent`` in Gemini's wire format, error
bodies included.

Every request is recorded (path, headers with lower-case names, JSON body). A request whose
``x-goog-api-key`` is not one of ``keys`` gets Gemini's ``API_KEY_INVALID`` answer. Otherwise
the scripted replies answer in order (``double.script(reply, …)``), then the default: a
candidate whose text is ``answer`` (``"Respuesta: <the last user turn>"`` when not given).
A ``Reply`` may wait first (``delay``) or close the connection without answering (``drop``).
Usage::

    with GeminiApiDouble(keys={"AIza-test"}) as gemini:
        gemini.script(gemini_error(503))
        generator = GeminiTextGenerator(gemini.base_url, "gemini-2.5-flash")
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.doubles.local_http import LocalHttpServer, Reply, request_body, send_reply

API_VERSION = "v1beta"
MODEL = "gemini-2.5-flash"
_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def answer(text: str, finish_reason: str = "STOP") -> Reply:
    """A candidate with ``text``, as ``generateContent`` returns it."""
    return Reply(
        200,
        {
            "candidates": [
                {
                    "content": {"parts": [{"text": text}], "role": "model"},
                    "finishReason": finish_reason,
                    "index": 0,
                }
            ],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5},
            "modelVersion": MODEL,
        },
    )


def blocked_prompt(reason: str = "SAFETY") -> Reply:
    """The prompt withheld by the safety filters: no candidate at all."""
    return Reply(200, {"promptFeedback": {"blockReason": reason}, "modelVersion": MODEL})


def gemini_error(status: int, message: str = "scripted error", reason: str | None = None) -> Reply:
    """An error body as Google APIs write it (``reason`` in an ``ErrorInfo`` detail)."""
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": _STATUS_NAMES.get(status, "UNKNOWN"),
    }
    if reason is not None:
        error["details"] = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": reason,
                "domain": "googleapis.com",
            }
        ]
    return Reply(status, {"error": error})


INVALID_KEY = gemini_error(
    400, "API key not valid. Please pass a valid API key.", "API_KEY_INVALID"
)


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def last_user_text(self) -> str:
        contents = self.body.get("contents", []) if isinstance(self.body, dict) else []
        texts = [
            part.get("text", "")
            for content in contents
            if content.get("role") == "user"
            for part in content.get("parts", [])
        ]
        return texts[-1] if texts else ""

    @property
    def instruction(self) -> str:
        parts = self.body.get("systemInstruction", {}).get("parts", [])
        return "".join(part.get("text", "") for part in parts)


class GeminiApiDouble(LocalHttpServer):
    def __init__(self, *, keys: set[str], answer_text: str | None = None) -> None:
        self.requests: list[RecordedRequest] = []
        self.keys = set(keys)
        self.answer_text = answer_text
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        super().__init__(_handler_class(self))

    @property
    def base_url(self) -> str:
        return f"{self.root_url()}/{API_VERSION}"

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with a valid key with ``replies``, in order."""
        with self._lock:
            self._script.extend(replies)

    def _record(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            if request.headers.get("x-goog-api-key") not in self.keys:
                return INVALID_KEY
            if self._script:
                return self._script.popleft()
        text = self.answer_text or f"Respuesta: {request.last_user_text}"
        return answer(text)


def _handler_class(double: GeminiApiDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = request_body(self)
            headers = {name.lower(): value for name, value in self.headers.items()}
            reply = double._record(RecordedRequest(self.path, headers, body))
            parts = self.path.strip("/").split("/")
            if (
                len(parts) != 3
                or parts[:2] != [API_VERSION, "models"]
                or not parts[2].endswith(":generateContent")
            ):
                reply = gemini_error(404, f"{self.path} is not found")
            elif not isinstance(body, dict) or not body.get("contents"):
                reply = gemini_error(
                    400, "* GenerateContentRequest.contents: contents is not specified"
                )
            send_reply(self, reply, "application/json; charset=UTF-8")

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read ``double.requests`` instead."""

    return Handler
