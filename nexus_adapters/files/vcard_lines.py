"""vCard content lines: physical lines joined back into one ``name;params:value`` per property.

Two ways a property goes on over several physical lines:

- folding: a line starting with a space or a tab continues the previous one. vCard 3.0 and 4.0
  insert that whitespace when folding, so unfolding drops it; vCard 2.1 folds only where there
  already was whitespace, so in a 2.1 card it is kept;
- quoted-printable soft line breaks (vCard 2.1, e.g. Android exports): a quoted-printable value
  ending in ``=`` goes on at the start of the next line, whatever that line starts with.

Only the properties a contact import reads are assembled; others (a ``PHOTO`` folded over
thousands of lines) are skipped line by line, so memory stays bounded by ``MAX_VALUE_BYTES``.
Joining works on bytes, so a line folded in the middle of a UTF-8 character joins back whole.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

WANTED_PROPERTIES = frozenset(
    {"BEGIN", "END", "VERSION", "FN", "N", "TEL", "EMAIL", "CATEGORIES", "NOTE"}
)
# A value longer than this is cut (a note is at most 5,000 characters anyway).
MAX_VALUE_BYTES = 256 * 1024

# A property's first physical line: "[group.]name", parameters, then ":" and the value. A
# quoted parameter value may hold ":" (rare: the plain pattern is tried first).
_HEAD = re.compile(rb'([^;:]*)([^:"]*):')
_QUOTED_HEAD = re.compile(rb'([^;:]*)((?:[^":]|"[^"]*")*):')
_FOLDED = (b" ", b"\t")
_END_VCARD = b"END:VCARD"


class ContentLine(NamedTuple):
    """One property: upper-case ``name`` without its group, raw ``params`` (each preceded by
    ``;``) and raw ``value``, both still in the file's bytes."""

    name: str
    params: bytes
    value: bytes


class _Assembly:
    """A property being assembled from its physical lines."""

    __slots__ = ("name", "params", "parts", "quoted_printable", "size", "soft_break", "wanted")

    def __init__(self, first: bytes) -> None:
        head = _HEAD.match(first) or _QUOTED_HEAD.match(first)
        if head is not None:
            group_and_name, params = head.groups()
            value = first[head.end() :]
        else:  # no colon outside quotes (an unbalanced quote, or no value at all)
            head_text, _, value = first.partition(b":")
            group_and_name, semicolon, params = head_text.partition(b";")
            params = semicolon + params
        self.name = _property_name(group_and_name)
        self.params = params
        self.wanted = self.name in WANTED_PROPERTIES
        self.quoted_printable = b"QUOTED-PRINTABLE" in params.upper()
        self.parts: list[bytes] = []
        self.size = 0
        self.soft_break = False
        self.extend(value)

    def extend(self, text: bytes) -> None:
        if self.wanted and self.size < MAX_VALUE_BYTES:
            self.parts.append(text)
            self.size += len(text)
        self.soft_break = self.quoted_printable and text.endswith(b"=")

    def continue_after_soft_break(self, text: bytes) -> None:
        if self.parts and self.parts[-1].endswith(b"="):
            self.parts[-1] = self.parts[-1][:-1]
        self.extend(text)

    def content_line(self) -> ContentLine:
        value = self.parts[0] if len(self.parts) == 1 else b"".join(self.parts)
        return ContentLine(self.name, self.params, value[:MAX_VALUE_BYTES])


@functools.lru_cache(maxsize=64)
def _property_name(group_and_name: bytes) -> str:
    """``b"item1.tel"`` → ``"TEL"`` (a file repeats a handful of names over and over)."""
    return group_and_name.rpartition(b".")[2].strip().upper().decode("latin-1")


def content_lines(physical_lines: Iterable[bytes]) -> Iterator[ContentLine]:
    """The wanted properties of a vCard file, in order, unfolded."""
    current: _Assembly | None = None
    version_21 = False
    for raw in physical_lines:
        line = raw.rstrip(b"\r\n")
        if current is not None:
            if current.soft_break and line.strip().upper() != _END_VCARD:
                current.continue_after_soft_break(line)
                continue
            if line.startswith(_FOLDED):
                current.extend(line if version_21 else line[1:])
                continue
            if current.wanted:
                complete = current.content_line()
                version_21 = _version_21(complete, version_21)
                yield complete
            current = None
        if line.strip():
            current = _Assembly(line)
    if current is not None and current.wanted:
        yield current.content_line()


def _version_21(line: ContentLine, before: bool) -> bool:
    """Whether the card goes on as a vCard 2.1, after its property ``line``."""
    if line.name == "BEGIN":
        return False
    if line.name == "VERSION":
        return line.value.strip() == b"2.1"
    return before
