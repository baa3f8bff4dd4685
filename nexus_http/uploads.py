"""Import uploads: read only from a logged-in user, only as multipart, never past the limit.

The application's body limit (1 MiB) is for JSON; an upload's is ``NEXUS_MAX_IMPORT_BYTES``,
known only once the settings are, so import handlers lift Litestar's own limit and this module
enforces theirs while the body arrives: an announced ``Content-Length`` over it is refused
before anything is read, and a body that grows past it (chunked uploads) when it does.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.types import ReceiveMessage

from nexus_core.errors import ValidationFailed
from nexus_core.use_cases.accounts import CurrentSession
from nexus_http.errors import ProblemException
from nexus_http.middleware.content_type import declares_body
from nexus_http.request_context import adapters_of, current_session

AnyRequest = Request[Any, Any, Any]
# Room for what a multipart body holds besides the file: boundaries, part headers, the
# ``tags`` and ``on_duplicate`` fields.
FORM_OVERHEAD_BYTES = 64 * 1024
_SESSION_KEY = "nexus_upload_session"
_KIB = 1024
_MIB = 1024 * 1024


def human_size(size: int) -> str:
    """``20971520`` → ``20 MiB``; sizes of no whole MiB or KiB in bytes."""
    if size % _MIB == 0:
        return f"{size // _MIB} MiB"
    if size % _KIB == 0:
        return f"{size // _KIB} KiB"
    return f"{size} bytes"


def too_large(limit: int) -> ProblemException:
    return ProblemException(413, "import.too_large", limit=human_size(limit))


def file_required() -> ValidationFailed:
    return ValidationFailed.single("file", "import.file_required")


def max_file_bytes(request: AnyRequest) -> int:
    return adapters_of(request).settings.max_import_bytes


def _bound_body(request: AnyRequest, limit: int) -> None:
    """Refuse the request as soon as more than ``limit`` bytes of body arrive."""
    if request.content_length is not None and request.content_length > limit:
        raise too_large(max_file_bytes(request))
    receive = request.receive
    received = 0

    async def bounded_receive() -> ReceiveMessage:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise too_large(max_file_bytes(request))
        return message

    request.receive = bounded_receive


async def admit_upload(request: AnyRequest) -> None:
    """``before_request`` of the import handlers, before Litestar decodes the form: the caller
    must be logged in (401), the body multipart (415; 400 when there is no body at all), at
    most the import limit plus ``FORM_OVERHEAD_BYTES`` (413), and its ``file`` a file (400:
    an empty file input arrives as a text field). The form is read here, and Litestar reuses
    it."""
    request.scope["state"][_SESSION_KEY] = await current_session(request)
    content_type, _ = request.content_type
    if content_type != RequestEncodingType.MULTI_PART:
        has_body, _ = declares_body(request.scope)
        if not has_body:
            raise file_required()
        raise ProblemException(415, "import.multipart_expected")
    _bound_body(request, max_file_bytes(request) + FORM_OVERHEAD_BYTES)
    form = await request.form()
    if not isinstance(form.get("file"), UploadFile):
        raise file_required()


def upload_session(request: AnyRequest) -> CurrentSession:
    """The session ``admit_upload`` found."""
    current: CurrentSession = request.scope["state"][_SESSION_KEY]
    return current
