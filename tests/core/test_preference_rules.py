"""Preferences: language, theme, IANA timezone, ISO country and sending rate."""

from __future__ import annotations

import zoneinfo

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain import preferences
from nexus_core.errors import ValidationFailed


def _only_error(excinfo: pytest.ExceptionInfo[ValidationFailed]) -> tuple[str, str]:
    (error,) = excinfo.value.errors
    return error.field, error.code


@pytest.mark.parametrize("value", ["es", "en"])
def test_languages(value: str) -> None:
    assert preferences.check_language(value) == value


@pytest.mark.parametrize("value", ["ES", "fr", "", " es", "english", "es-ES"])
def test_other_languages_are_refused(value: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        preferences.check_language(value)
    assert _only_error(caught) == ("language", "language.invalid")


@pytest.mark.parametrize("value", ["light", "dark", "system"])
def test_themes(value: str) -> None:
    assert preferences.check_theme(value) == value


@pytest.mark.parametrize("value", ["Light", "", "blue", "auto"])
def test_other_themes_are_refused(value: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        preferences.check_theme(value)
    assert _only_error(caught) == ("theme", "theme.invalid")


@pytest.mark.parametrize(
    "value", ["Europe/Madrid", "UTC", "America/New_York", "Atlantic/Canary", "Asia/Kolkata"]
)
def test_iana_timezones(value: str) -> None:
    assert preferences.check_timezone(value) == value


@pytest.mark.parametrize(
    "value", ["", "Europe/Atlantis", "europe/madrid", "+01:00", "CET+1", "../etc/passwd", " UTC"]
)
def test_other_timezones_are_refused(value: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        preferences.check_timezone(value)
    assert _only_error(caught) == ("timezone", "timezone.invalid")


_NOT_PLACES = {"localtime", "Factory", "posixrules"}


@given(st.sampled_from(sorted(zoneinfo.available_timezones() - _NOT_PLACES)))
def test_every_known_zone_is_accepted(value: str) -> None:
    assert preferences.check_timezone(value) == value


@pytest.mark.parametrize(
    ("value", "expected"), [("ES", "ES"), ("es", "ES"), (" fr ", "FR"), ("Gb", "GB")]
)
def test_countries_are_upper_cased(value: str, expected: str) -> None:
    assert preferences.check_country(value) == expected


@pytest.mark.parametrize("value", ["", "XX", "UK", "ESP", "E", "001", "e s"])
def test_other_countries_are_refused(value: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        preferences.check_country(value)
    assert _only_error(caught) == ("default_country", "country.invalid")


@given(st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)), st.lists(st.booleans()))
def test_every_region_in_any_case(region: str, lower: list[bool]) -> None:
    mixed = "".join(c.lower() if i < len(lower) and lower[i] else c for i, c in enumerate(region))
    assert preferences.check_country(mixed) == region


@given(st.text(max_size=5))
def test_country_never_raises_anything_else(value: str) -> None:
    try:
        result: str | None = preferences.check_country(value)
    except ValidationFailed as failure:
        result, errors = None, failure.errors
    if result is None:
        assert [(e.field, e.code) for e in errors] == [("default_country", "country.invalid")]
    else:
        assert len(result) == 2
        assert result == result.upper()
        assert result in phonenumbers.SUPPORTED_REGIONS


@given(st.integers())
def test_send_rate_accepted_iff_1_to_600(value: int) -> None:
    if 1 <= value <= 600:
        assert preferences.check_send_rate(value) == value
    else:
        with pytest.raises(ValidationFailed) as caught:
            preferences.check_send_rate(value)
        assert _only_error(caught) == ("send_rate_per_minute", "send_rate.out_of_range")
        assert (caught.value.errors[0].params["min"], caught.value.errors[0].params["max"]) == (
            1,
            600,
        )


@pytest.mark.parametrize(("value", "ok"), [(0, False), (1, True), (600, True), (601, False)])
def test_send_rate_bounds(value: int, ok: bool) -> None:
    if ok:
        assert preferences.check_send_rate(value) == value
    else:
        with pytest.raises(ValidationFailed):
            preferences.check_send_rate(value)


@pytest.mark.parametrize("value", ["localtime", "Factory", "posixrules"])
def test_zone_database_entries_that_are_not_places_are_refused(value: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        preferences.check_timezone(value)
    assert _only_error(caught) == ("timezone", "timezone.invalid")


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (preferences.check_language, 1),
        (preferences.check_theme, None),
        (preferences.check_timezone, ["Europe/Madrid"]),
        (preferences.check_country, 34),
        (preferences.check_send_rate, True),
        (preferences.check_send_rate, "60"),
    ],
)
def test_values_of_the_wrong_type_are_field_errors(check: object, value: object) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check(value)  # type: ignore[operator]
    assert caught.value.errors[0].code == "field.wrong_type"
