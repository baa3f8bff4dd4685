"""Retries: at most four calls in all, waits near 2 s that double, and what each outcome means."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.retry_policy import (
    CHANNEL_OUTCOMES,
    FIRST_WAIT,
    JITTER,
    MAX_ATTEMPTS,
    ChannelOutcome,
    Verdict,
    after_outcome,
    next_attempt_at,
    retry_wait,
)

NOW = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


class Fixed:
    """A "random" source that always draws the same number."""

    def __init__(self, draw: float) -> None:
        self.draw = draw

    def random(self) -> float:
        return self.draw


MIDDLE = Fixed(0.5)


def test_the_contract_numbers() -> None:
    assert MAX_ATTEMPTS == 4
    assert timedelta(seconds=2) == FIRST_WAIT
    assert 0 < JITTER < 1 / 3


def test_without_jitter_waits_are_2_4_and_8_seconds_then_nothing() -> None:
    waits = [retry_wait(attempts, MIDDLE) for attempts in range(6)]
    assert waits == [
        timedelta(0),
        timedelta(seconds=2),
        timedelta(seconds=4),
        timedelta(seconds=8),
        None,
        None,
    ]


def test_jitter_is_bounded() -> None:
    assert retry_wait(1, Fixed(0.0)) == timedelta(seconds=1.6)
    assert retry_wait(1, Fixed(1.0)) == timedelta(seconds=2.4)
    assert retry_wait(3, Fixed(0.0)) == timedelta(seconds=6.4)
    # A source drawing outside [0, 1) is held to the bounds.
    assert retry_wait(2, Fixed(7.0)) == timedelta(seconds=4.8)
    assert retry_wait(2, Fixed(-3.0)) == timedelta(seconds=3.2)


def test_next_attempt_is_now_plus_the_wait() -> None:
    assert next_attempt_at(1, NOW, MIDDLE) == NOW + timedelta(seconds=2)
    assert next_attempt_at(0, NOW, MIDDLE) == NOW
    assert next_attempt_at(MAX_ATTEMPTS, NOW, MIDDLE) is None


def test_the_random_module_and_seeded_generators_are_sources() -> None:
    assert next_attempt_at(1, NOW, random) is not None
    first = [retry_wait(n, random.Random(42)) for n in (1, 2, 3)]
    again = [retry_wait(n, random.Random(42)) for n in (1, 2, 3)]
    assert first == again


def test_negative_attempts_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="negative"):
        retry_wait(-1, MIDDLE)


@given(st.integers(0, 2**32), st.integers(MAX_ATTEMPTS, 1_000))
def test_no_retry_after_the_fourth_call(seed: int, attempts: int) -> None:
    assert next_attempt_at(attempts, NOW, random.Random(seed)) is None


@given(st.integers(0, 2**32))
def test_waits_stay_near_their_nominal_value_and_grow(seed: int) -> None:
    rng = random.Random(seed)
    waits = [retry_wait(attempts, rng) for attempts in range(1, MAX_ATTEMPTS)]
    nominal = [FIRST_WAIT * 2 ** (attempts - 1) for attempts in range(1, MAX_ATTEMPTS)]
    for wait, expected in zip(waits, nominal, strict=True):
        assert wait is not None
        assert expected * (1 - JITTER) <= wait <= expected * (1 + JITTER)
    assert all(
        earlier is not None and later is not None and earlier < later
        for earlier, later in pairwise(waits)
    )


@given(st.integers(0, 2**32))
def test_a_channel_that_keeps_failing_is_called_four_times_in_all(seed: int) -> None:
    rng = random.Random(seed)
    now, calls = NOW, 0
    while True:
        calls += 1  # the attempt is recorded, then the channel answers "retryable"
        verdict = after_outcome("retryable", calls, now, rng)
        if verdict.status != "pending":
            break
        assert verdict.retry_at is not None
        assert verdict.retry_at > now
        now = verdict.retry_at
    assert verdict == Verdict("failed")
    assert calls == MAX_ATTEMPTS
    # The whole affair takes about 2 + 4 + 8 s.
    assert timedelta(seconds=14 * (1 - JITTER)) <= now - NOW <= timedelta(seconds=14 * (1 + JITTER))


@pytest.mark.parametrize(
    ("outcome", "attempts", "expected"),
    [
        ("sent", 1, Verdict("sent")),
        ("sent", 4, Verdict("sent")),
        ("retryable", 1, Verdict("pending", NOW + timedelta(seconds=2))),
        ("retryable", 3, Verdict("pending", NOW + timedelta(seconds=8))),
        ("retryable", 4, Verdict("failed")),
        ("permanent", 1, Verdict("failed")),
        ("unknown_outcome", 1, Verdict("failed")),
        ("bad_credentials", 1, Verdict("failed", fails_campaign=True)),
        ("bad_credentials", 3, Verdict("failed", fails_campaign=True)),
    ],
)
def test_what_each_outcome_means(outcome: ChannelOutcome, attempts: int, expected: Verdict) -> None:
    assert after_outcome(outcome, attempts, NOW, MIDDLE) == expected


@pytest.mark.parametrize("outcome", CHANNEL_OUTCOMES)
def test_an_outcome_needs_a_call(outcome: ChannelOutcome) -> None:
    with pytest.raises(ValueError, match="at least one call"):
        after_outcome(outcome, 0, NOW, MIDDLE)


@given(st.sampled_from(CHANNEL_OUTCOMES), st.integers(1, 10), st.integers(0, 2**32))
def test_only_retryable_failures_are_tried_again(
    outcome: ChannelOutcome, attempts: int, seed: int
) -> None:
    verdict = after_outcome(outcome, attempts, NOW, random.Random(seed))
    assert (verdict.status == "pending") == (outcome == "retryable" and attempts < MAX_ATTEMPTS)
    assert (verdict.retry_at is not None) == (verdict.status == "pending")
    assert verdict.fails_campaign == (outcome == "bad_credentials")
    assert verdict.status in ("sent", "pending", "failed")
