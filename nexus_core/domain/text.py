"""Rules for free-text fields: trimmed, bounded, never silently cut."""

from __future__ import annotations

from nexus_core.errors import ValidationFailed

NAME_MAX = 200
COMPANY_MAX = 200
KNOWLEDGE_BASE_MAX = 20_000


def required_text(value: str, *, max_length: int) -> str:
    """Trimmed text of 1 to ``max_length`` characters."""
    cleaned = value.strip()
    if not cleaned:
        raise ValidationFailed.single("", "field.required")
    if len(cleaned) > max_length:
        raise ValidationFailed.single("", "field.too_long", max=max_length)
    return cleaned


def optional_text(value: str | None, *, max_length: int) -> str | None:
    """Trimmed text of at most ``max_length`` characters; blank becomes ``None``."""
    if value is None:
        return None
    cleaned = value.strip()
    if not cleaned:
        return None
    if len(cleaned) > max_length:
        raise ValidationFailed.single("", "field.too_long", max=max_length)
    return cleaned
