"""The pieces of the end-to-end tests (fixtures live in ``conftest.py``): ``nexus`` commands
run as real processes, a started server, an HTTP client that behaves like the frontend, and
polling with a deadline.

A ``NexusProcess`` runs ``python -m nexus_http.cli …`` in a session of its own (so that the
server's own worker processes go with it), its output in a log file that a failed test shows.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

PROJECT = Path(__file__).resolve().parents[2]
SECRET_KEY = "e2e-secret-key-" + "k" * 40
APP_SECRET = "e2e-app-secret-5c1d9f"
VERIFY_TOKEN = "e2e-verify-token"
ALLOWED_ORIGIN = "http://localhost:5173"  # a default CORS origin: the CSRF rule admits it
PASSWORD = "una-clave-larga"
WHATSAPP_TOKEN = "EAAG-e2e-token-7788"
PHONE_NUMBER_ID = "1098765"
GMAIL_ADDRESS = "tienda.ana@gmail.com"
GMAIL_APP_PASSWORD = "qwer tyui opas dfgh"
FAST_RATE = 600  # messages a minute, the most a user may set
START_SECONDS = 40.0
STOP_SECONDS = 15.0
POLL_SECONDS = 0.1
LOG_TAIL_CHARS = 20_000
# Settings of the developer's own environment that must not reach the processes under test.
_OWN_SETTINGS = ("DATABASE_URL", "SECRET_KEY", "CORS_ORIGINS", "HOST", "PORT")

T = TypeVar("T")

# Every process started and not yet stopped: a failed test shows their output.
RUNNING: list[NexusProcess] = []


def base_environment() -> dict[str, str]:
    """This process's environment without any Nexus setting, with the working tree importable."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("NEXUS_") and name not in _OWN_SETTINGS
    }
    return {**env, "PYTHONPATH": str(PROJECT), "PYTHONUNBUFFERED": "1"}


