"""``/api/automation``: the AI automation's status, switch, activity and dry run; and
``/api/campaigns/generate-message``, a campaign draft written by Gemini."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import JSONBody

from nexus_core.use_cases import automation
from nexus_http.controllers.docs import problems
from nexus_http.controllers.list_params import Page, PerPage, given_params
from nexus_http.request_context import (
    AnyRequest,
    adapters_of,
    current_session_in_thread,
    lookup_as_caller,
    say,
)
from nexus_http.schemas.automation import (
    ActivityList,
    ActivityOut,
    AutomationStatusEnvelope,
    AutomationStatusOut,
    GeneratedMessageOut,
    GenerateMessageIn,
    TestResponseIn,
    TestResponseOut,
    ToggleIn,
    ToggleOut,
)
from nexus_http.schemas.common import PaginationOut

_GEMINI_FAILURES = "400 without a Gemini key, or when Gemini refuses it; 502 when Gemini fails."


class AutomationController(Controller):
    path = "/api/automation"
    tags = ["AI automation"]

    @get(
        "/status",
        summary="Whether the AI replies are on and configured, and today's counts",
        description="`replies_today` and `failures_today` count today's activities (the day "
        "in the user's timezone) that were sent and that failed.",
        responses=problems(401),
    )
    async def status(self, request: AnyRequest) -> AutomationStatusEnvelope:
        ports = adapters_of(request).ports
        found = await lookup_as_caller(
            request, lambda current: automation.automation_status(ports, current.user.id)
        )
        return AutomationStatusEnvelope(status=AutomationStatusOut.of(found))

    @post(
        "/toggle",
        status_code=200,
        sync_to_thread=True,
        summary="Turn the AI replies on or off",
        description='`{"enabled": true|false}` sets the switch; an empty body (or `{}`) '
        "flips it. Turning it on without a Gemini key is a 400.",
        responses=problems(400, 401, 403, 413, 415),
    )
    def toggle(self, request: AnyRequest, data: JSONBody[ToggleIn | None] = None) -> ToggleOut:
        current = current_session_in_thread(request)
        wanted = None if data is None else data.enabled
        enabled = automation.toggle_automation(adapters_of(request).ports, current.user.id, wanted)
        code = "ok.automation_enabled" if enabled else "ok.automation_disabled"
        return ToggleOut(message=say(request, code), enabled=enabled)

    @get(
        "/activity",
        summary="One page of the automation's exchanges, newest first",
        responses=problems(400, 401),
    )
    async def activity(
        self, request: AnyRequest, page: Page = None, per_page: PerPage = None
    ) -> ActivityList:
        params = given_params(page=page, per_page=per_page)
        ports = adapters_of(request).ports
        found = await lookup_as_caller(
            request, lambda current: automation.list_activity(ports, current.user.id, params)
        )
        return ActivityList(
            activities=[ActivityOut.of(activity) for activity in found.items],
            pagination=PaginationOut.of(found),
        )

    @post(
        "/test-response",
        status_code=200,
        sync_to_thread=True,
        summary="What the AI would answer to a message (a dry run: nothing is sent)",
        description=f"Asks Gemini with the knowledge base, as an inbound `message` would. "
        f"{_GEMINI_FAILURES}",
        responses=problems(400, 401, 403, 413, 415, 502),
    )
    def test_response(self, request: AnyRequest, data: JSONBody[TestResponseIn]) -> TestResponseOut:
        current = current_session_in_thread(request)
        response = automation.dry_run_reply(
            adapters_of(request).ports, current.user.id, data.message
        )
        return TestResponseOut(response=response)


class CampaignDraftController(Controller):
    path = "/api/campaigns"
    tags = ["Campaigns"]

    @post(
        "/generate-message",
        status_code=200,
        sync_to_thread=True,
        summary="A campaign message drafted by Gemini from a brief",
        description="`prompt` (1 to 2,000 characters) describes the campaign, `tone` (at most "
        "50 characters) how it should sound, `channel` (`whatsapp` or `email`) where it goes. "
        "The draft uses only the placeholders `{nombre}`, `{name}`, `{first_name}`, "
        f"`{{telefono}}`, `{{phone}}` and `{{email}}`. Nothing is stored. {_GEMINI_FAILURES}",
        responses=problems(400, 401, 403, 413, 415, 502),
    )
    def generate_message(
        self, request: AnyRequest, data: JSONBody[GenerateMessageIn]
    ) -> GeneratedMessageOut:
        current = current_session_in_thread(request)
        draft = automation.generate_campaign_message(
            adapters_of(request).ports, current.user.id, data.prompt, data.tone, data.channel
        )
        return GeneratedMessageOut(message=draft)
