"""Email addresses: trimmed, lower-cased, plausibly shaped, at most 254 characters."""

from __future__ import annotations

import re

from nexus_core.domain.text import check_text_type
from nexus_core.errors import ValidationFailed

EMAIL_MAX = 254
# Deliberately permissive: one @, no spaces, a dot in the domain. Deliverability is the mail
# server's business; this only catches typing mistakes.
_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def normalise_email(raw: str) -> str:
    """The canonical form of an address, used for storage and comparison."""
    try:
        email = check_text_type(raw).strip().lower()
    except ValidationFailed as failure:
        raise ValidationFailed.single("email", failure.errors[0].code) from None
    if not email:
        raise ValidationFailed.single("email", "field.required")
    if len(email) > EMAIL_MAX:
        raise ValidationFailed.single("email", "field.too_long", max=EMAIL_MAX)
    if not _SHAPE.match(email):
        raise ValidationFailed.single("email", "email.invalid")
    return email
