"""Phone numbers in E.164, read with a default country when written without a prefix."""

from __future__ import annotations

import phonenumbers

from nexus_core.domain.phone_fast_path import fast_e164
from nexus_core.errors import ValidationFailed

# Longest input worth parsing; anything longer is certainly not a phone number.
_RAW_MAX = 64


def to_e164(raw: str, default_country: str) -> str:
    """``"600 111 222"`` with ``"ES"`` → ``"+34600111222"``; ``00`` prefixes, spaces, dots,
    dashes and parentheses are accepted. Raises ``ValidationFailed`` (``phone.invalid``)."""
    text = _text_to_parse(raw)
    region = default_country.upper()
    # Common shapes are answered exactly without phonenumbers' full (slow) parse.
    fast = fast_e164(text, region)
    if fast is not None:
        return fast
    return _parse_e164_slowly(text, region)


def _text_to_parse(raw: str) -> str:
    text = raw.strip()
    if not text or len(text) > _RAW_MAX:
        raise ValidationFailed.single("phone", "phone.invalid")
    if text.startswith("00"):
        text = "+" + text[2:]
    return text


def _parse_e164_slowly(text: str, region: str) -> str:
    """The reference reading of ``text``: phonenumbers' parse, validity check and format."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValidationFailed.single("phone", "phone.invalid") from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed.single("phone", "phone.invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_known_region(code: str) -> bool:
    """Whether ``code`` is an ISO 3166 alpha-2 region whose phone numbers we can read."""
    return code.upper() in phonenumbers.SUPPORTED_REGIONS
