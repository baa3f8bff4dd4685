"""Fixtures of the end-to-end tests: nothing in-process but the outside world's doubles.

``nexus serve`` runs as a subprocess on a free port with a database of its own — the session's
PostgreSQL test database (its ``public`` schema emptied first), beside ``nexus worker``
subprocesses, or a SQLite file, where the server dispatches in-process. Messages leave through
the local doubles of ``tests/doubles``: the WhatsApp Cloud API over HTTP, SMTP on aiosmtpd.
Tests talk to the server over HTTP as the frontend does (``support.Api``).

Every process writes its output to a log file that a failing test shows, one section a process
(``pytest_runtest_makereport``); every process is stopped, or killed, at teardown whatever
happened. PostgreSQL tests carry the ``postgres`` mark (``tests/postgres.py``: skipped with the
reason when no server answers, a failure under ``NEXUS_REQUIRE_POSTGRES=1``).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from tests.doubles.smtp_server import SmtpDouble, free_port
from tests.doubles.whatsapp_cloud import WhatsAppCloudDouble
from tests.e2e.support import (
    APP_SECRET,
    GMAIL_ADDRESS,
    GMAIL_APP_PASSWORD,
    RUNNING,
    SECRET_KEY,
    VERIFY_TOKEN,
    Launch,
    Server,
    base_environment,
    start_server,
)
from tests.postgres import empty_public_schema


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test shows the output of every process it had running."""
    report = yield
    if report.failed:
        for process in RUNNING:
            state = "running" if process.running else f"exited {process.popen.returncode}"
            report.sections.append(
                (f"{process.name} (pid {process.pid}, {state}) output", process.tail())
            )
    return report


@pytest.fixture(scope="module")
def cloud() -> Iterator[WhatsAppCloudDouble]:
    with WhatsAppCloudDouble() as double:
        yield double


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpDouble]:
    with SmtpDouble(user=GMAIL_ADDRESS, password=GMAIL_APP_PASSWORD) as server:
        yield server


@pytest.fixture(scope="module")
def launch(
    tmp_path_factory: pytest.TempPathFactory, cloud: WhatsAppCloudDouble, smtp: SmtpDouble
) -> Iterator[Launch]:
    """``launch(database_url, name="serve", workers=1, **env)`` starts a server (``workers``
    processes) wired to the doubles, with more variables in ``env``; every server and its
    ``nexus worker`` processes are stopped at the end of the module."""
    started: list[Server] = []
    environment = {
        **base_environment(),
        "SECRET_KEY": SECRET_KEY,
        "NEXUS_WHATSAPP_API_URL": cloud.base_url,
        "NEXUS_WHATSAPP_APP_SECRET": APP_SECRET,
        "NEXUS_WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "NEXUS_SMTP_HOST": "127.0.0.1",
        "NEXUS_SMTP_PORT": str(smtp.port),
        "NEXUS_SMTP_STARTTLS": "false",
        "NEXUS_DB_POOL_SIZE": "4",
        "NEXUS_IMPORT_RATE_PER_MINUTE": "0",
    }

    def start(database_url: str, name: str = "serve", workers: int = 1, **env: str) -> Server:
        workdir = tmp_path_factory.mktemp(name)
        server = start_server(
            name, database_url, {**environment, **env}, workdir, free_port(), workers
        )
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in reversed(started):
            server.close()


@pytest.fixture(scope="module")
def postgres_url(postgres_session_url: URL) -> str:
    """The session's PostgreSQL test database, emptied for this module's server."""
    empty_public_schema(postgres_session_url)
    return postgres_session_url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def pg_server(launch: Launch, postgres_url: str) -> Server:
    """``nexus serve`` on PostgreSQL with one ``nexus worker``, shared by the module's tests
    (each test works as a user of its own)."""
    server = launch(postgres_url, name="serve-postgresql")
    server.worker()
    return server


@pytest.fixture
def sqlite_server(launch: Launch, tmp_path: Path) -> Iterator[Server]:
    """``nexus serve`` on a SQLite file of its own: it sends the campaigns itself."""
    server = launch(f"sqlite:///{tmp_path / 'nexus.db'}", name="serve-sqlite")
    try:
        yield server
    finally:
        server.close()
