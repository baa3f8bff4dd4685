"""The user's preferences: language, theme, timezone, default country and sending rate."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from nexus_core.domain.phones import is_known_region
from nexus_core.errors import ValidationFailed

LANGUAGES = ("es", "en")
THEMES = ("light", "dark", "system")
SEND_RATE_MIN = 1
SEND_RATE_MAX = 600


@lru_cache(maxsize=1)
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


# Entries of the zone database that are not places: never a user's time zone.
_NOT_ZONES = frozenset({"localtime", "Factory", "posixrules", "posix", "right"})


def _text(value: object, field_name: str) -> str:
    if not isinstance(value, str):
        raise ValidationFailed.single(field_name, "field.wrong_type")
    return value


def check_language(value: str) -> str:
    if _text(value, "language") not in LANGUAGES:
        raise ValidationFailed.single("language", "language.invalid", allowed=LANGUAGES)
    return value


def check_theme(value: str) -> str:
    if _text(value, "theme") not in THEMES:
        raise ValidationFailed.single("theme", "theme.invalid", allowed=THEMES)
    return value


def check_timezone(value: str) -> str:
    """An IANA zone name such as ``Europe/Madrid``."""
    if _text(value, "timezone") in _NOT_ZONES or value not in _timezones():
        raise ValidationFailed.single("timezone", "timezone.invalid")
    return value


def check_country(value: str) -> str:
    """An ISO 3166 alpha-2 code, upper-cased (``es`` → ``ES``)."""
    code = _text(value, "default_country").strip().upper()
    if len(code) != 2 or not is_known_region(code):
        raise ValidationFailed.single("default_country", "country.invalid")
    return code


def check_send_rate(value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailed.single("send_rate_per_minute", "field.wrong_type")
    if not SEND_RATE_MIN <= value <= SEND_RATE_MAX:
        raise ValidationFailed.single(
            "send_rate_per_minute", "send_rate.out_of_range", min=SEND_RATE_MIN, max=SEND_RATE_MAX
        )
    return value
