"""The in-memory fakes pass the repository conformance suite (``tests/conformance.py``)."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from nexus_core.testing.fakes import FakeStore
from tests.conformance import RowCounts, run_repository_conformance

SETTINGS = settings(
    max_examples=100,
    stateful_step_count=30,
    suppress_health_check=[HealthCheck.too_slow],
)


def _count_rows(store: FakeStore) -> RowCounts:
    state = store.state
    return RowCounts(
        len(state.users),
        len(state.sessions),
        len(state.counters),
        len(state.contacts),
        len(state.imports),
    )


def test_the_fakes_conform() -> None:
    run_repository_conformance(FakeStore, count_rows=_count_rows, settings=SETTINGS)


def test_the_fakes_conform_when_checked_through_the_ports_alone() -> None:
    """Without a way to count rows the invariant reads everything back through the ports."""
    run_repository_conformance(FakeStore, settings=settings(SETTINGS, max_examples=30))
