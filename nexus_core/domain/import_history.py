"""The record each contact import leaves: which file, how its rows were counted, how it ended."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from nexus_core.domain.contact_files import FileType

ImportStatus = Literal["processing", "completed", "failed"]
IMPORT_STATUSES: tuple[ImportStatus, ...] = ("processing", "completed", "failed")
FILENAME_MAX = 255
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def recorded_filename(raw: str) -> str:
    """The name an import is recorded under: the file's own name without the folders some
    browsers send (``C:\\fakepath\\clientes.csv`` → ``clientes.csv``), control characters
    dropped (and anything that is not text, such as a lone surrogate, replaced), at most
    ``FILENAME_MAX`` characters."""
    basename = raw.replace("\\", "/").rsplit("/", 1)[-1]
    text = basename.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("", text).strip()[:FILENAME_MAX]


@dataclass(frozen=True, slots=True)
class ImportCounts:
    """How an import's rows were counted (``ImportTally``'s figures once no row waits)."""

    total_rows: int = 0
    imported: int = 0
    updated: int = 0
    duplicate: int = 0
    invalid: int = 0


@dataclass(frozen=True, slots=True)
class ImportedFile:
    """One import, ``processing`` from its start until it is finished as ``completed`` or
    ``failed`` (``completed_at`` set then). ``file_type`` is None for an unsupported file."""

    id: int
    user_id: int
    filename: str
    file_type: FileType | None
    status: ImportStatus
    counts: ImportCounts
    error_message: str | None
    created_at: datetime
    completed_at: datetime | None
