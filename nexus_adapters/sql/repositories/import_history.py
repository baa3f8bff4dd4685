"""The record of each contact import."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from nexus_adapters.sql.statistics import refresh_after_bulk_write
from nexus_adapters.sql.tables import contact_imports as t
from nexus_adapters.sql.tables import contacts
from nexus_core.domain.contact_files import FileType
from nexus_core.domain.dashboard import ImportTotals
from nexus_core.domain.import_history import ImportCounts, ImportedFile, ImportStatus


def _record_from_row(m: Mapping[Any, Any]) -> ImportedFile:
    return ImportedFile(
        id=m["id"],
        user_id=m["user_id"],
        filename=m["filename"],
        file_type=m["file_type"],
        status=m["status"],
        counts=ImportCounts(
            total_rows=m["total_rows"],
            imported=m["contacts_imported"],
            updated=m["updated_count"],
            duplicate=m["duplicate_count"],
            invalid=m["invalid_count"],
        ),
        error_message=m["error_message"],
        created_at=m["created_at"],
        completed_at=m["completed_at"],
    )


# The dashboard's ``imports`` and ``contacts_imported``, built once.
COMPLETED_IMPORTS = select(
    func.count().label("imports"),
    func.coalesce(func.sum(t.c.contacts_imported), 0).label("contacts_imported"),
).where(t.c.user_id == bindparam("owner_id"), t.c.status == "completed")


class SqlImportHistory:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def start(self, user_id: int, filename: str, file_type: FileType | None, now: datetime) -> int:
        statement = insert(t).values(
            user_id=user_id,
            filename=filename,
            file_type=file_type,
            status="processing",
            created_at=now,
        )
        return int(self._c.execute(statement.returning(t.c.id)).scalar_one())

    def finish(
        self,
        import_id: int,
        counts: ImportCounts,
        status: ImportStatus,
        error_message: str | None,
        now: datetime,
    ) -> None:
        self._c.execute(
            update(t)
            .where(t.c.id == import_id)
            .values(
                status=status,
                total_rows=counts.total_rows,
                contacts_imported=counts.imported,
                updated_count=counts.updated,
                duplicate_count=counts.duplicate,
                invalid_count=counts.invalid,
                error_message=error_message,
                completed_at=now,
            )
        )
        if status == "completed":
            refresh_after_bulk_write(self._c, contacts, counts.imported + counts.updated)

    def totals(self, user_id: int) -> ImportTotals:
        imports, imported = self._c.execute(COMPLETED_IMPORTS, {"owner_id": user_id}).one()
        return ImportTotals(int(imports), int(imported))

    def get(self, user_id: int, import_id: int) -> ImportedFile | None:
        row = self._c.execute(select(t).where(t.c.id == import_id, t.c.user_id == user_id)).first()
        return None if row is None else _record_from_row(row._mapping)

    def page(self, user_id: int, page: int, per_page: int) -> tuple[list[ImportedFile], int]:
        mine = t.c.user_id == user_id
        total = self._c.execute(select(func.count()).select_from(t).where(mine)).scalar_one()
        rows = self._c.execute(
            select(t)
            .where(mine)
            .order_by(t.c.created_at.desc(), t.c.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        return [_record_from_row(row._mapping) for row in rows], total
