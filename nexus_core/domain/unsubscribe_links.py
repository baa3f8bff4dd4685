"""Signed one-click unsubscribe tokens: which contact the link in a campaign email opts out.

A token names one contact of one user (ids are never reused, on SQLite either) and is signed
with HMAC-SHA256 under a key derived from the server's secret key with a label of its own
(``HMAC(secret_key, "nexus unsubscribe v1")``), so that nothing else signed or derived from
that secret can pass for a token. It is ``base64url(version ‖ user_id ‖ contact_id ‖ tag)``
without padding: one version byte, both ids as 4-byte big-endian integers, and the first 16
bytes (128 bits) of the tag: 34 URL-safe characters.

Tokens never expire: a link in an email opened years later must still opt the contact out,
and the most a leaked link can do is opt that one contact out. Changing the secret key
invalidates every link already sent.

Reading is all or nothing: anything but a token issued under this key (another length or
alphabet, a non-canonical encoding, another version, a wrong tag) reads as ``None``; the tag
is compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from dataclasses import dataclass

from nexus_core.domain.identifiers import could_exist

# Domain separation: the signing key is this label's HMAC under the server's secret key.
KEY_LABEL = b"nexus unsubscribe v1"
VERSION = 1
TAG_BYTES = 16
_IDS = struct.Struct(">BII")  # version, user_id, contact_id
TOKEN_BYTES = _IDS.size + TAG_BYTES
TOKEN_LENGTH = (TOKEN_BYTES * 8 + 5) // 6  # base64url characters, without padding
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True, slots=True)
class UnsubscribeTarget:
    """The contact an unsubscribe token names."""

    user_id: int
    contact_id: int


def signing_key(secret_key: str) -> bytes:
    """The key unsubscribe tokens are signed with, derived from the server's secret key."""
    if not secret_key:
        raise ValueError("unsubscribe tokens need a secret key")
    return hmac.digest(secret_key.encode("utf-8", "surrogateescape"), KEY_LABEL, "sha256")


class UnsubscribeTokens:
    """Issues and reads unsubscribe tokens under one server secret key (never shown by
    ``repr``)."""

    __slots__ = ("_key",)

    def __init__(self, secret_key: str) -> None:
        self._key = signing_key(secret_key)

    def __repr__(self) -> str:
        return "UnsubscribeTokens(***)"

    def _tag(self, payload: bytes) -> bytes:
        return hmac.digest(self._key, payload, hashlib.sha256)[:TAG_BYTES]

    def issue(self, user_id: int, contact_id: int) -> str:
        """The token of ``contact_id``, one of ``user_id``'s contacts."""
        if not (could_exist(user_id) and could_exist(contact_id)):
            raise ValueError("ids of stored rows only")
        payload = _IDS.pack(VERSION, user_id, contact_id)
        return base64.urlsafe_b64encode(payload + self._tag(payload)).rstrip(b"=").decode()

    def read(self, token: str) -> UnsubscribeTarget | None:
        """The contact ``token`` names, or ``None`` unless this key issued it."""
        if len(token) != TOKEN_LENGTH or not _ALPHABET.fullmatch(token):
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            return None
        # Unused low bits of the last character must be zero: one token, one spelling.
        if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != token:
            return None
        payload, tag = raw[: _IDS.size], raw[_IDS.size :]
        if not hmac.compare_digest(self._tag(payload), tag):
            return None
        version, user_id, contact_id = _IDS.unpack(payload)
        if version != VERSION or not (could_exist(user_id) and could_exist(contact_id)):
            return None
        return UnsubscribeTarget(user_id, contact_id)
