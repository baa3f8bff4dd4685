"""Loaded before any test module is collected, whichever directory is run.

Because this file belongs to the ``tests`` package, pytest (in its default "prepend" import
mode) puts the project root on ``sys.path`` to import it, so test modules anywhere can import
shared helpers such as ``tests.conformance``, however pytest is started (``pytest`` or
``python -m pytest``, as nox does either way).

It imports nothing beyond pytest at module level: ``tests/core`` runs where only the standard
library and ``phonenumbers`` are installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sqlalchemy.engine import URL


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[URL]:
    """A PostgreSQL database of its own for this session (or xdist worker), dropped when it
    ends (see ``tests/postgres.py``); shared by the adapter and HTTP tests.

    Requested only by PostgreSQL tests, so a run of SQLite tests never connects. The outcome
    (skip or fail) is cached by pytest and repeated for every PostgreSQL test.
    """
    from tests.postgres import session_database

    yield from session_database()
