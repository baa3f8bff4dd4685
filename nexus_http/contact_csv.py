"""The export as a CSV file: UTF-8 with a byte order mark (so that Excel reads the accents),
comma-separated, CRLF line ends, in chunks of about ``CHUNK_BYTES``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

CHUNK_BYTES = 64 * 1024
BOM = "\ufeff"
MEDIA_TYPE = "text/csv; charset=utf-8"


def csv_chunks(columns: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> Iterator[bytes]:
    """The file, header first; a chunk is handed over once it holds ``CHUNK_BYTES``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() >= CHUNK_BYTES:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")
