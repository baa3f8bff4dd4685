"""An upload read in chunks and cut into lines, never held whole."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

from nexus_core.domain.contact_files import FileType, UnreadableFile

CHUNK_SIZE = 64 * 1024


def chunks(head: bytes, rest: BinaryIO) -> Iterator[bytes]:
    """``head`` (the bytes already read to sniff the file), then the rest of ``rest``."""
    if head:
        yield head
    while block := rest.read(CHUNK_SIZE):
        yield block


def split_lines(
    blocks: Iterable[bytes], file_type: FileType, *, max_length: int, truncate: bool = False
) -> Iterator[bytes]:
    """The lines of ``blocks``, each with its terminator (``\\r\\n``, ``\\n`` or a lone ``\\r``).

    At most ``max_length`` bytes of a line are held: a longer line raises
    ``UnreadableFile("import.undecodable")``, or with ``truncate`` is cut to ``max_length``
    bytes (and loses its terminator). A NUL byte anywhere means the file is binary, not text:
    ``import.undecodable`` too. Splitting bytes is safe for UTF-8 and Windows-1252, where CR
    and LF bytes are never part of another character.
    """
    pending = b""
    for block in blocks:
        if b"\x00" in block:
            raise UnreadableFile("import.undecodable", file_type)
        lines = (pending + block).splitlines(keepends=True)
        # A last line without "\n" may go on in the next block (even a lone "\r": "\r\n").
        pending = lines.pop() if lines and not lines[-1].endswith(b"\n") else b""
        for line in lines:
            yield _bounded(line, file_type, max_length, truncate)
        if len(pending) > max_length:
            # What follows up to the line's end is cut off when the line is yielded.
            pending = _bounded(pending, file_type, max_length, truncate)
    if pending:
        yield _bounded(pending, file_type, max_length, truncate)


def _bounded(line: bytes, file_type: FileType, max_length: int, truncate: bool) -> bytes:
    if len(line) <= max_length:
        return line
    if truncate:
        return line[:max_length]
    raise UnreadableFile("import.undecodable", file_type)
