"""When a session ends: after ``idle`` without use or ``absolute`` after login, whichever first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.sessions import Session, SessionPolicy

LOGIN = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)

_DURATIONS = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=400))
_OFFSETS = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=800))


@st.composite
def policies(draw: st.DrawFn) -> SessionPolicy:
    idle = draw(_DURATIONS)
    absolute = draw(_DURATIONS)
    touch_every = draw(st.timedeltas(min_value=timedelta(seconds=1), max_value=idle))
    return SessionPolicy(idle=idle, absolute=absolute, touch_every=touch_every)


def session(last_seen_after_login: timedelta = timedelta(0)) -> Session:
    return Session(1, 1, "hash", LOGIN, LOGIN + last_seen_after_login)


def test_default_policy_is_coherent() -> None:
    policy = SessionPolicy()
    assert timedelta(0) < policy.touch_every < policy.idle <= policy.absolute


@given(policies())
def test_a_new_session_is_alive(policy: SessionPolicy) -> None:
    assert not session().expired(LOGIN, policy)
    assert not session().needs_touch(LOGIN, policy)


@given(_DURATIONS, _OFFSETS, _DURATIONS)
def test_idle_expiry(idle: timedelta, seen: timedelta, spare: timedelta) -> None:
    # The absolute end lies beyond the idle end, to isolate the idle rule.
    policy = SessionPolicy(idle=idle, absolute=seen + idle + spare, touch_every=idle)
    s = session(seen)
    last_seen = LOGIN + seen
    assert not s.expired(last_seen + idle - TICK, policy)
    assert s.expired(last_seen + idle, policy)


@given(policies(), _OFFSETS)
def test_absolute_expiry_is_not_extended_by_use(policy: SessionPolicy, extra: timedelta) -> None:
    end = LOGIN + policy.absolute
    # However recently it was used, the session ends at its absolute end.
    fresh = session(policy.absolute)
    assert fresh.expired(end, policy)
    assert fresh.expired(end + extra, policy)
    assert fresh.expires_at(policy) == end
    recently_used = session(policy.absolute - TICK)
    assert not recently_used.expired(end - TICK, policy)


@given(policies(), _OFFSETS, _OFFSETS, _OFFSETS)
def test_expiry_is_final(
    policy: SessionPolicy, seen: timedelta, at: timedelta, later: timedelta
) -> None:
    s = session(seen)
    now = LOGIN + seen + at
    if s.expired(now, policy):
        assert s.expired(now + later, policy)


@given(policies(), _OFFSETS, _OFFSETS)
def test_alive_only_within_both_limits(
    policy: SessionPolicy, seen: timedelta, at: timedelta
) -> None:
    s = session(seen)
    now = LOGIN + seen + at
    alive = not s.expired(now, policy)
    assert alive == (now < LOGIN + seen + policy.idle and now < s.expires_at(policy))


@given(policies(), _OFFSETS, _OFFSETS)
def test_needs_touch_after_touch_every(
    policy: SessionPolicy, seen: timedelta, at: timedelta
) -> None:
    s = session(seen)
    last_seen = LOGIN + seen
    assert not s.needs_touch(last_seen + policy.touch_every - TICK, policy)
    assert s.needs_touch(last_seen + policy.touch_every, policy)
    if s.needs_touch(last_seen + at, policy):
        assert s.needs_touch(last_seen + at + policy.touch_every, policy)
