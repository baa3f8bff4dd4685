"""Import form fields, the import's report and its record as the API shows them."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from litestar.datastructures import UploadFile

from nexus_core.domain.contact_files import FileType
from nexus_core.domain.contact_imports import RowProblem
from nexus_core.domain.import_history import ImportedFile, ImportStatus
from nexus_http.messages import stored_message, translate
from nexus_http.schemas.common import PaginationOut, rfc3339


@dataclass
class ImportForm:
    """``multipart/form-data``: the ``file`` (CSV, XLSX or vCard), ``tags`` added to every
    imported contact (comma-separated) and ``on_duplicate`` (``skip`` or ``update``)."""

    file: UploadFile | None = None
    tags: str | list[str] | None = None
    on_duplicate: str | None = None


class ImportedFileOut(msgspec.Struct):
    id: int
    filename: str
    file_type: FileType | None
    status: ImportStatus
    total_rows: int
    contacts_imported: int
    updated_count: int
    duplicate_count: int
    invalid_count: int
    error_message: str | None
    created_at: str | None
    completed_at: str | None

    @classmethod
    def of(cls, record: ImportedFile, language: str) -> ImportedFileOut:
        counts = record.counts
        return cls(
            id=record.id,
            filename=record.filename,
            file_type=record.file_type,
            status=record.status,
            total_rows=counts.total_rows,
            contacts_imported=counts.imported,
            updated_count=counts.updated,
            duplicate_count=counts.duplicate,
            invalid_count=counts.invalid,
            error_message=stored_message(record.error_message, language),
            created_at=rfc3339(record.created_at),
            completed_at=rfc3339(record.completed_at),
        )


class RowErrorOut(msgspec.Struct):
    row: int
    message: str

    @classmethod
    def of(cls, problem: RowProblem, language: str) -> RowErrorOut:
        return cls(row=problem.row, message=translate(problem.code, language, problem.params))


class ImportOut(msgspec.Struct):
    message: str
    imported_count: int
    updated_count: int
    duplicate_count: int
    invalid_count: int
    errors: list[RowErrorOut]
    import_: ImportedFileOut = msgspec.field(name="import")


class ImportHistory(msgspec.Struct):
    imports: list[ImportedFileOut]
    pagination: PaginationOut
