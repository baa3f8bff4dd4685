"""A fast, exact shortcut for the common phone number shapes, in front of ``phonenumbers``.

Why: ``phonenumbers.parse`` + ``is_valid_number`` + ``format_number`` costs tens of
microseconds per number (generic text extraction, extension and RFC 3966 handling, alpha
conversion, several metadata look-ups, regexes fetched from ``re``'s cache or recompiled on
every call, up to ten pattern matches for validity). In bulk contact
imports that dominates. Most real input is just digits with a few separators, optionally
after a ``+``, and for that the library's work boils down to a few regex matches.

Why it is exact: :func:`fast_e164` only ever *accepts*. It answers with an E.164 string
only for texts where every step ``phonenumbers`` takes is known to be a no-op or is
replicated here literally; for anything else it answers ``None`` ("ask phonenumbers"), and
the caller falls back to the library. Concretely, it answers ``None`` for

- any character other than ASCII digits, a single leading ``+`` and the separators
  `` .-()/`` (so no letters, extensions, RFC 3966, unicode digits, ...);
- country calling codes shared by several regions (NANPA ``1``, ``44``, ``7``, ...) and
  non-geographic ones (``800``, ``882``, ...), where validity depends on region choice;
- a national number that starts with the region's international prefix or country code
  (the library may strip them), that starts with ``0`` (an "Italian leading zero"), or
  that the region's ``national_prefix_for_parsing`` would strip or transform (national
  prefixes, carrier codes; the library tries this even after a ``+`` and country code);
- numbers that the fast validity check rejects (invalid input is rare: the library
  decides, and the caller raises).

Validity replicates ``phonenumberutil._number_type_helper(...) != UNKNOWN``: the general
description must match and so must one of the type descriptions, each "match" being
*length in possible_length (when that list is non-empty) and the pattern matches whole*.
The patterns come straight from the library's metadata, compiled once per region on first
use. ``tests/core/test_phone_fast_path.py`` checks all this against the library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata

# Digits and common separators after an optional "+": the only texts we try to read.
_PLAIN_TEXT: Final = re.compile(r"\+?[0-9 .\-()/]*")
_DROP_SEPARATORS: Final = str.maketrans("", "", " .-()/")
# phonenumbers' bounds: parse() refuses longer input and national numbers outside these.
_MAX_INPUT = 250
_MIN_NSN = 2
_MAX_NSN = 17
# Below three digits, "viable number" depends on the punctuation: leave it to the library.
_MIN_DIGITS = 3
_NON_GEOGRAPHIC = "001"


def _only_region(regions: tuple[str, ...]) -> str | None:
    if len(regions) == 1 and regions[0] != _NON_GEOGRAPHIC:
        return regions[0]
    return None


# Calling code as written (no leading zeros) -> its one region, or None when it is not ours
# to handle (shared or non-geographic). Codes missing here are unknown to the library.
_REGION_BY_CODE: Final[dict[str, str | None]] = {
    str(code): _only_region(tuple(regions))
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items()
}


@dataclass(frozen=True, slots=True)
class _Region:
    country_code: str
    international_prefix: re.Pattern[str] | None
    national_prefix_for_parsing: re.Pattern[str] | None
    # National number length -> pattern that matches exactly the valid numbers of that length.
    valid_by_length: dict[int, re.Pattern[str]]


def _any_of(patterns: list[str]) -> str:
    return "|".join(f"(?:{pattern})" for pattern in patterns)


def _valid_by_length(metadata: PhoneMetadata) -> dict[int, re.Pattern[str]] | None:
    """Patterns for ``phonenumberutil._number_type_helper(nsn, metadata) != UNKNOWN``.

    That holds when the general description and at least one type description match, a
    description matching when its pattern matches the whole number and the number's length
    is one of its possible lengths (any length when it lists none). Per length, this is one
    regex: a lookahead for the general pattern, then the alternation of the type patterns
    admitting that length. None when the metadata is too unusual to bother.
    """
    general = metadata.general_desc
    if general is None or not general.national_number_pattern or not general.possible_length:
        return None
    types = [
        metadata.fixed_line,
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
    ]
    if not metadata.same_mobile_and_fixed_line_pattern:
        # Otherwise _number_type_helper tests fixed_line only (and their lengths may differ).
        types.insert(0, metadata.mobile)  # the most frequent first; only "any" matters
    valid_by_length: dict[int, re.Pattern[str]] = {}
    for length in general.possible_length:
        admitted = [
            desc.national_number_pattern
            for desc in types
            if desc is not None
            and desc.national_number_pattern  # an empty pattern never matches
            and (not desc.possible_length or length in desc.possible_length)
        ]
        if admitted:
            valid_by_length[length] = re.compile(
                rf"(?=(?:{general.national_number_pattern})\Z)(?:{_any_of(admitted)})"
            )
    return valid_by_length


def _optional_pattern(regex: str | None) -> re.Pattern[str] | None:
    return re.compile(regex) if regex else None


def _build(region: str) -> _Region | None:
    metadata = PhoneMetadata.metadata_for_region(region, None)
    if metadata is None or metadata.country_code is None:
        return None
    # is_valid_number picks the region from the calling code: it must be this one alone.
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(metadata.country_code, ())
    valid_by_length = _valid_by_length(metadata)
    if _only_region(tuple(regions)) != region or valid_by_length is None:
        return None
    return _Region(
        country_code=str(metadata.country_code),
        international_prefix=_optional_pattern(metadata.international_prefix),
        national_prefix_for_parsing=_optional_pattern(metadata.national_prefix_for_parsing),
        valid_by_length=valid_by_length,
    )


# Region code -> compiled data, or None when the fast path never handles that region.
# Built on first use; concurrent builds of one region are identical, so races are harmless.
# Keys are supported region codes only, so the cache stays small whatever callers pass.
_REGIONS: Final[dict[str, _Region | None]] = {}


def _region(region: str) -> _Region | None:
    try:
        return _REGIONS[region]
    except KeyError:
        if region not in phonenumbers.SUPPORTED_REGIONS:
            return None
        data = _REGIONS[region] = _build(region)
        return data


def _changed_by_national_prefix(nsn: str, region: _Region) -> bool:
    """Whether phonenumbers' national prefix / carrier code stripping might touch ``nsn``."""
    if region.national_prefix_for_parsing is None:
        return False
    found = region.national_prefix_for_parsing.match(nsn)
    if found is None:
        return False
    # An empty match capturing nothing (Argentina's pattern is all optional) strips nothing
    # and transforms nothing; anything else may.
    return found.end() > 0 or any(group is not None for group in found.groups())


