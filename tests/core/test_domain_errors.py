"""Domain errors: stable codes, every field error kept, retry hints never below one second."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.errors import (
    Collector,
    Conflict,
    DomainError,
    NotFound,
    RuleRefused,
    TooManyAttempts,
    Unauthenticated,
    ValidationFailed,
)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (NotFound(), "resource.not_found"),
        (Conflict(), "resource.conflict"),
        (Unauthenticated(), "auth.not_authenticated"),
        (RuleRefused(), "rule.refused"),
        (Conflict("user.email_taken"), "user.email_taken"),
    ],
)
def test_codes(error: DomainError, code: str) -> None:
    assert error.code == code
    assert isinstance(error, DomainError)


@given(st.integers(min_value=-10_000, max_value=10_000))
def test_retry_after_is_at_least_one_second(seconds: int) -> None:
    error = TooManyAttempts(seconds)
    assert error.retry_after == max(1, seconds)
    assert error.params["retry_after"] == error.retry_after
    assert error.code == "rate.too_many_attempts"


def test_collector_keeps_every_error_under_the_given_field() -> None:
    errors = Collector()

    def fails() -> str:
        raise ValidationFailed.single("", "field.too_long", max=3)

    assert errors.check("name", fails) is None
    assert errors.check("company", lambda: "ok") == "ok"
    errors.add("theme", "theme.invalid")
    with pytest.raises(ValidationFailed) as caught:
        errors.raise_if_any()
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("name", "field.too_long"),
        ("theme", "theme.invalid"),
    ]
    assert caught.value.errors[0].params["max"] == 3
    assert caught.value.code == "field.too_long"


def test_an_empty_collector_raises_nothing() -> None:
    Collector().raise_if_any()


def test_collector_lets_other_exceptions_through() -> None:
    with pytest.raises(ZeroDivisionError):
        Collector().check("x", lambda: 1 / 0)
