"""Timestamps in bodies: UTC, whole seconds, ``Z``, whatever offset the value carried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from nexus_http.schemas.common import rfc3339

OFFSETS = st.integers(min_value=-23 * 60, max_value=23 * 60).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@given(
    st.datetimes(
        min_value=datetime(1970, 1, 2),
        max_value=datetime(9998, 12, 30),
        timezones=st.one_of(st.just(UTC), OFFSETS),
    )
)
def test_any_aware_moment_is_written_as_the_same_instant_in_utc(moment: datetime) -> None:
    written = rfc3339(moment)
    assert written is not None
    assert written.endswith("Z")
    assert len(written) == len("2026-11-26T14:03:00Z")
    assert datetime.fromisoformat(written) == moment.replace(microsecond=0)


def test_naive_moments_are_taken_as_utc_and_none_stays_none() -> None:
    assert rfc3339(datetime(2026, 11, 26, 14, 3, 0, 999_999)) == "2026-11-26T14:03:00Z"
    assert rfc3339(None) is None
