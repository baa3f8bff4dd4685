"""What every HTTP double shares: a threaded HTTP/1.1 server on a free local port, served
from a daemon thread and used as a context manager, and scripted replies sent from it."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A dispatcher opens dozens of connections at once: the default backlog (5) would drop
    # their SYNs, and each dropped one waits a second for its retry.
    request_queue_size = 128


class LocalHttpServer:
    """Serves ``handler_class`` on 127.0.0.1 from ``start()`` (or ``with``) to ``stop()``."""

    def __init__(self, handler_class: type[BaseHTTPRequestHandler]) -> None:
        self._server = _Server(("127.0.0.1", 0), handler_class)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def root_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted answer: ``status`` with ``body`` (a JSON value, or raw bytes); a wait of
    ``delay`` seconds first; or (``drop``) the connection closed with no answer at all."""

    status: int = 200
    body: Any = None
    delay: float = 0.0
    drop: bool = False


def request_body(handler: BaseHTTPRequestHandler) -> Any:
    """The request's body: its JSON value, or the raw bytes when it is no JSON."""
    raw = handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def send_reply(handler: BaseHTTPRequestHandler, reply: Reply, content_type: str) -> None:
    """Answer with ``reply`` (waiting or dropping the connection as it says)."""
    if reply.delay:
        time.sleep(reply.delay)
    if reply.drop:
        handler.close_connection = True
        return
    content = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body)
    payload = content if isinstance(content, bytes) else content.encode()
    try:
        handler.send_response(reply.status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
    except OSError:  # the client gave up waiting (a timeout test)
        handler.close_connection = True
