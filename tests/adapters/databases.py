"""Markers for the few adapter tests about one database's own machinery (its planner, its
locks, its full-text index): they run on that database only instead of skipping on the other."""

from __future__ import annotations

import pytest

only_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
only_postgresql = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
