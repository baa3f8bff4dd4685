"""The text encoding of a contact file, and decoding that never fails.

Contact files come from Excel (Windows-1252, or UTF-8 with a BOM), LibreOffice, Google and
phones (UTF-8). A prefix sample decides: a UTF-8 BOM, or a sample that is valid UTF-8, means
UTF-8; anything else means Windows-1252. Decoding then never fails, so a wrong guess costs at
most a few odd characters, never the import:

- in UTF-8, a byte sequence that is not UTF-8 is read as Windows-1252 (a file whose sample was
  plain ASCII and that has "Pérez" in Windows-1252 further down still reads "Pérez");
- in Windows-1252, the five bytes it leaves undefined read as the code point of the same
  number, as browsers decode it (WHATWG "windows-1252").

What makes text undecodable is a NUL byte (see ``byte_lines``): no UTF-8 or Windows-1252 text
has one, while binary formats and UTF-16 are full of them.
"""

from __future__ import annotations

import codecs
from typing import Literal

TextEncoding = Literal["utf-8", "cp1252"]

UTF8: TextEncoding = "utf-8"
WINDOWS_1252: TextEncoding = "cp1252"


def _windows_1252_char(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


_WINDOWS_1252 = tuple(_windows_1252_char(byte) for byte in range(256))
_FALLBACK = "nexus-imports-windows-1252"


def _as_windows_1252(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    undecoded = error.object[error.start : error.end]
    return "".join(_WINDOWS_1252[byte] for byte in undecoded), error.end


# A codec error handler (not a loop in Python) so that a line full of bad bytes stays linear.
codecs.register_error(_FALLBACK, _as_windows_1252)


def sniff_encoding(sample: bytes) -> TextEncoding:
    """UTF-8 if ``sample`` (a file's first bytes) has a UTF-8 BOM or is valid UTF-8."""
    if sample.startswith(codecs.BOM_UTF8):
        return UTF8
    try:
        # Not final: the sample may end in the middle of a character.
        codecs.getincrementaldecoder(UTF8)().decode(sample, final=False)
    except UnicodeDecodeError:
        return WINDOWS_1252
    return UTF8


def decode(data: bytes, encoding: TextEncoding) -> str:
    """``data`` as text; bytes the encoding cannot read are read as Windows-1252."""
    return data.decode(encoding, _FALLBACK)


def decode_charset(data: bytes, charset: str, default: TextEncoding) -> str:
    """``data`` in a charset a file names (vCard ``CHARSET=``); ``default`` if it is unknown."""
    try:
        name = codecs.lookup(charset).name
    except (LookupError, ValueError):
        return decode(data, default)
    if name in (UTF8, WINDOWS_1252):
        return decode(data, name)
    try:
        return data.decode(name, _FALLBACK)
    except (LookupError, ValueError, TypeError):
        # Not a text encoding ("base64", "rot13"), or one that rejects these bytes outright.
        return decode(data, default)
