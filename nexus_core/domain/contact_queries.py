"""Listing contacts: which page, which contacts, in what order."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from nexus_core.domain.contacts import (
    ContactStatus,
    check_status,
    normalise_tags,
    split_tag_cell,
)
from nexus_core.domain.text import check_text_type
from nexus_core.errors import Collector, ValidationFailed

PER_PAGE_DEFAULT = 20
PER_PAGE_MAX = 100
# Pages past this one are read as this one: always past the end, and the offset stays far
# inside any database's integer range.
PAGE_MAX = 1_000_000_000
SEARCH_MAX = 254

ContactSort = Literal["name", "-name", "created_at", "-created_at"]
CONTACT_SORTS: tuple[ContactSort, ...] = ("name", "-name", "created_at", "-created_at")
DEFAULT_SORT: ContactSort = "-created_at"

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DIGITS_KEPT = 10  # more digits than this is already beyond any clamp


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int = 1
    per_page: int = PER_PAGE_DEFAULT

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True, slots=True)
class ContactQuery:
    """A validated ``GET /api/contacts`` query.

    ``search`` is matched as a literal substring (the adapter escapes SQL wildcards): its
    ``search_key`` against the ``search_key`` of names and against emails (stored lower-cased),
    and its ``search_digits`` against phones.
    """

    page: int = 1
    per_page: int = PER_PAGE_DEFAULT
    search: str | None = None
    status: ContactStatus | None = None
    tags: tuple[str, ...] = ()
    sort: ContactSort = DEFAULT_SORT

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def search_digits(self) -> str | None:
        return search_digits(self.search)

    @property
    def search_key(self) -> str | None:
        return None if self.search is None else search_key(self.search)


def search_key(text: str) -> str:
    """How names are searched and sorted: without case or accents (``Ángela`` → ``angela``,
    ``Straße`` → ``strasse``), so ``garcia`` finds ``García`` and ``Álvaro`` sorts among the
    ``a``. Compared by code point, which every database here can do the same way."""
    if text.isascii():
        return text.lower()
    # Word by word, each remembered: names repeat their words (García, María) across a file
    # of thousands. Exact, since both steps act on each character alone and a space is a
    # character of its own in NFKD.
    return " ".join(map(_folded_word, text.split(" ")))


@functools.lru_cache(maxsize=16384)
def _folded_word(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def search_digits(search: str | None) -> str | None:
    """The digits of a search, matched as a substring of E.164 phones (``600 111`` finds
    ``+34600111222``); None when the search has no digit at all."""
    if search is None:
        return None
    digits = "".join(char for char in search if "0" <= char <= "9")
    return digits or None


def _present(params: Mapping[str, str], name: str) -> str | None:
    """The parameter's text, or None when it is absent or blank (``?status=`` means no filter)."""
    value = params.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return check_text_type(value).strip()


def _at_least_one(raw: str, clamp: int) -> int:
    if not _INTEGER.fullmatch(raw):
        raise ValidationFailed.single("", "field.not_an_integer")
    digits = raw.lstrip("+-").lstrip("0") or "0"
    if raw.startswith("-") or digits == "0":
        raise ValidationFailed.single("", "field.below_minimum", min=1)
    return clamp if len(digits) > _DIGITS_KEPT else min(int(digits), clamp)


def collect_page_request(params: Mapping[str, str], errors: Collector) -> PageRequest:
    """``parse_page_request`` for a query with more parameters: its problems go to ``errors``
    (a default page stands in), so that every bad parameter is reported at once."""
    page = errors.check("page", lambda: _optional_number(params, "page", PAGE_MAX))
    per_page = errors.check("per_page", lambda: _optional_number(params, "per_page", PER_PAGE_MAX))
    return PageRequest(page or 1, per_page or PER_PAGE_DEFAULT)


def _optional_number(params: Mapping[str, str], name: str, clamp: int) -> int | None:
    raw = _present(params, name)
    return None if raw is None else _at_least_one(raw, clamp)


def parse_page_request(params: Mapping[str, str]) -> PageRequest:
    """``page`` (from 1) and ``per_page`` (default 20, larger than 100 read as 100) from a
    query string; a value that is not an integer, or is below 1, is a field error."""
    errors = Collector()
    request = collect_page_request(params, errors)
    errors.raise_if_any()
    return request


def _search(params: Mapping[str, str]) -> str | None:
    search = _present(params, "search")
    if search is not None and len(search) > SEARCH_MAX:
        raise ValidationFailed.single("search", "field.too_long", max=SEARCH_MAX)
    return search


def _status(params: Mapping[str, str]) -> ContactStatus | None:
    raw = _present(params, "status")
    return None if raw is None else check_status(raw)


def _tags(params: Mapping[str, str]) -> tuple[str, ...]:
    raw = _present(params, "tags")
    return () if raw is None else normalise_tags(split_tag_cell(raw))


def _sort(params: Mapping[str, str]) -> ContactSort:
    raw = _present(params, "sort")
    if raw is None:
        return DEFAULT_SORT
    if raw not in CONTACT_SORTS:
        raise ValidationFailed.single("sort", "contact.sort_invalid", allowed=CONTACT_SORTS)
    return raw


def parse_contact_query(params: Mapping[str, str]) -> ContactQuery:
    """A list query from its parameters; every bad one is reported at once, unknown ones
    are ignored. ``tags`` (comma-separated) follows the tag rules of a contact."""
    errors = Collector()
    pages = collect_page_request(params, errors)
    search = errors.check("search", lambda: _search(params))
    status = errors.check("status", lambda: _status(params))
    tags = errors.check("tags", lambda: _tags(params))
    sort = errors.check("sort", lambda: _sort(params))
    errors.raise_if_any()
    return ContactQuery(pages.page, pages.per_page, search, status, tags, sort)
