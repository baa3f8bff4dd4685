"""Encryption of stored secrets with Fernet; several keys allow rotation."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_HKDF_INFO = b"nexus-communicator stored secrets v1"


class SecretUnreadable(Exception):
    """A stored secret cannot be decrypted with any configured key."""


def derive_fernet_key(secret_key: str) -> str:
    """A Fernet key derived from ``SECRET_KEY`` with HKDF-SHA256."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret_key.encode("utf-8")
    )
    return base64.urlsafe_b64encode(raw).decode("ascii")


class FernetSecretBox:
    """Encrypts with the first key; decrypts with any (newest first), so keys can rotate."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])

    @classmethod
    def from_settings(cls, encryption_keys: tuple[str, ...], secret_key: str) -> FernetSecretBox:
        """The configured keys (newest first), then the key derived from ``SECRET_KEY``.

        The derived key stays last as a decryption fallback, so switching from the default to
        explicit keys needs no downtime: set ``NEXUS_ENCRYPTION_KEYS``, run
        ``nexus db rotate-keys``, done.
        """
        derived = derive_fernet_key(secret_key)
        return cls([*(key for key in encryption_keys if key != derived), derived])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SecretUnreadable(
                "a stored secret cannot be decrypted with the configured keys"
            ) from None

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt under the newest key."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise SecretUnreadable(
                "a stored secret cannot be decrypted with the configured keys"
            ) from None
