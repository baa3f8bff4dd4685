"""``/api/contacts/import``: import a CSV, XLSX or vCard file, and the history of imports."""

from __future__ import annotations

import io
from typing import Annotated, BinaryIO, cast

from litestar import Controller, get, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body

from nexus_core.use_cases import contact_imports
from nexus_core.use_cases.accounts import CurrentSession
from nexus_core.use_cases.contact_imports import ImportReport
from nexus_http.controllers.docs import problems
from nexus_http.controllers.list_params import Page, PerPage
from nexus_http.request_context import (
    AnyRequest,
    adapters_of,
    client_address,
    language_of,
    lookup_as_caller,
    say,
)
from nexus_http.schemas.common import PaginationOut
from nexus_http.schemas.imports import (
    ImportedFileOut,
    ImportForm,
    ImportHistory,
    ImportOut,
    RowErrorOut,
)
from nexus_http.uploads import (
    admit_upload,
    file_required,
    max_file_bytes,
    too_large,
    upload_session,
)


def _size(upload: UploadFile) -> int:
    upload.file.seek(0, io.SEEK_END)
    size = upload.file.tell()
    upload.file.seek(0)
    return size


def _tags(value: str | list[str] | None) -> str | None:
    """The ``tags`` field, sent once (comma-separated) or repeated."""
    return ",".join(value) if isinstance(value, list) else value


def _run_import(
    request: AnyRequest, current: CurrentSession, form: ImportForm, upload: UploadFile
) -> ImportReport:
    limit = max_file_bytes(request)
    if _size(upload) > limit:
        raise too_large(limit)
    return contact_imports.import_contacts(
        adapters_of(request).ports,
        current.user,
        filename=upload.filename,
        content=cast(BinaryIO, upload.file),
        tags=_tags(form.tags),
        on_duplicate=form.on_duplicate,
        client_address=client_address(request),
    )


class ImportsController(Controller):
    path = "/api/contacts/import"
    tags = ["Imports"]

    @post(
        ["/", "/csv", "/excel"],
        status_code=201,
        summary="Import contacts from a CSV, XLSX or vCard file",
        description="`multipart/form-data` with `file`, optional `tags` (comma-separated, added "
        "to every imported contact) and `on_duplicate` (`skip`, the default, or `update`). "
        "`/import/csv` and `/import/excel` are the same endpoint. A file that cannot be read "
        "is a 400 and leaves no contact behind (its import is recorded as `failed`). The file "
        "may be as large as `NEXUS_MAX_IMPORT_BYTES` (20 MiB by default).",
        before_request=admit_upload,
        request_max_body_size=None,  # admit_upload enforces the import limit instead
        opt={"accepts_files": True},
        responses=problems(400, 401, 403, 409, 413, 415, 429),
    )
    async def import_file(
        self,
        request: AnyRequest,
        data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> ImportOut:
        current = upload_session(request)
        upload = data.file
        if not isinstance(upload, UploadFile):
            raise file_required()
        report = await sync_to_thread(_run_import, request, current, data, upload)
        language = language_of(request)
        record = report.record
        counts = record.counts
        return ImportOut(
            message=say(
                request,
                "ok.imported",
                imported=counts.imported,
                updated=counts.updated,
                duplicate=counts.duplicate,
                invalid=counts.invalid,
            ),
            imported_count=counts.imported,
            updated_count=counts.updated,
            duplicate_count=counts.duplicate,
            invalid_count=counts.invalid,
            errors=[RowErrorOut.of(problem, language) for problem in report.errors],
            import_=ImportedFileOut.of(record, language),
        )

    @get(
        "/history",
        summary="The user's imports, newest first",
        responses=problems(400, 401),
    )
    async def history(
        self, request: AnyRequest, page: Page = None, per_page: PerPage = None
    ) -> ImportHistory:
        params = {k: v for k, v in {"page": page, "per_page": per_page}.items() if v is not None}
        ports = adapters_of(request).ports
        found = await lookup_as_caller(
            request, lambda current: contact_imports.import_history(ports, current.user.id, params)
        )
        language = language_of(request)
        return ImportHistory(
            imports=[ImportedFileOut.of(record, language) for record in found.items],
            pagination=PaginationOut.of(found),
        )
