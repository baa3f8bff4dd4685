"""Memo: an object is reused only for the very values it was built from."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from nexus_adapters.memo import Memo
from nexus_adapters.sql.unit_of_work import SqlUnitOfWorkFactory
from nexus_core.domain.users import User


def counting_builder() -> tuple[list[int], Callable[[int], Callable[[], object]]]:
    builds: list[int] = []

    def builder(value: int) -> Callable[[], object]:
        def build() -> object:
            builds.append(value)
            return object()

        return build

    return builds, builder


def test_the_same_row_gives_the_same_object_and_a_changed_row_a_new_one() -> None:
    memo: Memo[object] = Memo()
    builds, builder = counting_builder()
    first = memo.get(1, (1, "Ana"), builder(1))
    assert memo.get(1, (1, "Ana"), builder(2)) is first
    changed = memo.get(1, (1, "Ana María"), builder(3))
    assert changed is not first
    assert builds == [1, 3]


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 3)), max_size=200))
def test_what_comes_back_was_always_built_from_that_row(reads: list[tuple[int, int]]) -> None:
    memo: Memo[tuple[int, int]] = Memo(capacity=8)
    for key, version in reads:
        row = (key, version)
        assert memo.get(key, row, lambda row=row: row) == row
    assert len(memo._entries) <= 8  # bounded


def test_a_session_lookup_sees_every_change_to_its_user(
    uow_factory: SqlUnitOfWorkFactory, add_user: Callable[..., User]
) -> None:
    user = add_user()
    with uow_factory(write=True) as uow:
        session = uow.sessions.add(user.id, "a" * 64, user.created_at)
        uow.commit()
    with uow_factory() as uow:
        before = uow.sessions.find_with_user("a" * 64)
    with uow_factory() as uow:
        assert uow.sessions.find_with_user("a" * 64) is before  # unchanged rows: reused
    with uow_factory(write=True) as uow:
        uow.users.record_login(user.id, user.created_at + timedelta(minutes=5))
        uow.commit()
    with uow_factory() as uow:
        after = uow.sessions.find_with_user("a" * 64)
    assert after is not None
    assert after[1].last_login == user.created_at + timedelta(minutes=5)
    assert after[0] == session


def test_threads_missing_one_key_at_once_build_it_once() -> None:
    """The first miss builds; the others wait for it and take it (same values), instead of
    all running the same query at once."""
    memo: Memo[object] = Memo()
    builds: list[int] = []
    building = threading.Event()
    may_finish = threading.Event()

    def slow_build() -> object:
        builds.append(1)
        building.set()
        may_finish.wait(10)
        return object()

    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(memo.get, "page", (7,), slow_build)
        assert building.wait(10)
        waiting = [pool.submit(memo.get, "page", (7,), slow_build) for _ in range(3)]
        time.sleep(0.2)  # the others reach the build meanwhile
        may_finish.set()
        got = [first.result(), *(future.result() for future in waiting)]
    assert builds == [1]
    assert all(obj is got[0] for obj in got)


def test_a_waiter_with_other_values_builds_its_own() -> None:
    memo: Memo[object] = Memo()
    first = memo.get("page", (1,), object)
    assert memo.get("page", (2,), object) is not first
