"""Loaded before any test module is collected, whichever directory is run.

Because this file belongs to the ``tests`` package, pytest (in its default "prepend" import
mode) puts the project root on ``sys.path`` to import it, so test modules anywhere can import
shared helpers such as ``tests.conformance``, however pytest is started (``pytest`` or
``python -m pytest``, as nox does either way).

It imports nothing beyond pytest and Hypothesis at module level: ``tests/core`` runs where only
the standard library, ``phonenumbers`` and the test tools are installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

if TYPE_CHECKING:
    from sqlalchemy.engine import URL


# No per-example deadline: how long an example takes is the benchmarks' business, and on a slow
# or busy machine a correct example (a property over a million sends a minute, say) can take
# longer than Hypothesis's default 200 ms. A property still fails on what it asserts.
settings.register_profile("nexus", deadline=None)
settings.load_profile("nexus")


@pytest.fixture(scope="session")
def postgres_session_url() -> Iterator[URL]:
    """A PostgreSQL database of its own for this session (or xdist worker), dropped when it
    ends (see ``tests/postgres.py``); shared by the adapter and HTTP tests.

    Requested only by PostgreSQL tests, so a run of SQLite tests never connects. The outcome
    (skip or fail) is cached by pytest and repeated for every PostgreSQL test.
    """
    from tests.postgres import session_database

    yield from session_database()
