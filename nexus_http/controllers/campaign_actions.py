"""``/api/campaigns/{id}/…``: the actions that move a campaign's status (send, schedule,
pause, resume, cancel, retry the failed), its preview and its deliveries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from litestar import Controller, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from nexus_core.domain.campaigns import Campaign
from nexus_core.domain.users import User
from nexus_core.use_cases import campaign_actions as actions
from nexus_core.use_cases.context import Ports
from nexus_http.controllers.docs import problems
from nexus_http.controllers.list_params import Page, PerPage, given_params
from nexus_http.request_context import (
    AnyRequest,
    adapters_of,
    current_session_in_thread,
    lookup_as_caller,
    say,
)
from nexus_http.schemas.campaign_actions import (
    DeliveryList,
    DeliveryOut,
    PreviewEnvelope,
    PreviewOut,
    ScheduleIn,
)
from nexus_http.schemas.campaigns import CampaignMessageEnvelope, CampaignOut
from nexus_http.schemas.common import PaginationOut

DeliveryStatusParam = Annotated[
    str | None,
    QueryParameter(
        description="Keeps one status: `pending`, `sent`, `delivered`, `read`, `failed` or "
        "`skipped`."
    ),
]
Action = Callable[[Ports, User, int], Campaign]


def _act(
    request: AnyRequest, campaign_id: int, action: Action, done: str
) -> CampaignMessageEnvelope:
    current = current_session_in_thread(request)
    campaign = action(adapters_of(request).ports, current.user, campaign_id)
    return CampaignMessageEnvelope(message=say(request, done), campaign=CampaignOut.of(campaign))


_MOVES = problems(400, 401, 403, 404, 409)


class CampaignActionsController(Controller):
    path = "/api/campaigns/{campaign_id:int}"
    tags = ["Campaigns"]

    @post(
        "/send",
        status_code=200,
        sync_to_thread=True,
        summary="Send a draft or scheduled campaign now",
        description="Snapshots the audience (active contacts, not opted out, with an address "
        "for the channel) into pending deliveries. 400 without the channel's credentials or "
        "with nobody to send to.",
        responses=_MOVES,
    )
    def send(self, request: AnyRequest, campaign_id: FromPath[int]) -> CampaignMessageEnvelope:
        return _act(request, campaign_id, actions.send_campaign, "ok.campaign_sent")

    @post(
        "/schedule",
        status_code=200,
        sync_to_thread=True,
        summary="Schedule a draft for `scheduled_at` (in the future)",
        responses=problems(400, 401, 403, 404, 409, 413, 415),
    )
    def schedule(
        self, request: AnyRequest, campaign_id: FromPath[int], data: JSONBody[ScheduleIn]
    ) -> CampaignMessageEnvelope:
        current = current_session_in_thread(request)
        body = {"scheduled_at": data.scheduled_at}
        campaign = actions.schedule_campaign(
            adapters_of(request).ports, current.user, campaign_id, body
        )
        return CampaignMessageEnvelope(
            message=say(request, "ok.campaign_scheduled"), campaign=CampaignOut.of(campaign)
        )

    @post(
        "/pause",
        status_code=200,
        sync_to_thread=True,
        summary="Pause an active campaign: no new message leaves until it is resumed",
        responses=_MOVES,
    )
    def pause(self, request: AnyRequest, campaign_id: FromPath[int]) -> CampaignMessageEnvelope:
        return _act(request, campaign_id, actions.pause_campaign, "ok.campaign_paused")

    @post(
        "/resume",
        status_code=200,
        sync_to_thread=True,
        summary="Resume a paused campaign",
        responses=_MOVES,
    )
    def resume(self, request: AnyRequest, campaign_id: FromPath[int]) -> CampaignMessageEnvelope:
        return _act(request, campaign_id, actions.resume_campaign, "ok.campaign_resumed")

    @post(
        "/cancel",
        status_code=200,
        sync_to_thread=True,
        summary="Cancel a campaign; what is still pending is skipped (error `cancelled`)",
        responses=_MOVES,
    )
    def cancel(self, request: AnyRequest, campaign_id: FromPath[int]) -> CampaignMessageEnvelope:
        return _act(request, campaign_id, actions.cancel_campaign, "ok.campaign_cancelled")

    @post(
        "/retry-failed",
        status_code=200,
        sync_to_thread=True,
        summary="Send a completed campaign's failed deliveries again",
        responses=_MOVES,
    )
    def retry_failed(
        self, request: AnyRequest, campaign_id: FromPath[int]
    ) -> CampaignMessageEnvelope:
        return _act(request, campaign_id, actions.retry_failed, "ok.campaign_retrying")

    @get(
        "/preview",
        summary="The message as the first recipient reads it, and how many recipients",
        responses=problems(401, 404),
    )
    async def preview(self, request: AnyRequest, campaign_id: FromPath[int]) -> PreviewEnvelope:
        ports = adapters_of(request).ports
        preview = await lookup_as_caller(
            request, lambda current: actions.preview_campaign(ports, current.user, campaign_id)
        )
        return PreviewEnvelope(preview=PreviewOut.of(preview))

    @get(
        "/deliveries",
        summary="One page of a campaign's deliveries, in the order they were queued",
        responses=problems(400, 401, 404),
    )
    async def deliveries(
        self,
        request: AnyRequest,
        campaign_id: FromPath[int],
        page: Page = None,
        per_page: PerPage = None,
        status: DeliveryStatusParam = None,
    ) -> DeliveryList:
        params = given_params(page=page, per_page=per_page, status=status)
        ports = adapters_of(request).ports
        found = await lookup_as_caller(
            request,
            lambda current: actions.list_deliveries(ports, current.user, campaign_id, params),
        )
        return DeliveryList(
            deliveries=[DeliveryOut.of(delivery) for delivery in found.items],
            pagination=PaginationOut.of(found),
        )
