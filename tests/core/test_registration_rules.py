"""Sign-up validation: every field checked at once, values normalised."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.users import validate_registration
from nexus_core.errors import ValidationFailed

_GOOD = {
    "email": " Ana@Example.com ",
    "password": "contraseña-1",
    "name": "  Ana García ",
    "phone": "600 111 222",
    "company": " Nexus SL ",
}
# A bad value per field, with the code it must be reported under.
_BAD = {
    "email": ("ana@", "email.invalid"),
    "password": ("short", "password.too_short"),
    "name": ("   ", "field.required"),
    "phone": ("123", "phone.invalid"),
    "company": ("x" * 201, "field.too_long"),
}


def test_valid_registration_is_normalised() -> None:
    registration = validate_registration(**_GOOD)
    assert registration.email == "ana@example.com"
    assert registration.name == "Ana García"
    assert registration.phone == "+34600111222"
    assert registration.company == "Nexus SL"
    assert not hasattr(registration, "password")


@pytest.mark.parametrize("blank", [None, "", "   "])
def test_optional_fields_may_be_absent_or_blank(blank: str | None) -> None:
    registration = validate_registration(**{**_GOOD, "phone": blank, "company": blank})
    assert registration.phone is None
    assert registration.company is None


def test_every_bad_field_is_reported_at_once() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_registration(**{name: value for name, (value, _) in _BAD.items()})
    reported = {(e.field, e.code) for e in caught.value.errors}
    assert reported == {(name, code) for name, (_, code) in _BAD.items()}


@given(st.sets(st.sampled_from(sorted(_BAD))))
def test_exactly_the_bad_fields_are_reported(bad: set[str]) -> None:
    fields = {name: (_BAD[name][0] if name in bad else value) for name, value in _GOOD.items()}
    if not bad:
        assert validate_registration(**fields).email == "ana@example.com"
        return
    with pytest.raises(ValidationFailed) as caught:
        validate_registration(**fields)
    assert {e.field for e in caught.value.errors} == bad
    assert {(e.field, e.code) for e in caught.value.errors} == {(n, _BAD[n][1]) for n in bad}


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("name", "n" * 201, "field.too_long"),
        ("password", "p" * 73, "password.too_long"),
        ("email", "", "field.required"),
    ],
)
def test_more_bad_values(field: str, value: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_registration(**{**_GOOD, field: value})
    assert [(e.field, e.code) for e in caught.value.errors] == [(field, code)]


def test_name_at_the_limit_is_kept_whole() -> None:
    name = "n" * 200
    assert validate_registration(**{**_GOOD, "name": f" {name} "}).name == name
