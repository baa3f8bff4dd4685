"""One vCard property parsed: name, the parameters a contact import needs, and its text.

Parameters as vCard 2.1, 3.0 and 4.0 write them: ``TEL;CELL;PREF:`` (2.1 bare types),
``TEL;TYPE=CELL,VOICE;TYPE=pref:`` (3.0 lists and repeats), ``TEL;TYPE="cell";PREF=1:`` (4.0),
``NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=ISO-8859-1:`` and 2.1's bare ``QUOTED-PRINTABLE``.
A group prefix (``item1.TEL``) is dropped.
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from typing import Literal, NamedTuple

from nexus_adapters.files.text_encoding import TextEncoding, decode, decode_charset
from nexus_adapters.files.vcard_lines import ContentLine

_ENCODING_VALUES = frozenset({"quoted-printable", "base64", "b", "8bit", "7bit"})
_PARAMETER = re.compile(rb'(?:[^;"]|"[^"]*"?)+')
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_ESCAPED_OR = {separator: re.compile(r"\\.|" + separator, re.DOTALL) for separator in ",;"}
# Lowest preference (vCard 4.0 PREF runs from 1, most preferred, to 100).
LEAST_PREFERRED = 100


class Property(NamedTuple):
    """A property: upper-case ``name``, lower-case ``types``, ``pref`` (1 is most preferred,
    None if not preferred) and its decoded ``text``, still vCard-escaped (``\\,`` ``\\;``)."""

    name: str
    types: frozenset[str]
    pref: int | None
    text: str


_NO_TYPES: frozenset[str] = frozenset()


def parse_property(line: ContentLine, encoding: TextEncoding) -> Property:
    """``line``'s parameters read and its value decoded; ``encoding`` is the file's, used when
    the property names no ``CHARSET``."""
    if not line.params:  # most lines: "FN:…", "END:VCARD"
        return Property(line.name, _NO_TYPES, None, decode(line.value, encoding))
    types: set[str] = set()
    pref: int | None = None
    value_encoding = ""
    charset = ""
    for token in _PARAMETER.findall(line.params):
        key, equals, raw_values = token.partition(b"=")
        if not equals:  # a vCard 2.1 bare parameter
            key, raw_values = b"TYPE", key
        values = [
            value.strip().decode("latin-1")
            for value in raw_values.replace(b'"', b"").split(b",")
            if value.strip()
        ]
        parameter = key.strip().upper()
        if parameter == b"TYPE" and values and values[0].lower() in _ENCODING_VALUES:
            parameter = b"ENCODING"
        if parameter == b"TYPE":
            types.update(value.lower() for value in values)
        elif parameter == b"PREF" and values:
            pref = _pref(values[0])
        elif parameter == b"ENCODING" and values:
            value_encoding = values[0].lower()
        elif parameter == b"CHARSET" and values:
            charset = values[0]
    if "pref" in types and pref is None:
        pref = 1

    value = _decoded_transfer(line.value, value_encoding)
    text = decode_charset(value, charset, encoding) if charset else decode(value, encoding)
    return Property(line.name, frozenset(types), pref, text)


def _pref(value: str) -> int:
    try:
        return min(max(int(value), 1), LEAST_PREFERRED)
    except ValueError:
        return LEAST_PREFERRED


def _decoded_transfer(value: bytes, value_encoding: str) -> bytes:
    if value_encoding == "quoted-printable":
        return quopri.decodestring(value)
    if value_encoding in ("b", "base64"):
        try:
            return base64.b64decode(value)
        except binascii.Error:
            return value
    return value


def split_escaped(text: str, separator: Literal[",", ";"]) -> list[str]:
    """``text`` split at each ``separator`` not escaped by a backslash; parts stay escaped."""
    parts: list[str] = []
    start = 0
    for match in _ESCAPED_OR[separator].finditer(text):
        if match.group() == separator:
            parts.append(text[start : match.start()])
            start = match.end()
    parts.append(text[start:])
    return parts


def unescape(text: str) -> str:
    r"""vCard text escapes undone: ``\n`` (or ``\N``) is a line break, ``\,`` ``\;`` ``\:``
    ``\\`` the character itself. Any other backslash is kept (a path, a careless writer)."""
    return _ESCAPE.sub(_unescaped, text)


def _unescaped(match: re.Match[str]) -> str:
    character = match[1]
    if character in "nN":
        return "\n"
    if character in ",;:\\":
        return character
    return match[0]
