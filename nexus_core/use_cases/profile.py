"""Reading and changing the user's profile, preferences and channel credentials."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nexus_core.domain.api_keys import Secret
from nexus_core.domain.users import User, apply_profile_changes
from nexus_core.errors import NotFound
from nexus_core.use_cases.context import Ports


def update_profile(ports: Ports, user_id: int, changes: Mapping[str, Any]) -> User:
    """Apply a partial write of flat profile fields; all-or-nothing."""
    with ports.uow(write=True) as uow:
        user = uow.users.get_for_update(user_id)
        if user is None:
            raise NotFound()
        updated = apply_profile_changes(user, changes, ports.clock())
        uow.users.save(updated)
        uow.commit()
    return updated


@dataclass(frozen=True, slots=True)
class KeyStatus:
    configured: bool
    masked: str | None


def _status(secret: Secret | None) -> KeyStatus:
    return KeyStatus(secret is not None, secret.masked if secret is not None else None)


def api_key_status(user: User) -> dict[str, KeyStatus]:
    """Which channel credentials are set, and their masks."""
    creds = user.credentials
    return {
        "whatsapp": _status(creds.whatsapp_api_key),
        "gmail": _status(creds.gmail_api_key),
        "gemini": _status(creds.gemini_api_key),
    }
