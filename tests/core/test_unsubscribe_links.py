"""Unsubscribe tokens: they name the contact they were issued for, under the key that issued
them, and nothing else reads as a token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nexus_core.domain.identifiers import ID_MAX
from nexus_core.domain.unsubscribe_links import (
    KEY_LABEL,
    TOKEN_LENGTH,
    UnsubscribeTarget,
    UnsubscribeTokens,
    signing_key,
)

SECRET = "s" * 64
TOKENS = UnsubscribeTokens(SECRET)
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

ids = st.integers(min_value=1, max_value=ID_MAX)
secrets_ = st.text(min_size=1, max_size=80)


def forge(key: bytes, payload: bytes) -> str:
    """A token made by hand: ``payload`` and its tag under ``key``."""
    tag = hmac.digest(key, payload, hashlib.sha256)[:16]
    return base64.urlsafe_b64encode(payload + tag).rstrip(b"=").decode()


@given(ids, ids)
def test_a_token_reads_back_as_the_ids_it_was_issued_for(user_id: int, contact_id: int) -> None:
    token = TOKENS.issue(user_id, contact_id)
    assert TOKENS.read(token) == UnsubscribeTarget(user_id, contact_id)


@given(ids, ids)
def test_a_token_is_compact_and_url_safe(user_id: int, contact_id: int) -> None:
    token = TOKENS.issue(user_id, contact_id)
    assert len(token) == TOKEN_LENGTH == 34
    assert set(token) <= set(ALPHABET)


def test_issuing_is_deterministic_and_differs_per_contact() -> None:
    assert TOKENS.issue(1, 2) == UnsubscribeTokens(SECRET).issue(1, 2)
    assert len({TOKENS.issue(1, 2), TOKENS.issue(2, 1), TOKENS.issue(1, 3)}) == 3


@given(ids, ids, st.data())
def test_any_changed_character_is_rejected(
    user_id: int, contact_id: int, data: st.DataObject
) -> None:
    token = TOKENS.issue(user_id, contact_id)
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.sampled_from(ALPHABET).filter(lambda c: c != token[position]))
    mutated = token[:position] + replacement + token[position + 1 :]
    assert TOKENS.read(mutated) is None


@given(ids, ids, st.data())
def test_any_flipped_bit_of_the_decoded_token_is_rejected(
    user_id: int, contact_id: int, data: st.DataObject
) -> None:
    raw = bytearray(base64.urlsafe_b64decode(TOKENS.issue(user_id, contact_id) + "=="))
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    assert TOKENS.read(base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()) is None


@given(ids, ids, st.data())
def test_truncated_or_extended_tokens_are_rejected(
    user_id: int, contact_id: int, data: st.DataObject
) -> None:
    token = TOKENS.issue(user_id, contact_id)
    cut = data.draw(st.integers(0, len(token) - 1))
    assert TOKENS.read(token[:cut]) is None
    extra = data.draw(st.text(min_size=1, max_size=8))
    assert TOKENS.read(token + extra) is None
    assert TOKENS.read(token + "==") is None


@given(st.text(max_size=60))
def test_arbitrary_text_never_reads_as_a_token(text: str) -> None:
    assert TOKENS.read(text) is None


@given(secrets_, secrets_, ids, ids)
def test_a_token_of_one_key_does_not_verify_under_another(
    one: str, other: str, user_id: int, contact_id: int
) -> None:
    if one == other:
        return
    token = UnsubscribeTokens(one).issue(user_id, contact_id)
    assert UnsubscribeTokens(one).read(token) == UnsubscribeTarget(user_id, contact_id)
    assert UnsubscribeTokens(other).read(token) is None


def test_the_last_character_has_one_spelling_only() -> None:
    # 25 bytes fill 34 characters with 4 bits to spare: a different spare bit is another
    # spelling of the same bytes, which is refused (one token, one string).
    token = TOKENS.issue(7, 9)
    last = ALPHABET.index(token[-1])
    respelled = token[:-1] + ALPHABET[last | 1]
    assert respelled != token
    assert base64.urlsafe_b64decode(respelled + "==") == base64.urlsafe_b64decode(token + "==")
    assert TOKENS.read(respelled) is None


def test_the_signing_key_is_derived_with_its_own_label() -> None:
    """Signing with the secret key itself (or under another label) makes no valid token."""
    key = signing_key(SECRET)
    assert key == hmac.digest(SECRET.encode(), KEY_LABEL, "sha256")
    assert key != SECRET.encode()
    payload = struct.pack(">BII", 1, 7, 9)
    assert TOKENS.read(forge(key, payload)) == UnsubscribeTarget(7, 9)
    assert TOKENS.read(forge(SECRET.encode(), payload)) is None
    other_label = hmac.digest(SECRET.encode(), b"nexus something else v1", "sha256")
    assert TOKENS.read(forge(other_label, payload)) is None


@pytest.mark.parametrize(
    "payload",
    [
        struct.pack(">BII", 2, 7, 9),  # another version
        struct.pack(">BII", 1, 0, 9),  # ids no row can have
        struct.pack(">BII", 1, 7, 0),
        struct.pack(">BII", 1, ID_MAX + 1, 9),
    ],
)
def test_a_correctly_signed_token_of_another_shape_is_rejected(payload: bytes) -> None:
    assert TOKENS.read(forge(signing_key(SECRET), payload)) is None


@pytest.mark.parametrize(("user_id", "contact_id"), [(0, 1), (1, 0), (ID_MAX + 1, 1), (-1, 1)])
def test_only_ids_of_stored_rows_get_a_token(user_id: int, contact_id: int) -> None:
    with pytest.raises(ValueError, match="ids"):
        TOKENS.issue(user_id, contact_id)


def test_a_secret_key_is_required_and_never_shown() -> None:
    with pytest.raises(ValueError, match="secret key"):
        UnsubscribeTokens("")
    assert SECRET not in repr(TOKENS)
    assert "s" * 8 not in repr(TOKENS)
