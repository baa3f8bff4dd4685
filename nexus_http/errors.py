"""RFC 9457 problem responses for every failure, with the ``error`` member the frontend shows.

Domain error codes become statuses here (by error class) and messages through the catalogue.
An unexpected exception is logged with the request id and answered with a plain 500.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from nexus_core.domain.contact_files import UnreadableFile
from nexus_core.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    NotFound,
    RuleRefused,
    TooManyAttempts,
    Unauthenticated,
    UpstreamFailed,
    ValidationFailed,
)
from nexus_http.language import preferred_language
from nexus_http.messages import translate

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = structlog.get_logger("nexus.http")

_STATUS_BY_ERROR: tuple[tuple[type[DomainError], int], ...] = (
    (ValidationFailed, 400),
    (RuleRefused, 400),
    (UnreadableFile, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (TooManyAttempts, 429),
    (UpstreamFailed, 502),
)
_CODE_BY_STATUS = {
    400: "http.bad_request",
    401: "auth.not_authenticated",
    403: "http.csrf_rejected",
    404: "http.not_found",
    405: "http.method_not_allowed",
    413: "http.body_too_large",
    415: "http.unsupported_media_type",
    429: "rate.too_many_attempts",
    503: "http.unavailable",
}


class ProblemException(HTTPException):
    """A failure of the HTTP layer itself that has a message of its own in the catalogue
    (an upload over its limit, a body of the wrong kind for one endpoint)."""

    def __init__(self, status: int, code: str, **params: Any) -> None:
        self.code = code
        self.params: Mapping[str, Any] = params
        super().__init__(status_code=status, detail=code)


class ProblemField(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """The body of every error response (``errors`` only for field validation failures)."""

    error: str
    type: str
    title: str
    status: int
    detail: str
    errors: list[ProblemField] | None = None


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    params: Mapping[str, Any] | None = None,
    field_errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> Response[Problem]:
    language = preferred_language(request.headers.get("accept-language"))
    body = problem_body(status, code, language, params, field_errors)
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def problem_body(
    status: int,
    code: str,
    language: str,
    params: Mapping[str, Any] | None = None,
    field_errors: Sequence[FieldError] = (),
) -> Problem:
    """The RFC 9457 body for ``code``, in ``language``; the one place its shape is built."""
    fields = [ProblemField(e.field, translate(e.code, language, e.params)) for e in field_errors]
    message = translate(code, language, params)
    if fields:
        first = field_errors[0]
        message = fields[0].message
        if first.code.startswith("field.") and first.field:
            message = f"{first.field}: {message}"
    return Problem(
        error=message,
        type="about:blank",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=message,
        errors=fields or None,
    )


def domain_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    assert isinstance(exc, DomainError)
    status = next((s for kind, s in _STATUS_BY_ERROR if isinstance(exc, kind)), 400)
    headers = None
    field_errors: Sequence[FieldError] = ()
    if isinstance(exc, ValidationFailed):
        field_errors = exc.errors
    elif isinstance(exc, RuleRefused | Conflict) and "field" in exc.params:
        field_errors = (FieldError(exc.params["field"], exc.code),)
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after)}
    return problem_response(request, status, exc.code, exc.params, field_errors, headers)


# msgspec's wording, as Litestar passes it on: which rule a body broke, and where.
_MISSING = re.compile(r"missing required field `([^`]+)`")
_AT_PATH = re.compile(r" - at `\$\.?([^`]*)`")


def _field_errors_from(exc: ValidationException) -> list[FieldError]:
    errors: list[FieldError] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        message = str(item.get("message", ""))
        key = str(item.get("key", ""))
        if missing := _MISSING.search(message):
            prefix = _AT_PATH.search(message)
            path = ".".join(p for p in (prefix.group(1) if prefix else "", missing.group(1)) if p)
            errors.append(FieldError(path, "field.required"))
            continue
        at = _AT_PATH.search(message)
        path = at.group(1) if at else ("" if key == "data" else key)
        path = re.sub(r"\[(\d+)\]", r".\1", path)
        if message.startswith("Expected"):
            errors.append(FieldError(path, "field.wrong_type"))
        else:
            errors.append(FieldError(path, "field.invalid"))
    return errors


def http_exception_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if isinstance(exc, ProblemException):
        return problem_response(request, status, exc.code, exc.params)
    headers = {
        k: v for k, v in (exc.headers or {}).items() if k.lower() in {"allow", "retry-after"}
    }
    if isinstance(exc, ValidationException):
        fields = _field_errors_from(exc)
        if fields and not (len(fields) == 1 and not fields[0].field):
            return problem_response(request, 400, "validation.failed", None, fields)
        # The body as a whole is wrong: valid JSON of the wrong kind (an array, a number), or
        # nothing at all.
        return problem_response(request, 400, "http.json_object_expected")
    if status == 400 and str(exc.detail).startswith("JSON is malformed"):
        return problem_response(request, 400, "http.malformed_json")
    if status >= 500:
        return internal_error_handler(request, exc)
    code = _CODE_BY_STATUS.get(status, "http.bad_request")
    return problem_response(request, status, code, None, (), headers or None)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    """Log what happened (with the request id), answer nothing of it."""
    log.error(
        "unhandled_exception",
        request_id=request.scope.get("state", {}).get("request_id"),
        path=request.url.path,
        method=request.method,
        exc_info=exc,
    )
    return problem_response(request, 500, "http.internal_error")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: domain_error_handler,
    HTTPException: http_exception_handler,
    Exception: internal_error_handler,
}
