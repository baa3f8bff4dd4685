"""Memo: an object is reused only for the very values it was built from."""

from __future__ import annotations

from collections.abc import Callable
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
