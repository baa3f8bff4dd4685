"""Password rules: 8 to 72 bytes of UTF-8, counted in bytes, never truncated."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.passwords import check_new_password, password_length_problem
from nexus_core.errors import ValidationFailed


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("a" * 7, "password.too_short"),
        ("a" * 8, None),
        ("a" * 72, None),
        ("a" * 73, "password.too_long"),
        ("", "password.too_short"),
        # Multi-byte characters count by their UTF-8 bytes, not as one character each.
        ("ñ" * 4, None),  # 4 characters, 8 bytes
        ("ñ" * 3 + "a", "password.too_short"),  # 4 characters, 7 bytes
        ("€" * 24, None),  # 24 characters, 72 bytes
        ("€" * 24 + "a", "password.too_long"),  # 25 characters, 73 bytes
        ("😀" * 18, None),  # 18 characters, 72 bytes
        ("😀" * 19, "password.too_long"),  # 19 characters, 76 bytes
        ("😀" * 2, None),  # 2 characters, 8 bytes
    ],
)
def test_length_is_counted_in_utf8_bytes(password: str, problem: str | None) -> None:
    assert password_length_problem(password) == problem


def test_accepted_password_is_returned_whole() -> None:
    password = "contraseña-segura-" + "€" * 10
    assert check_new_password(password) == password


@pytest.mark.parametrize(
    ("password", "code"), [("short", "password.too_short"), ("x" * 80, "password.too_long")]
)
def test_rejection_names_the_given_field(password: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_new_password(password, "new_password")
    (error,) = caught.value.errors
    assert (error.field, error.code) == ("new_password", code)
    assert (error.params["min"], error.params["max"]) == (8, 72)


def test_default_field_is_password() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_new_password("1234567")
    assert caught.value.errors[0].field == "password"


@given(st.text(max_size=100))
def test_accepted_iff_8_to_72_bytes_and_never_truncated(password: str) -> None:
    size = len(password.encode("utf-8"))
    problem = password_length_problem(password)
    if 8 <= size <= 72:
        assert problem is None
        assert check_new_password(password) == password
    else:
        assert problem == ("password.too_short" if size < 8 else "password.too_long")
        with pytest.raises(ValidationFailed) as caught:
            check_new_password(password)
        assert caught.value.errors[0].code == problem


# Lone surrogates are excluded: they cannot be encoded, and the JSON decoder refuses them.
_WIDE = st.characters(min_codepoint=0x800, exclude_categories=["Cs"])


@given(st.text(alphabet=_WIDE, min_size=19, max_size=40))
def test_few_characters_can_still_be_too_many_bytes(password: str) -> None:
    # Every character here takes 3 or 4 bytes, so 19+ characters are at least 57 bytes and
    # 25+ are over 72: what is counted is bytes, whatever the character count.
    size = len(password.encode("utf-8"))
    assert (password_length_problem(password) == "password.too_long") == (size > 72)
