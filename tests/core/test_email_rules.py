"""Email normalisation: trimmed, lower-cased, plausibly shaped, at most 254 characters."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from nexus_core.domain.emails import EMAIL_MAX, normalise_email
from nexus_core.errors import ValidationFailed

_CODES = {"field.required", "field.too_long", "email.invalid", "field.invalid_characters"}
_PADDING = st.text(alphabet=" \t\n\r\u00a0\u2003", max_size=4)


def _failure(raw: str) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        normalise_email(raw)
    return caught.value


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ana@example.com", "ana@example.com"),
        ("  Ana@Example.COM\t", "ana@example.com"),
        ("\nANA.GARCIA+news@Mail.Example.ES  ", "ana.garcia+news@mail.example.es"),
        ("o'brien@example.co.uk", "o'brien@example.co.uk"),
    ],
)
def test_trims_and_lowercases(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize("raw", ["", " ", "   \t\n ", "\u00a0"])
def test_blank_is_required(raw: str) -> None:
    failure = _failure(raw)
    assert [(e.field, e.code) for e in failure.errors] == [("email", "field.required")]
    assert failure.code == "field.required"


@pytest.mark.parametrize(
    "raw",
    [
        "ana",
        "ana@",
        "@example.com",
        "ana@example",
        "ana@@example.com",
        "ana@exa@mple.com",
        "ana maria@example.com",
        "ana@exa mple.com",
        "ana@example.",
        "ana@example.com.",
        "ana@.",
        "ana@example..",
    ],
)
def test_malformed_is_invalid(raw: str) -> None:
    failure = _failure(raw)
    assert [(e.field, e.code) for e in failure.errors] == [("email", "email.invalid")]


def _address_of_length(length: int) -> str:
    domain = "@example.com"
    return "a" * (length - len(domain)) + domain


def test_exactly_254_characters_is_accepted_even_with_padding() -> None:
    address = _address_of_length(EMAIL_MAX)
    assert len(address) == 254
    assert normalise_email(f"  {address.upper()}  ") == address


def test_over_254_characters_is_too_long() -> None:
    failure = _failure(_address_of_length(EMAIL_MAX + 1))
    assert [(e.field, e.code) for e in failure.errors] == [("email", "field.too_long")]
    assert failure.errors[0].params["max"] == 254


def test_too_long_wins_over_malformed() -> None:
    failure = _failure("x" * 300)
    assert failure.errors[0].code == "field.too_long"


@given(st.emails(), _PADDING, _PADDING, st.lists(st.booleans(), min_size=1))
def test_valid_addresses_come_out_trimmed_and_lowercase(
    email: str, before: str, after: str, upper: list[bool]
) -> None:
    assume(len(email) <= EMAIL_MAX)
    mixed = "".join(c.upper() if upper[i % len(upper)] else c for i, c in enumerate(email))
    result = normalise_email(before + mixed + after)
    assert result == email.lower()
    assert result == result.strip()
    assert result.count("@") == 1
    assert len(result) <= EMAIL_MAX


@given(st.text())
def test_never_raises_anything_but_validation_failed(raw: str) -> None:
    try:
        result: str | None = normalise_email(raw)
    except ValidationFailed as failure:
        result, errors = None, failure.errors
    if result is None:
        assert len(errors) == 1
        assert errors[0].field == "email"
        assert errors[0].code in _CODES
    else:
        assert 0 < len(result) <= EMAIL_MAX
        assert result == result.lower()
        assert not any(c.isspace() for c in result)


@given(st.one_of(st.text(), st.emails().map(lambda e: f" {e.upper()} ")))
def test_idempotent(raw: str) -> None:
    try:
        once = normalise_email(raw)
    except ValidationFailed:
        return
    assert normalise_email(once) == once
