"""``SqlRateCounters`` against the ``RateCounterRepository`` port, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.rate_limits import WindowCount
from nexus_core.testing.fakes import FakeStore

NOW = datetime(2026, 11, 26, 12, 0, 0, 500000, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_hits_count_up_within_a_window(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory(write=True) as uow:
        assert uow.rate_counters.hit("k", NOW, MINUTE) == WindowCount(1, NOW)
        assert uow.rate_counters.hit("k", NOW + timedelta(seconds=10), MINUTE) == WindowCount(
            2, NOW
        )
        uow.commit()
    with uow_factory(write=True) as uow:
        last = uow.rate_counters.hit("k", NOW + MINUTE - timedelta(microseconds=1), MINUTE)
        uow.commit()
    assert last == WindowCount(3, NOW)
    assert last.window_started_at.tzinfo is UTC


def test_a_new_window_restarts_the_count(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory(write=True) as uow:
        for _ in range(5):
            uow.rate_counters.hit("k", NOW, MINUTE)
        uow.commit()
    # The window is [NOW, NOW + MINUTE): exactly one window later a new one begins.
    with uow_factory(write=True) as uow:
        restarted = uow.rate_counters.hit("k", NOW + MINUTE, MINUTE)
        again = uow.rate_counters.hit("k", NOW + MINUTE + timedelta(seconds=1), MINUTE)
        uow.commit()
    assert restarted == WindowCount(1, NOW + MINUTE)
    assert again == WindowCount(2, NOW + MINUTE)
    with uow_factory(write=True) as uow:
        much_later = NOW + timedelta(days=3)
        assert uow.rate_counters.hit("k", much_later, MINUTE) == WindowCount(1, much_later)


def test_keys_are_counted_separately(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory(write=True) as uow:
        uow.rate_counters.hit("auth-requests:127.0.0.1", NOW, MINUTE)
        uow.rate_counters.hit("auth-requests:127.0.0.1", NOW, MINUTE)
        uow.rate_counters.hit("login-failures:ana@example.com", NOW, MINUTE)
        uow.commit()
    with uow_factory() as uow:
        assert uow.rate_counters.peek("auth-requests:127.0.0.1") == WindowCount(2, NOW)
        assert uow.rate_counters.peek("login-failures:ana@example.com") == WindowCount(1, NOW)


def test_peek_reads_without_counting_and_clear_forgets(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as uow:
        assert uow.rate_counters.peek("k") is None
    with uow_factory(write=True) as uow:
        uow.rate_counters.hit("k", NOW, MINUTE)
        uow.rate_counters.hit("other", NOW, MINUTE)
        uow.commit()
    with uow_factory() as uow:
        assert uow.rate_counters.peek("k") == WindowCount(1, NOW)
        assert uow.rate_counters.peek("k") == WindowCount(1, NOW)
    with uow_factory(write=True) as uow:
        uow.rate_counters.clear("k")
        uow.rate_counters.clear("never-hit")
        uow.commit()
    with uow_factory(write=True) as uow:
        assert uow.rate_counters.peek("k") is None
        assert uow.rate_counters.peek("other") == WindowCount(1, NOW)
        later = NOW + timedelta(seconds=5)
        assert uow.rate_counters.hit("k", later, MINUTE) == WindowCount(1, later)


def test_long_keys_fit(uow_factory: SqlUnitOfWorkFactory) -> None:
    # An email is at most 254 characters; the longest key prefix is "login-failures:".
    key = "login-failures:" + "a" * 242 + "@example.com"
    with uow_factory(write=True) as uow:
        assert uow.rate_counters.hit(key, NOW, MINUTE).count == 1
        uow.commit()
    with uow_factory() as uow:
        assert uow.rate_counters.peek(key) == WindowCount(1, NOW)


THREADS = 4
HITS_PER_THREAD = 25


def test_concurrent_hits_are_never_lost(uow_factory: SqlUnitOfWorkFactory) -> None:
    """Each hit is its own unit of work, as in ``throttle``; threads stand in for processes."""
    start = threading.Barrier(THREADS)
    seen: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def hammer() -> None:
        try:
            start.wait(timeout=10)
            for _ in range(HITS_PER_THREAD):
                with uow_factory(write=True) as uow:
                    counted = uow.rate_counters.hit("auth-requests:10.0.0.1", NOW, MINUTE)
                    uow.commit()
                with lock:
                    seen.append(counted.count)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=hammer) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    total = THREADS * HITS_PER_THREAD
    # Every hit saw a different count: no two read the same value and wrote the same result.
    assert sorted(seen) == list(range(1, total + 1))
    with uow_factory() as uow:
        assert uow.rate_counters.peek("auth-requests:10.0.0.1") == WindowCount(total, NOW)


# Model-based: any sequence of hits, peeks and clears behaves as the in-memory fake does.
_operations = st.lists(
    st.tuples(
        st.sampled_from(["hit", "peek", "clear"]),
        st.sampled_from(["a", "b"]),
        st.integers(min_value=0, max_value=180_000_000),  # microseconds after NOW
    ),
    max_size=25,
)


@pytest.mark.parametrize("window_seconds", [1, 60])
@settings(
    max_examples=25,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(operations=_operations)
def test_behaves_like_the_fake(
    uow_factory: SqlUnitOfWorkFactory,
    window_seconds: int,
    operations: list[tuple[str, str, int]],
) -> None:
    window = timedelta(seconds=window_seconds)
    fake_store = FakeStore()
    # Each example runs in one uncommitted unit of work, rolled back at the end, so the
    # examples do not see each other's counters.
    with uow_factory(write=True) as uow, fake_store(write=True) as fake:
        elapsed = 0
        for operation, key, step in sorted(operations, key=lambda op: op[2]):
            elapsed = max(elapsed, step)  # time never runs backwards
            now = NOW + timedelta(microseconds=elapsed)
            if operation == "hit":
                assert uow.rate_counters.hit(key, now, window) == fake.rate_counters.hit(
                    key, now, window
                )
            elif operation == "peek":
                assert uow.rate_counters.peek(key) == fake.rate_counters.peek(key)
            else:
                uow.rate_counters.clear(key)
                fake.rate_counters.clear(key)