def _may_hold_prefix(digits: str, region: _Region) -> bool:
    """Whether phonenumbers might read an international prefix or the region's own country
    code at the start of a number written without ``+``."""
    idd = region.international_prefix
    return (idd is not None and idd.match(digits) is not None) or digits.startswith(
        region.country_code
    )


def _is_valid(nsn: str, region: _Region) -> bool:
    valid = region.valid_by_length.get(len(nsn))
    return valid is not None and valid.fullmatch(nsn) is not None


def fast_e164(text: str, region_code: str) -> str | None:
    """What ``phonenumbers`` makes of ``text`` (parse with ``region_code``, check validity,
    format E.164), or None when this shortcut cannot be sure. Never raises."""
    if len(text) > _MAX_INPUT or _PLAIN_TEXT.fullmatch(text) is None:
        return None
    digits = text.translate(_DROP_SEPARATORS)
    region: _Region | None
    if digits.startswith("+"):
        digits = digits[1:]
        if len(digits) < _MIN_DIGITS or digits[0] == "0":
            return None
        for size in (1, 2, 3):
            code = digits[:size]
            if code in _REGION_BY_CODE:
                found = _REGION_BY_CODE[code]
                region = _region(found) if found is not None else None
                nsn = digits[size:]
                break
        else:
            return None
    else:
        region = _region(region_code)
        if region is None or len(digits) < _MIN_DIGITS or _may_hold_prefix(digits, region):
            return None
        nsn = digits
    if (
        region is None
        or not _MIN_NSN <= len(nsn) <= _MAX_NSN
        or nsn[0] == "0"
        or _changed_by_national_prefix(nsn, region)
        or not _is_valid(nsn, region)
    ):
        return None
    return "+" + region.country_code + nsn
