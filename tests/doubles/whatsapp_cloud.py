"""A WhatsApp Cloud API double: a real HTTP/1.1 server (keep-alive, one thread per connection)
answering ``POST /{version}/{phone_number_id}/messages`` in the Cloud API's wire format.

Every request is recorded (path, headers with lower-case names, JSON body). Answers are
scripted per recipient (the body's ``to``): ``double.script("5491155550000", reply, …)`` gives
those replies in order, then successes (which wait ``delay`` seconds when the double is made
with one: a slow API). A ``Reply`` may wait before answering (``delay``) or close the connection
without answering (``drop``). Usage::

    with WhatsAppCloudDouble() as cloud:
        cloud.script("34600111222", cloud_error(131026))
        channel = WhatsAppCloudChannel(cloud.base_url)
"""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.doubles.local_http import LocalHttpServer, Reply, request_body, send_reply

API_VERSION = "v21.0"

# The HTTP status the Cloud API pairs with each error code the tests use.
STATUS_OF_CODE = {
    190: 401,
    0: 401,
    10: 403,
    130429: 429,
    131056: 429,
    131016: 503,
    131000: 500,
    131057: 503,
    131026: 400,
    131050: 400,
    100: 400,
}


def success(message_id: str) -> Reply:
    """A success carrying ``message_id`` (the recipient is filled in from the request)."""
    return Reply(200, {"messages": [{"id": message_id}]})


def cloud_error(code: int, status: int | None = None, *, subcode: int | None = None) -> Reply:
    """An error body as the Graph API writes it, with the status it pairs with ``code``."""
    error: dict[str, Any] = {
        "message": f"(#{code}) scripted error",
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEfGhIjK",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return Reply(status or STATUS_OF_CODE.get(code, 400), {"error": error})


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class WhatsAppCloudDouble(LocalHttpServer):
    def __init__(self, *, delay: float = 0.0) -> None:
        self.requests: list[RecordedRequest] = []
        self.delay = delay  # of every unscripted answer
        self._scripts: defaultdict[str, deque[Reply]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        super().__init__(_handler_class(self))

    @property
    def base_url(self) -> str:
        return f"{self.root_url()}/{API_VERSION}"

    def script(self, to: str, *replies: Reply) -> None:
        """Answer the next requests to ``to`` (without ``+``) with ``replies``, in order."""
        with self._lock:
            self._scripts[to].extend(replies)

    def reset(self) -> None:
        """Forget the requests and the scripts (one double serving several tests)."""
        with self._lock:
            self.requests.clear()
            self._scripts.clear()

    def _record(self, request: RecordedRequest) -> Reply:
        """Keep the request; its scripted reply, a success (2xx) completed as the Cloud API
        answers it: naming the recipient, with the scripted ``wamid`` or a fresh one."""
        to = request.body.get("to") if isinstance(request.body, dict) else None
        with self._lock:
            self.requests.append(request)
            queue = self._scripts.get(str(to))
            reply = queue.popleft() if queue else Reply(delay=self.delay)
        if 200 <= reply.status < 300 and not reply.drop:
            given = reply.body["messages"][0]["id"] if isinstance(reply.body, dict) else None
            message_id = given or f"wamid.HBgL{next(self._ids):08d}"
            body = {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": message_id}],
            }
            return Reply(reply.status, body, reply.delay)
        return reply


def _handler_class(double: WhatsAppCloudDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the channel pools connections

        def do_POST(self) -> None:
            body = request_body(self)
            headers = {name.lower(): value for name, value in self.headers.items()}
            reply = double._record(RecordedRequest("POST", self.path, headers, body))
            parts = self.path.strip("/").split("/")
            if len(parts) != 3 or parts[0] != API_VERSION or parts[2] != "messages":
                reply = cloud_error(100, 400)
            send_reply(self, reply, "application/json")

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read ``double.requests`` instead."""

    return Handler
