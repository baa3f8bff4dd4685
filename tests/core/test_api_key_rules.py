"""Channel credentials: masks, how a profile write changes a key, and secrets kept out of sight."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from nexus_core.domain.api_keys import (
    MASK_PREFIX,
    REVEAL_TAIL_FROM_LENGTH,
    Secret,
    apply_key_write,
    looks_masked,
    mask,
)
from nexus_core.domain.users import Credentials, Preferences, User

# Real keys are printable ASCII; the bullet the mask is made of is left out on purpose (a key
# made of bullets plus four characters would "appear" inside its own mask).
_KEY_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0x7E)
_KEYS = st.text(alphabet=_KEY_CHARS, min_size=1, max_size=200)


def test_mask_shows_only_the_last_four_characters() -> None:
    masked = mask("sk-live-1234567890abcd")
    assert masked.endswith("abcd")
    assert "1234567890" not in masked
    assert looks_masked(masked)


@given(_KEYS.filter(lambda key: len(key) >= REVEAL_TAIL_FROM_LENGTH))
def test_mask_ends_with_the_last_four_and_hides_the_rest(secret: str) -> None:
    masked = mask(secret)
    assert masked == MASK_PREFIX + secret[-4:]
    assert looks_masked(masked)
    assert Secret(secret).masked == masked
    assert secret not in masked


@given(st.text(alphabet=_KEY_CHARS, min_size=1, max_size=REVEAL_TAIL_FROM_LENGTH - 1))
def test_short_secrets_are_masked_whole(secret: str) -> None:
    assert mask(secret) == MASK_PREFIX


@given(st.text(min_size=1))
def test_any_mask_looks_masked(secret: str) -> None:
    assert looks_masked(mask(secret))


@given(st.text(min_size=12))
def test_repr_and_str_never_show_the_value(value: str) -> None:
    secret = Secret(value)
    for shown in (repr(secret), str(secret), f"{secret}", repr([secret]), repr({"k": secret})):
        assert value not in shown


def test_a_user_repr_never_shows_its_keys() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    key = "AIzaSy-very-secret-gemini-key"
    user = User(
        id=1,
        email="ana@example.com",
        password_hash="h",
        name="Ana",
        phone=None,
        company=None,
        preferences=Preferences(),
        credentials=Credentials(gemini_api_key=Secret(key), whatsapp_api_key=Secret(key + "2")),
        created_at=now,
        updated_at=now,
        last_login=None,
    )
    assert key not in repr(user)
    assert key not in str(user.credentials)


_CURRENT = st.one_of(st.none(), _KEYS.map(Secret))


@given(_CURRENT)
def test_writing_the_mask_back_keeps_the_key(current: Secret | None) -> None:
    written = current.masked if current is not None else MASK_PREFIX + "abcd"
    assert apply_key_write(current, written) is current
    assert apply_key_write(current, f"  {written} ") is current


@given(_CURRENT, st.text(alphabet=_KEY_CHARS, max_size=8))
def test_any_masked_value_keeps_the_key(current: Secret | None, tail: str) -> None:
    assert apply_key_write(current, MASK_PREFIX + tail) is current


@pytest.mark.parametrize("written", [None, "", "   ", "\t\n"])
def test_empty_or_null_clears_the_key(written: str | None) -> None:
    assert apply_key_write(Secret("old-key-1234"), written) is None
    assert apply_key_write(None, written) is None


@given(_CURRENT, st.text(min_size=1))
def test_other_text_replaces_the_key(current: Secret | None, written: str) -> None:
    cleaned = written.strip()
    assume(cleaned and not looks_masked(cleaned))
    result = apply_key_write(current, written)
    assert result is not None
    assert result.value == cleaned


def test_a_partial_mask_is_a_new_key() -> None:
    # Fewer bullets than the mask has is not the mask: it is taken as the new key.
    written = "••••abcd"
    result = apply_key_write(Secret("old"), written)
    assert result is not None
    assert result.value == written