class NexusProcess:
    """``nexus <args>`` as a child process in a session of its own, with its standard output and
    error in ``<workdir>/<name>.log``."""

    def __init__(
        self, name: str, args: Sequence[str], env: Mapping[str, str], workdir: Path
    ) -> None:
        self.name = name
        self.log_path = workdir / f"{name}.log"
        with self.log_path.open("wb") as log:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "nexus_http.cli", *args],
                cwd=workdir,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        RUNNING.append(self)

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def tail(self) -> str:
        text = self.output()
        return text if len(text) <= LOG_TAIL_CHARS else "…" + text[-LOG_TAIL_CHARS:]

    def kill(self) -> None:
        """``kill -9``: the process gets no chance to finish anything."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=STOP_SECONDS)

    def stop(self) -> int:
        """SIGTERM, and SIGKILL to its whole session when it is not gone in time (or left
        children behind); its exit status."""
        try:
            if self.running:
                self.popen.send_signal(signal.SIGTERM)
            try:
                return self.popen.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self._kill_session()
                return self.popen.wait(timeout=STOP_SECONDS)
        finally:
            self._kill_session()
            if self in RUNNING:
                RUNNING.remove(self)

    def _kill_session(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)


def wait_for(
    probe: Callable[[], T],
    what: str,
    *,
    timeout: float = 30.0,
    processes: Iterable[NexusProcess] = (),
) -> T:
    """Call ``probe`` until it returns something truthy, and return that; fail after
    ``timeout`` seconds, or as soon as one of ``processes`` has exited."""
    watched = tuple(processes)
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        for process in watched:
            if not process.running:
                raise AssertionError(
                    f"{process.name} exited ({process.popen.returncode}) while waiting for {what}"
                )
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}; last seen: {value!r}")
        time.sleep(POLL_SECONDS)


class Api:
    """An HTTP client of the server as the frontend is one: JSON, the session cookie, and the
    allowed ``Origin`` on every request (with a cookie and no ``Origin`` the CSRF rule refuses)."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Origin": ALLOWED_ORIGIN}, timeout=30.0
        )

    def call(self, method: str, path: str, *, status: int = 200, **kwargs: Any) -> Any:
        """The JSON body of the answer, which must have ``status``."""
        response = self.http.request(method, path, **kwargs)
        assert response.status_code == status, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json()

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.call("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.call("PUT", path, json=json, **kwargs)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_EMAILS = itertools.count(1)


class Server:
    """A started ``nexus serve`` at ``base_url``, and the environment it was started with
    (``nexus worker`` processes for it get the same)."""

    def __init__(
        self, process: NexusProcess, base_url: str, env: Mapping[str, str], workdir: Path
    ) -> None:
        self.process = process
        self.base_url = base_url
        self.env = dict(env)
        self.workdir = workdir
        self.workers: list[NexusProcess] = []
        self._clients: list[Api] = []

    def worker(self, name: str | None = None) -> NexusProcess:
        """Start a ``nexus worker`` against the server's database (running until stopped)."""
        name = name or f"worker-{len(self.workers) + 1}"
        worker = NexusProcess(name, ["worker", "--no-migrate"], self.env, self.workdir)
        self.workers.append(worker)
        return worker

    @property
    def processes(self) -> list[NexusProcess]:
        """The server and its workers still meant to run (``wait_for`` watches them)."""
        return [self.process, *(w for w in self.workers if w.running)]

    def leaked_secrets(self) -> list[str]:
        """Which of the secrets the tests configure appear in the output of the server or of
        any of its workers, stopped or killed ones included (none should)."""
        logs = [process.output() for process in [self.process, *self.workers]]
        secrets = (SECRET_KEY, APP_SECRET, WHATSAPP_TOKEN, GMAIL_APP_PASSWORD)
        return [secret for secret in secrets if any(secret in log for log in logs)]

    def client(self) -> Api:
        api = Api(self.base_url)
        self._clients.append(api)
        return api

    def user(self, **profile: Any) -> Api:
        """A new user, registered (and so logged in) with a unique email, with the WhatsApp
        and Gmail credentials of the doubles and the fastest send rate; ``profile`` changes
        more of the profile."""
        api = self.client()
        email = f"user{next(_EMAILS)}-{os.getpid()}@example.com"
        api.post(
            "/api/auth/register",
            {"email": email, "password": PASSWORD, "name": "Ana"},
            status=201,
        )
        settings = {
            "whatsapp_api_key": WHATSAPP_TOKEN,
            "whatsapp_phone_number_id": PHONE_NUMBER_ID,
            "gmail_address": GMAIL_ADDRESS,
            "gmail_api_key": GMAIL_APP_PASSWORD,
            "send_rate_per_minute": FAST_RATE,
            **profile,
        }
        api.put("/api/profile", settings)
        return api

    def close(self) -> None:
        """Stop the workers and the server (killing whatever does not stop in time)."""
        for api in self._clients:
            api.close()
        for process in [*reversed(self.workers), self.process]:
            process.stop()


# ``launch(database_url, name="serve", workers=1, **env)``: the ``launch`` fixture's factory.
Launch = Callable[..., Server]


def start_server(
    name: str,
    database_url: str,
    env: Mapping[str, str],
    workdir: Path,
    port: int,
    workers: int = 1,
) -> Server:
    """``nexus serve`` (``workers`` server processes) on ``port`` with ``env``, once it answers
    ``/ready``; on SQLite it dispatches in-process, on PostgreSQL it needs ``nexus worker``."""
    base_url = f"http://127.0.0.1:{port}"
    full_env = {
        **env,
        "DATABASE_URL": database_url,
        "NEXUS_PUBLIC_URL": base_url,
    }
    process = NexusProcess(
        name, ["serve", "--port", str(port), "--workers", str(workers)], full_env, workdir
    )
    server = Server(process, base_url, full_env, workdir)
    try:
        wait_for(
            lambda: _ready(base_url),
            f"{name} to answer /ready",
            timeout=START_SECONDS,
            processes=[process],
        )
    except BaseException:
        server.close()
        raise
    return server


def _ready(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/ready", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


# --- campaigns ------------------------------------------------------------------------------


def create_campaign(api: Api, **body: Any) -> dict[str, Any]:
    fields = {"name": "Promo", "message": "Hola {first_name}, tu número es {phone}", **body}
    campaign: dict[str, Any] = api.post("/api/campaigns", fields, status=201)["campaign"]
    return campaign


def act(api: Api, campaign: dict[str, Any], action: str, **body: Any) -> dict[str, Any]:
    """``POST /api/campaigns/{id}/<action>``: the campaign it answers."""
    answer = api.post(f"/api/campaigns/{campaign['id']}/{action}", body or None)
    found: dict[str, Any] = answer["campaign"]
    return found


def read_campaign(api: Api, campaign: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = api.get(f"/api/campaigns/{campaign['id']}")["campaign"]
    return found


def deliveries(api: Api, campaign: dict[str, Any]) -> list[dict[str, Any]]:
    """Every delivery of the campaign, page after page."""
    found: list[dict[str, Any]] = []
    page = 1
    while True:
        body = api.get(
            f"/api/campaigns/{campaign['id']}/deliveries",
            params={"page": page, "per_page": 100},
        )
        found.extend(body["deliveries"])
        if not body["pagination"]["has_next"]:
            return found
        page += 1


def wait_for_status(
    api: Api,
    campaign: dict[str, Any],
    status: str,
    server: Server,
    *,
    settled: bool = False,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """The campaign once its status is ``status`` (and, ``settled``, none of its deliveries is
    pending any more); fails fast if a process of ``server`` exits, or if the campaign ends in
    another final state."""

    def probe() -> dict[str, Any] | None:
        found = read_campaign(api, campaign)
        if found["status"] != status and found["status"] in {"completed", "failed", "cancelled"}:
            raise AssertionError(f"campaign ended {found['status']}, not {status}: {found}")
        reached = found["status"] == status and not (settled and found["pending_count"])
        return found if reached else None

    return wait_for(
        probe,
        f"campaign {campaign['id']} to be {status}" + (", nothing pending" if settled else ""),
        timeout=timeout,
        processes=server.processes,
    )


def counters_add_up(campaign: dict[str, Any]) -> bool:
    """API.md: each delivery counts once in pending, sent, failed or skipped."""
    parts = ("pending_count", "sent_count", "failed_count", "skipped_count")
    return sum(campaign[part] for part in parts) == campaign["total_recipients"]
