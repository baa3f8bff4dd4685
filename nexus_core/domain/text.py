"""Rules for free-text fields: trimmed, bounded, never silently cut."""

from __future__ import annotations

import re

from nexus_core.errors import ValidationFailed

NAME_MAX = 200
COMPANY_MAX = 200
KNOWLEDGE_BASE_MAX = 20_000


# Control characters (NUL above all, which PostgreSQL refuses in text) have no place in a
# name or a note; tabs and line breaks do.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def check_text_type(value: object) -> str:
    """``value`` as a string free of control characters, else a field error."""
    if not isinstance(value, str):
        raise ValidationFailed.single("", "field.wrong_type")
    if _CONTROL.search(value):
        raise ValidationFailed.single("", "field.invalid_characters")
    return value


def required_text(value: str, *, max_length: int) -> str:
    """Trimmed text of 1 to ``max_length`` characters."""
    cleaned = check_text_type(value).strip()
    if not cleaned:
        raise ValidationFailed.single("", "field.required")
    if len(cleaned) > max_length:
        raise ValidationFailed.single("", "field.too_long", max=max_length)
    return cleaned


def optional_text(value: str | None, *, max_length: int) -> str | None:
    """Trimmed text of at most ``max_length`` characters; blank becomes ``None``."""
    if value is None:
        return None
    cleaned = check_text_type(value).strip()
    if not cleaned:
        return None
    if len(cleaned) > max_length:
        raise ValidationFailed.single("", "field.too_long", max=max_length)
    return cleaned
