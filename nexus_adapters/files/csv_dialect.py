"""Which delimiter a CSV file uses: an Excel ``sep=`` first line, else sniffed from its start."""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence

# In order of preference when they split a file equally well.
CANDIDATE_DELIMITERS = (",", ";", "\t")

# Excel's hint line ("sep=;"), as Excel writes it or as another program may re-save it:
# quoted ('"sep=;"') or padded with the separator itself ("sep=;;;").
_SEP_LINE = re.compile(r'"?sep=(?P<sep>[^\r\n"])"?(?P=sep)*[ \t]*(?:\r\n|\r|\n)?', re.IGNORECASE)


def sep_line_delimiter(line: str) -> str | None:
    """The delimiter a ``sep=X`` line names, or None if ``line`` is not one."""
    match = _SEP_LINE.fullmatch(line)
    return match["sep"] if match else None


def sniff_delimiter(lines: Sequence[str]) -> str:
    """The candidate delimiter that best splits ``lines``, the first lines of a file.

    The winner splits the first record (empty lines aside) into the most cells; a tie goes to
    the one most of the following records agree with (as many cells as the first), then to the
    order of ``CANDIDATE_DELIMITERS`` (so a one-column file reads with ``,``). Records are
    parsed, so a delimiter inside quotes does not count.
    """
    return max(CANDIDATE_DELIMITERS, key=lambda delimiter: _score(lines, delimiter))


def _score(lines: Sequence[str], delimiter: str) -> tuple[int, int]:
    try:
        records = [
            record
            for record in csv.reader(lines, delimiter=delimiter, skipinitialspace=True)
            if len(record) > 1 or any(cell.strip() for cell in record)
        ]
    except csv.Error:
        return (0, 0)
    if not records:
        return (0, 0)
    width = len(records[0])
    return (width, sum(len(record) == width for record in records[1:]))
