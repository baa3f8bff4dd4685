"""Phone numbers: E.164 out, read with a default country when written without a prefix."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.phones import is_known_region, to_e164
from nexus_core.errors import ValidationFailed

_REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
_TYPES = [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("600 111 222", "ES", "+34600111222"),
        ("600111222", "es", "+34600111222"),
        ("  600111222\t", "ES", "+34600111222"),
        ("0034 600 111 222", "ES", "+34600111222"),
        ("0034600111222", "FR", "+34600111222"),
        ("+34 600 111 222", "US", "+34600111222"),
        ("+34600111222", "GB", "+34600111222"),
        ("600.111.222", "ES", "+34600111222"),
        ("600-111-222", "ES", "+34600111222"),
        ("(600) 111 222", "ES", "+34600111222"),
        ("+34 (600) 11-12-22", "ES", "+34600111222"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("0044 20 7946 0018", "ES", "+442079460018"),
        ("(201) 555-0123", "US", "+12015550123"),
    ],
)
def test_reads_common_spellings(raw: str, country: str, expected: str) -> None:
    assert to_e164(raw, country) == expected


def test_the_default_country_decides_how_a_national_number_reads() -> None:
    assert to_e164("06 12 34 56 78", "FR") == "+33612345678"
    with pytest.raises(ValidationFailed):
        to_e164("06 12 34 56 78", "ES")  # ten digits are no Spanish number


@pytest.mark.parametrize(
    ("raw", "country"),
    [
        ("", "ES"),
        ("   ", "ES"),
        ("abc", "ES"),
        ("123", "ES"),
        ("+34 123", "ES"),
        ("+", "ES"),
        ("00", "ES"),
        ("6001112220000000", "ES"),
        ("600111222", "XX"),  # no such region to read a national number with
        ("600111222", ""),
        ("6" * 65, "ES"),
        ("+34600111222" + " " * 60 + "0", "ES"),  # over the raw length bound
    ],
)
def test_invalid_numbers(raw: str, country: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        to_e164(raw, country)
    assert [(e.field, e.code) for e in caught.value.errors] == [("phone", "phone.invalid")]
    assert caught.value.code == "phone.invalid"


@st.composite
def written_numbers(draw: st.DrawFn) -> tuple[str, str, str]:
    """(how a person might write a real number, its region, its E.164 form)."""
    region = draw(st.sampled_from(_REGIONS))
    number = phonenumbers.example_number_for_type(region, draw(st.sampled_from(_TYPES)))
    if number is None:
        number = phonenumbers.parse("+34600111222")
        region = "ES"
    style = draw(
        st.sampled_from(
            [
                phonenumbers.PhoneNumberFormat.NATIONAL,
                phonenumbers.PhoneNumberFormat.INTERNATIONAL,
                phonenumbers.PhoneNumberFormat.E164,
            ]
        )
    )
    text = phonenumbers.format_number(number, style)
    if style == phonenumbers.PhoneNumberFormat.INTERNATIONAL and draw(st.booleans()):
        text = "00" + text.removeprefix("+")
    separator = draw(st.sampled_from([" ", ".", "-", ""]))
    text = text.replace(" ", separator)
    padding = draw(st.sampled_from(["", " ", "\t", "  "]))
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return padding + text + padding, region, expected


@given(written_numbers(), st.sampled_from(_REGIONS))
def test_output_is_e164_and_idempotent(written: tuple[str, str, str], other_region: str) -> None:
    raw, region, expected = written
    result = to_e164(raw, region)
    assert result == expected
    assert result.startswith("+")
    assert result[1:].isdigit()
    assert to_e164(result, region) == result
    assert to_e164(result, other_region) == result  # the + prefix makes the country irrelevant


_PHONEISH = st.text(alphabet="0123456789 +-.()/xX#*", max_size=30)
_COUNTRIES = st.one_of(st.sampled_from(_REGIONS), st.text(max_size=4))


@given(st.one_of(st.text(), _PHONEISH), _COUNTRIES)
def test_never_raises_anything_but_validation_failed(raw: str, country: str) -> None:
    try:
        result: str | None = to_e164(raw, country)
    except ValidationFailed as failure:
        result, errors = None, failure.errors
    if result is None:
        assert [(e.field, e.code) for e in errors] == [("phone", "phone.invalid")]
    else:
        assert result.startswith("+")
        assert result[1:].isdigit()
        assert to_e164(result, country) == result


@pytest.mark.parametrize("code", ["ES", "es", "Gb", "us"])
def test_known_regions_ignore_case(code: str) -> None:
    assert is_known_region(code)


@pytest.mark.parametrize("code", ["XX", "UK", "001", "", "E"])
def test_unknown_regions(code: str) -> None:
    assert not is_known_region(code)
