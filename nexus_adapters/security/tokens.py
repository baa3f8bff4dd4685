"""Session tokens: 256 random bits for the client, their SHA-256 for the database."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32


class SessionTokens:
    def new_token(self) -> str:
        return secrets.token_urlsafe(TOKEN_BYTES)

    def hash_token(self, token: str) -> str:
        # A plain digest suffices: the token has 256 bits of entropy, so it cannot be guessed
        # from its hash, and lookups by hash stay one indexed query.
        return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()
