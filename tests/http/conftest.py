"""HTTP tests: the real Litestar app on a real SQLite file, driven by Litestar's TestClient.

Every test gets its own database (migrated with the real migrations) and its own app. The
password hasher is swapped for bcrypt cost 4 so that the suite does not pay cost 12 per login.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from nexus_adapters.config import Settings
from tests.http.support import ALLOWED_ORIGIN, SECRET_KEY, AppFactory, build_app


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[AppFactory]:
    """Build an app with custom settings and return a started TestClient for it.

    ``make_client(env="production", cookie_samesite="none", auth_rate_per_minute=3)``;
    ``origin=None`` leaves out the default ``Origin`` header; ``base_url`` switches to https;
    ``ports={"clock": FakeClock()}`` replaces fields of the core's ``Ports``.
    Each call gets its own database file unless ``database_url`` is given.
    """
    started: list[TestClient[Litestar]] = []

    def factory(
        *,
        origin: str | None = ALLOWED_ORIGIN,
        base_url: str = "http://testserver.local",
        database_url: str | None = None,
        run_migrations: bool = True,
        ports: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> TestClient[Litestar]:
        url = database_url or f"sqlite:///{tmp_path}/app{len(started)}.db"
        settings = Settings(database_url=url, secret_key=SECRET_KEY, **overrides)
        client = TestClient(
            build_app(settings, run_migrations=run_migrations, **(ports or {})), base_url=base_url
        )
        client.__enter__()
        started.append(client)
        if origin is not None:
            client.headers["Origin"] = origin
        return client

    yield factory
    for client in reversed(started):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: AppFactory) -> TestClient[Litestar]:
    """A client of a development app, sending ``Origin: http://localhost:5173`` by default."""
    return make_client()
