"""Password rules: 8 to 72 bytes of UTF-8, never truncated (bcrypt's limit is 72 bytes)."""

from __future__ import annotations

from nexus_core.errors import ValidationFailed

PASSWORD_MIN_BYTES = 8
PASSWORD_MAX_BYTES = 72


def password_length_problem(password: str) -> str | None:
    """The rule code a password breaks by its length, or ``None`` when it is acceptable."""
    size = len(password.encode("utf-8"))
    if size < PASSWORD_MIN_BYTES:
        return "password.too_short"
    if size > PASSWORD_MAX_BYTES:
        return "password.too_long"
    return None


def check_new_password(password: str, field_name: str = "password") -> str:
    """Accept a password chosen by the user, or raise naming ``field_name``."""
    if (problem := password_length_problem(password)) is not None:
        raise ValidationFailed.single(
            field_name, problem, min=PASSWORD_MIN_BYTES, max=PASSWORD_MAX_BYTES
        )
    return password
