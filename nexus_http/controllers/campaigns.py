"""``/api/campaigns``: the list, one campaign (read, create, change, delete) and the counts.

The actions (``/send``, ``/schedule``, …) are not here yet.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from nexus_core.use_cases import campaigns
from nexus_http.controllers.docs import problems
from nexus_http.controllers.list_params import Page, PerPage, given_params
from nexus_http.request_context import (
    AnyRequest,
    adapters_of,
    current_session_in_thread,
    lookup_as_caller,
    say,
)
from nexus_http.schemas.campaigns import (
    CampaignEnvelope,
    CampaignIn,
    CampaignList,
    CampaignMessageEnvelope,
    CampaignOut,
    CampaignStatsEnvelope,
    CampaignStatsOut,
)
from nexus_http.schemas.common import MessageOut, PaginationOut

# The list's own query parameter (besides Page and PerPage), read as text and checked by the core.
Status = Annotated[
    str | None,
    QueryParameter(
        description="Keeps one status: `draft`, `scheduled`, `active`, `paused`, `completed`, "
        "`cancelled` or `failed`."
    ),
]


class CampaignsController(Controller):
    path = "/api/campaigns"
    tags = ["Campaigns"]

    @get(
        "/",
        summary="One page of the user's campaigns, newest first",
        responses=problems(400, 401),
    )
    async def list_campaigns(
        self,
        request: AnyRequest,
        page: Page = None,
        per_page: PerPage = None,
        status: Status = None,
    ) -> CampaignList:
        params = given_params(page=page, per_page=per_page, status=status)
        ports = adapters_of(request).ports
        found = await lookup_as_caller(
            request, lambda current: campaigns.list_campaigns(ports, current.user.id, params)
        )
        return CampaignList(
            campaigns=[CampaignOut.of(campaign) for campaign in found.items],
            pagination=PaginationOut.of(found),
        )

    @post(
        "/",
        status_code=201,
        sync_to_thread=True,
        summary="Create a campaign (a draft)",
        description="`name` and `message` are required, and `subject` for the `email` "
        "channel. `audience.contact_ids` (or a top-level `contact_ids`) must be the user's "
        "own contacts. `scheduled_at` needs a timezone offset and must lie in the future.",
        responses=problems(400, 401, 403, 413, 415),
    )
    def create_campaign(
        self, request: AnyRequest, data: JSONBody[CampaignIn]
    ) -> CampaignMessageEnvelope:
        current = current_session_in_thread(request)
        campaign = campaigns.create_campaign(
            adapters_of(request).ports, current.user.id, data.written()
        )
        return CampaignMessageEnvelope(
            message=say(request, "ok.campaign_created"), campaign=CampaignOut.of(campaign)
        )

    @get(
        "/stats",
        summary="How many campaigns the user has, by status, and their delivery totals",
        responses=problems(401),
    )
    async def stats(self, request: AnyRequest) -> CampaignStatsEnvelope:
        ports = adapters_of(request).ports
        counted = await lookup_as_caller(
            request, lambda current: campaigns.campaign_stats(ports, current.user.id)
        )
        return CampaignStatsEnvelope(stats=CampaignStatsOut.of(counted))

    @get("/{campaign_id:int}", summary="One campaign", responses=problems(401, 404))
    async def show(self, request: AnyRequest, campaign_id: FromPath[int]) -> CampaignEnvelope:
        ports = adapters_of(request).ports
        campaign = await lookup_as_caller(
            request, lambda current: campaigns.get_campaign(ports, current.user.id, campaign_id)
        )
        return CampaignEnvelope(campaign=CampaignOut.of(campaign))

    @put(
        "/{campaign_id:int}",
        sync_to_thread=True,
        summary="Change any subset of a campaign's writable fields",
        description="Only in `draft` or `scheduled` (409 otherwise, unless nothing changes). "
        "`audience` merges key by key; `status` is ignored (it changes through the actions).",
        responses=problems(400, 401, 403, 404, 409, 413, 415),
    )
    def update(
        self, request: AnyRequest, campaign_id: FromPath[int], data: JSONBody[CampaignIn]
    ) -> CampaignMessageEnvelope:
        current = current_session_in_thread(request)
        campaign = campaigns.update_campaign(
            adapters_of(request).ports, current.user.id, campaign_id, data.written()
        )
        return CampaignMessageEnvelope(
            message=say(request, "ok.campaign_updated"), campaign=CampaignOut.of(campaign)
        )

    @delete(
        "/{campaign_id:int}",
        status_code=200,
        sync_to_thread=True,
        summary="Delete a campaign",
        description="Refused (409) while the campaign is `active`: pause or cancel it first.",
        responses=problems(401, 403, 404, 409),
    )
    def remove(self, request: AnyRequest, campaign_id: FromPath[int]) -> MessageOut:
        current = current_session_in_thread(request)
        campaigns.delete_campaign(adapters_of(request).ports, current.user.id, campaign_id)
        return MessageOut(message=say(request, "ok.campaign_deleted"))
