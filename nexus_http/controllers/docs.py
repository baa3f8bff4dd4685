"""OpenAPI descriptions of the error answers, shared by the controllers."""

from __future__ import annotations

from litestar.openapi.datastructures import ResponseSpec

from nexus_http.errors import Problem


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Document that a handler may answer these statuses with a problem body."""
    descriptions = {
        400: "Invalid input (field errors in `errors`)",
        401: "Not logged in, session expired or revoked, or wrong credentials",
        403: "Cross-site request refused",
        404: "Not found (or not yours)",
        409: "Conflict with the current state",
        413: "Body too large",
        415: "Body is not JSON",
        429: "Too many attempts; see Retry-After",
        503: "The database does not answer",
    }
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=descriptions.get(status, "Error"),
            media_type="application/problem+json",
        )
        for status in statuses
    }
