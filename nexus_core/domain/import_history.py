"""The record each contact import leaves: which file, how its rows were counted, how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from nexus_core.domain.contact_files import FileType

ImportStatus = Literal["processing", "completed", "failed"]
IMPORT_STATUSES: tuple[ImportStatus, ...] = ("processing", "completed", "failed")


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
