"""Campaign bodies, and the campaign as the API shows it."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from nexus_core.domain.audience import Channel
from nexus_core.domain.campaign_status import CAMPAIGN_STATUSES, CampaignStatus
from nexus_core.domain.campaigns import Campaign, MediaType, WhatsAppTemplate
from nexus_core.use_cases.campaigns import CampaignStats
from nexus_http.schemas.common import PaginationOut, rfc3339


class AudienceOut(msgspec.Struct):
    all_contacts: bool
    tags: list[str]
    contact_ids: list[int]


class WhatsAppTemplateOut(msgspec.Struct):
    name: str
    language: str
    body_params: list[str]

    @classmethod
    def of(cls, template: WhatsAppTemplate | None) -> WhatsAppTemplateOut | None:
        if template is None:
            return None
        return cls(template.name, template.language, list(template.body_params))


class CampaignOut(msgspec.Struct):
    id: int
    user_id: int
    name: str
    channel: Channel
    subject: str | None
    message: str
    media_url: str | None
    media_type: MediaType | None
    audience: AudienceOut
    whatsapp_template: WhatsAppTemplateOut | None
    status: CampaignStatus
    scheduled_at: str | None
    sent_at: str | None
    completed_at: str | None
    total_recipients: int
    pending_count: int
    sent_count: int
    delivered_count: int
    opened_count: int
    clicked_count: int
    failed_count: int
    skipped_count: int
    created_at: str | None
    updated_at: str | None

    @classmethod
    def of(cls, campaign: Campaign) -> CampaignOut:
        return cls(
            id=campaign.id,
            user_id=campaign.user_id,
            name=campaign.name,
            channel=campaign.channel,
            subject=campaign.subject,
            message=campaign.message,
            media_url=campaign.media_url,
            media_type=campaign.media_type,
            audience=AudienceOut(
                all_contacts=campaign.audience.all_contacts,
                tags=list(campaign.audience.tags),
                contact_ids=list(campaign.audience.contact_ids),
            ),
            whatsapp_template=WhatsAppTemplateOut.of(campaign.whatsapp_template),
            status=campaign.status,
            scheduled_at=rfc3339(campaign.scheduled_at),
            sent_at=rfc3339(campaign.sent_at),
            completed_at=rfc3339(campaign.completed_at),
            total_recipients=campaign.total_recipients,
            pending_count=campaign.pending_count,
            sent_count=campaign.sent_count,
            delivered_count=campaign.delivered_count,
            opened_count=campaign.opened_count,
            clicked_count=campaign.clicked_count,
            failed_count=campaign.failed_count,
            skipped_count=campaign.skipped_count,
            created_at=rfc3339(campaign.created_at),
            updated_at=rfc3339(campaign.updated_at),
        )


class CampaignEnvelope(msgspec.Struct):
    campaign: CampaignOut


class CampaignMessageEnvelope(msgspec.Struct):
    message: str
    campaign: CampaignOut


class CampaignList(msgspec.Struct):
    campaigns: list[CampaignOut]
    pagination: PaginationOut


class CampaignIn(msgspec.Struct):
    """A campaign's writable fields. To create one, ``name`` and ``message`` are required
    (and ``subject`` for ``email``); a ``PUT`` changes only the fields sent. ``audience``
    merges key by key; a top-level ``contact_ids`` means ``audience.contact_ids``.
    ``status``, ``id``, counters, timestamps and unknown fields are ignored.

    The audience, the template and ``scheduled_at`` are passed to the core as sent, which
    checks them and names a bad part by its dotted path (``audience.tags``)."""

    name: str | UnsetType | None = UNSET
    channel: str | UnsetType | None = UNSET
    subject: str | UnsetType | None = UNSET
    message: str | UnsetType | None = UNSET
    media_url: str | UnsetType | None = UNSET
    media_type: str | UnsetType | None = UNSET
    audience: dict[str, Any] | UnsetType | None = UNSET
    contact_ids: list[Any] | UnsetType | None = UNSET
    whatsapp_template: dict[str, Any] | UnsetType | None = UNSET
    scheduled_at: str | UnsetType | None = UNSET

    def written(self) -> dict[str, Any]:
        """Only the fields the client actually sent."""
        return {
            name: value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not UNSET
        }


class CampaignStatsOut(msgspec.Struct):
    total_campaigns: int
    by_status: dict[str, int]
    total_recipients: int
    sent: int
    delivered: int
    opened: int
    failed: int

    @classmethod
    def of(cls, stats: CampaignStats) -> CampaignStatsOut:
        return cls(
            total_campaigns=stats.total_campaigns,
            by_status={status: stats.by_status.get(status, 0) for status in CAMPAIGN_STATUSES},
            total_recipients=stats.total_recipients,
            sent=stats.sent,
            delivered=stats.delivered,
            opened=stats.opened,
            failed=stats.failed,
        )


class CampaignStatsEnvelope(msgspec.Struct):
    stats: CampaignStatsOut
