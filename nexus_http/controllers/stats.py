"""``/api/stats`` (also ``/api/dashboard/stats``): the dashboard, the first screen after login."""

from __future__ import annotations

from litestar import Controller, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ASGIApp

from nexus_core.use_cases.dashboard import dashboard_stats
from nexus_http.controllers.docs import problems
from nexus_http.request_context import AnyRequest, adapters_of, current_session, run_lookup
from nexus_http.responses import JsonOk
from nexus_http.schemas.stats import DashboardEnvelope, DashboardOut


class StatsController(Controller):
    path = "/api"
    tags = ["Statistics"]

    @get(
        ["/stats", "/dashboard/stats"],
        summary="The dashboard: contacts, campaigns, messages and imports counted, and the last "
        "30 days",
        description="`daily` has one row per day of the last 30 days in the user's `timezone`, "
        "oldest first, ending today. `total_messages_sent` counts deliveries that reached "
        "`sent` or beyond, `delivered` those that reached `delivered` or `read`; the rates "
        "are fractions of `total_messages_sent` (0 when nothing was sent). A day counts a "
        "delivery by when it reached each of those steps, as long as it is still there: "
        "over all time, the days add up to the totals.",
        responses={
            200: ResponseSpec(DashboardEnvelope, description="The dashboard"),
            **problems(401),
        },
    )
    async def stats(self, request: AnyRequest) -> ASGIApp:
        # Answered without Litestar's response pipeline (see nexus_http.responses): the
        # dashboard is read on every visit to the first screen.
        current = await current_session(request)
        ports = adapters_of(request).ports
        user = current.user
        dashboard = await run_lookup(
            request, lambda: dashboard_stats(ports, user.id, user.preferences.timezone)
        )
        return JsonOk(DashboardEnvelope(stats=DashboardOut.of(dashboard)))
