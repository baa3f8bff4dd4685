"""bcrypt passwords, Fernet secret box and session tokens (no database involved)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import threading

import pytest
from cryptography.fernet import Fernet

from nexus_adapters.security.passwords import BCRYPT_COST, BcryptHasher
from nexus_adapters.security.secret_box import (
    FernetSecretBox,
    SecretUnreadable,
    derive_fernet_key,
)
from nexus_adapters.security.tokens import SessionTokens
from nexus_core.domain.passwords import PASSWORD_MAX_BYTES
from nexus_core.ports import PasswordHasher, SecretBox, TokenGenerator

FAST = BcryptHasher(cost=4)


# --- passwords ---------------------------------------------------------------------------


def test_the_hasher_implements_the_port() -> None:
    hasher: PasswordHasher = FAST
    assert hasher.verify("correct horse", hasher.hash("correct horse"))


def test_default_cost_is_12() -> None:
    assert BCRYPT_COST == 12
    password_hash = BcryptHasher().hash("contraseña segura")
    assert password_hash.startswith("$2b$12$")
    assert len(password_hash) == 60


def test_the_given_cost_is_used() -> None:
    assert FAST.hash("contraseña segura").startswith("$2b$04$")


def test_verify_accepts_the_password_and_nothing_else() -> None:
    password_hash = FAST.hash("contraseña segura")
    assert FAST.verify("contraseña segura", password_hash)
    assert not FAST.verify("contraseña segurA", password_hash)
    assert not FAST.verify("contrasena segura", password_hash)
    assert not FAST.verify("", password_hash)


def test_hashes_are_salted() -> None:
    first, second = FAST.hash("same password"), FAST.hash("same password")
    assert first != second
    assert FAST.verify("same password", first)
    assert FAST.verify("same password", second)


@pytest.mark.parametrize(
    "malformed",
    [
        "",
        "not a hash",
        "$2b$04$",
        "$2b$04$tooshort",
        "$2b$99$" + "a" * 53,
        "ñ" * 60,
        "fake$00000000$" + "0" * 64,
    ],
)
def test_a_malformed_hash_is_simply_false(malformed: str) -> None:
    assert FAST.verify("contraseña segura", malformed) is False


def test_72_bytes_are_accepted() -> None:
    password = "ñ" * 36  # 72 bytes of UTF-8
    assert len(password.encode()) == PASSWORD_MAX_BYTES
    assert FAST.verify(password, FAST.hash(password))


def test_passwords_over_72_bytes_are_refused_never_truncated() -> None:
    prefix = "a" * PASSWORD_MAX_BYTES
    too_long = prefix + "b"
    with pytest.raises(ValueError, match="longer"):
        FAST.hash(too_long)
    # bcrypt itself would compare only the first 72 bytes; the hasher must not.
    assert FAST.verify(too_long, FAST.hash(prefix)) is False


def test_multibyte_length_is_counted_in_bytes() -> None:
    password = "€" * 25  # 25 characters, 75 bytes
    with pytest.raises(ValueError, match="longer"):
        FAST.hash(password)
    assert FAST.verify(password, FAST.hash(password.encode()[:72].decode())) is False


def test_decoy_hash_is_a_valid_hash_of_the_same_cost_made_once() -> None:
    hasher = BcryptHasher(cost=4)
    decoy = hasher.decoy_hash
    assert decoy.startswith("$2b$04$")
    assert decoy is hasher.decoy_hash
    assert hasher.verify("contraseña segura", decoy) is False


def test_hashing_from_several_threads_works() -> None:
    results: list[bool] = []

    def run() -> None:
        results.append(FAST.verify("pw-threads", FAST.hash("pw-threads")))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [True] * 4


# --- secret box --------------------------------------------------------------------------


def new_key() -> str:
    return Fernet.generate_key().decode()


def test_the_secret_box_implements_the_port_and_round_trips() -> None:
    box: SecretBox = FernetSecretBox([new_key()])
    for plaintext in ("EAAG-token", "", "clé secrète ñ 🔑", "x" * 4096):
        ciphertext = box.encrypt(plaintext)
        assert isinstance(ciphertext, str)
        assert ciphertext.isascii()
        if plaintext:
            assert plaintext not in ciphertext
        assert box.decrypt(ciphertext) == plaintext


def test_encryption_is_randomised() -> None:
    box = FernetSecretBox([new_key()])
    assert box.encrypt("same") != box.encrypt("same")


def test_a_box_needs_a_key() -> None:
    with pytest.raises(ValueError, match="key"):
        FernetSecretBox([])


def test_rotation_re_encrypts_under_the_newest_key() -> None:
    old, new = new_key(), new_key()
    under_old = FernetSecretBox([old]).encrypt("whatsapp-secret")

    both = FernetSecretBox([new, old])
    assert both.decrypt(under_old) == "whatsapp-secret"
    rotated = both.rotate(under_old)
    assert rotated != under_old
    assert both.decrypt(rotated) == "whatsapp-secret"

    only_new = FernetSecretBox([new])
    assert only_new.decrypt(rotated) == "whatsapp-secret"
    with pytest.raises(SecretUnreadable):
        only_new.decrypt(under_old)
    # New secrets are written under the first (newest) key.
    assert only_new.decrypt(both.encrypt("fresh")) == "fresh"


def test_a_wrong_key_raises_secret_unreadable_without_revealing_anything() -> None:
    right, wrong = new_key(), new_key()
    ciphertext = FernetSecretBox([right]).encrypt("gemini-super-secret")
    with pytest.raises(SecretUnreadable) as raised:
        FernetSecretBox([wrong]).decrypt(ciphertext)
    message = str(raised.value)
    for leak in ("gemini-super-secret", ciphertext, right, wrong):
        assert leak not in message
    # The cryptography exception (and its context) is not chained onto ours.
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


@pytest.mark.parametrize("garbage", ["", "not-a-token", "gAAAAAB" + "A" * 80, "gAAAAAB-ñ"])
def test_garbage_ciphertext_is_unreadable(garbage: str) -> None:
    with pytest.raises(SecretUnreadable):
        FernetSecretBox([new_key()]).decrypt(garbage)


def test_rotating_an_unreadable_secret_raises_secret_unreadable() -> None:
    ciphertext = FernetSecretBox([new_key()]).encrypt("secret")
    with pytest.raises(SecretUnreadable) as raised:
        FernetSecretBox([new_key()]).rotate(ciphertext)
    assert ciphertext not in str(raised.value)
    with pytest.raises(SecretUnreadable):
        FernetSecretBox([new_key()]).rotate("gAAAAAB-ñ")


def _hkdf_sha256(key_material: bytes, info: bytes, length: int = 32) -> bytes:
    """RFC 5869 with no salt, written out to check the derivation independently."""
    prk = hmac.new(b"\0" * 32, key_material, hashlib.sha256).digest()
    output, block, counter = b"", b"", 1
    while len(output) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        output += block
        counter += 1
    return output[:length]


SECRET_KEY = "0123456789abcdef0123456789abcdef"


def test_the_derived_key_is_hkdf_sha256_of_the_secret_key() -> None:
    expected = base64.urlsafe_b64encode(
        _hkdf_sha256(SECRET_KEY.encode(), b"nexus-communicator stored secrets v1")
    ).decode()
    assert derive_fernet_key(SECRET_KEY) == expected


def test_the_derived_key_is_stable() -> None:
    # Pinned: changing the derivation would make every stored secret unreadable.
    assert derive_fernet_key(SECRET_KEY) == "EkkMmY4JlNyMUPDef7DQ7rJchB-vQE0afW-kapofBQY="
    assert derive_fernet_key(SECRET_KEY) == derive_fernet_key(SECRET_KEY)
    assert derive_fernet_key(SECRET_KEY) != derive_fernet_key(SECRET_KEY + "x")
    Fernet(derive_fernet_key(SECRET_KEY))  # a valid Fernet key


def test_from_settings_derives_from_the_secret_key_unless_keys_are_given() -> None:
    derived = FernetSecretBox.from_settings((), SECRET_KEY)
    ciphertext = derived.encrypt("secret")
    # Another process with the same SECRET_KEY reads it.
    assert FernetSecretBox.from_settings((), SECRET_KEY).decrypt(ciphertext) == "secret"
    assert FernetSecretBox([derive_fernet_key(SECRET_KEY)]).decrypt(ciphertext) == "secret"
    with pytest.raises(SecretUnreadable):
        FernetSecretBox.from_settings((), SECRET_KEY[::-1]).decrypt(ciphertext)

    configured = new_key()
    explicit = FernetSecretBox.from_settings((configured,), SECRET_KEY)
    assert FernetSecretBox([configured]).decrypt(explicit.encrypt("s")) == "s"
    with pytest.raises(SecretUnreadable):
        derived.decrypt(explicit.encrypt("s"))


# --- session tokens ----------------------------------------------------------------------


def test_tokens_implement_the_port() -> None:
    tokens: TokenGenerator = SessionTokens()
    assert tokens.hash_token(tokens.new_token())


def test_tokens_are_256_bit_urlsafe_and_distinct() -> None:
    tokens = SessionTokens()
    issued = [tokens.new_token() for _ in range(2000)]
    assert len(set(issued)) == len(issued)
    for token in issued[:50]:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
        assert len(base64.urlsafe_b64decode(token + "=")) == 32


def test_token_hash_is_a_stable_sha256_hex_digest() -> None:
    tokens = SessionTokens()
    token = tokens.new_token()
    digest = tokens.hash_token(token)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == tokens.hash_token(token) == SessionTokens().hash_token(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert digest != tokens.hash_token(tokens.new_token())
    assert token not in digest


def test_hashing_a_cookie_with_odd_characters_does_not_crash() -> None:
    # Cookies come from clients: whatever they send is hashed, it just matches nothing.
    assert re.fullmatch(r"[0-9a-f]{64}", SessionTokens().hash_token("ñ\udcff\x00"))
