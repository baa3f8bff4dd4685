"""``/health`` and ``/ready`` for load balancers and orchestrators."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, Response, get, head

from nexus_http.controllers.docs import problems
from nexus_http.errors import problem_response
from nexus_http.request_context import adapters_of


class Status(msgspec.Struct):
    status: str


class OperationsController(Controller):
    tags = ["Operations"]

    @get("/health", summary="200 while the process is up")
    async def health(self) -> Status:
        return Status(status="ok")

    @head("/health", summary="200 while the process is up (for probes that use HEAD)")
    async def health_head(self) -> None:
        return None

    @get(
        "/ready",
        sync_to_thread=True,
        summary="200 only when the database answers",
        responses=problems(503),
    )
    def ready(self, request: Request[Any, Any, Any]) -> Response[Any]:
        if adapters_of(request).database_ready():
            return Response(Status(status="ready"))
        return problem_response(request, 503, "http.unavailable")
